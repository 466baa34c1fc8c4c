"""A survey's published results, counted from its stored responses: one pass, then suppression, then the figures.

The Parent Carer Forum reads these figures (issue #8), so they are built in the order that keeps them safe:

1. Count. One pass over the responses, keeping only counts (per question and answer, per week), so 100,000
   responses take about half a second and no response is held in memory. A response is what the export reads from
   ``bot.surveys.store``: ``{"answers": {question_id: value}, "submitted": "YYYY-MM-DD"}``; a question skipped or
   not asked (``ask_if``) is simply missing, and counts as "not answered".
2. Suppress. Every count, and every tie a reader could use between counts, goes to ``bot.forum.suppression``, which
   says which counts to hide (see its docstring for the rules).
3. Publish. Figures are built from the counts left: percentages of the question's "answered" base (one decimal),
   the likert mean (two decimals), NPS (promoters 9-10 minus detractors 0-6), agreement (% agree) and the positive
   share (likert 4-5, yes, agree, NPS 9-10). Each is published only when every count it comes from is.

The caller filters the responses by date; ``date_from``, ``date_to`` and ``closed_only`` are only recorded (and
bound the weeks listed in ``over_time``, so a quiet week shows as "fewer than 5", not as a gap).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from bot.forum.results import (
    DEFAULT_THRESHOLD, SMALL, AreaSummary, Figure, Nps, QuestionResult, Row, Statements, SurveyResults, Themes, Update,
)
from bot.forum.suppression import (
    AT_MOST, EQUAL, SUBTOTAL, TOTAL, CannotProtect, Constraint, Key, all_published, check_threshold, suppress,
)
from bot.surveys.definitions import (
    CHOICE_KINDS, FRAMEWORK_AREAS, FREE_TEXT, LIKERT, MULTIPLE_CHOICE, NONE_OF_THESE, NPS, NPS_VALUES, STATEMENT,
    STATEMENT_LABELS, STATEMENT_VALUES, YES, YES_NO, YES_NO_LABELS, YES_NO_VALUES, AGREE, Question, Survey,
)

__all__ = ["MAX_RANKED_STATEMENTS", "aggregate", "answer_values", "monday"]

logger = logging.getLogger(__name__)

RESPONSES: Key = ("responses",)
MAX_RANKED_STATEMENTS = 3
PROMOTERS, PASSIVES, DETRACTORS = "promoters", "passives", "detractors"
NPS_GROUPS = ((PROMOTERS, (9, 10)), (PASSIVES, (7, 8)), (DETRACTORS, tuple(range(0, 7))))
# The answers that count as a good experience, per kind; choices and free text have none.
POSITIVE = {LIKERT: (4, 5), YES_NO: (YES,), STATEMENT: (AGREE,), NPS: (9, 10)}
PERCENT_DECIMALS, MEAN_DECIMALS = 1, 2


def aggregate(survey: Survey, responses: Iterable[Mapping[str, Any]], *, threshold: int = DEFAULT_THRESHOLD,
              generated: datetime, date_from: Optional[date] = None, date_to: Optional[date] = None,
              closed_only: bool = False, themes: Optional[Themes] = None,
              update: Optional[Update] = None) -> SurveyResults:
    """The published results of ``survey`` from ``responses`` (already filtered by the caller), small numbers hidden.

    ``themes`` (the free-text themes, suppressed by their maker) and ``update`` are copied in; the themes' count of
    free-text answers is also treated as a tie a reader could use.

    Raises:
        ValueError: ``threshold`` is not a whole number of at least 2, or a response has no valid ``submitted`` day.
    """
    threshold = check_threshold(threshold)
    tally = _Tally(survey)
    for response in responses:
        tally.add(response)
    span = _week_span(survey, date_from, date_to, generated)
    weeks = _weeks(tally.weeks, span)
    counts, constraints, ranks = _cells(survey, tally, weeks, span, themes, threshold)
    # "Nobody skipped it" is no one's answer: a question everyone answered keeps its percentages.
    zero_ok = [("not_answered", question.id) for question in survey.questions]
    heading = dict(survey_id=survey.id, title=survey.title, audience=survey.audience, threshold=threshold,
                   generated=generated, date_from=date_from, date_to=date_to, closed_only=closed_only,
                   opens=survey.opens, closes=survey.closes, update=update)
    try:
        hidden = suppress(counts, constraints, threshold, ranks=ranks, zero_ok=zero_ok)
    except CannotProtect:
        # Only reached with a total at or above the threshold (a smaller one hides everything, safely): alone, with
        # no table beside it, it gives nothing away.
        logger.warning("aggregate: %s has too few responses for any table to be published safely", survey.id)
        return SurveyResults(**heading, responses=Figure(counts[RESPONSES]), withheld=True)
    published = _Published(counts, hidden)
    questions = tuple(_question_result(question, published) for question in survey.questions)
    return SurveyResults(
        **heading,
        responses=published.figure(RESPONSES),
        over_time=tuple((week, published.figure(("week", week))) for week in weeks),
        questions=questions, areas=_areas(survey, questions, themes), statements=_statements(questions),
        themes=_published_themes(themes, published),
    )


def answer_values(question: Question) -> Tuple[Tuple[Any, str], ...]:
    """The stored values a question's answers can take, with their labels, in the order the question offers them."""
    if question.kind == LIKERT:
        return tuple((int(option.value), option.label) for option in question.options)
    if question.kind == NPS:
        return tuple((value, str(value)) for value in NPS_VALUES)
    if question.kind == YES_NO:
        return tuple((value, YES_NO_LABELS[value]) for value in YES_NO_VALUES)
    if question.kind == STATEMENT:
        return tuple((value, STATEMENT_LABELS[value]) for value in STATEMENT_VALUES)
    if question.kind in CHOICE_KINDS:
        return tuple((option.value, option.label) for option in question.options)
    return ()  # free text: no breakdown (its words are the themes' business)


def monday(day: date) -> date:
    """The Monday of ``day``'s ISO week: the key of ``over_time``."""
    return day - timedelta(days=day.weekday())


# --- 1. counting ---------------------------------------------------------------------------------------------------


class _Tally:
    """Counts of one survey's answers, added to one response at a time (nothing else of a response is kept)."""

    def __init__(self, survey: Survey) -> None:
        self.total = 0
        self.weeks: Dict[date, int] = {}
        self.answered: Dict[str, int] = {q.id: 0 for q in survey.questions}
        self.rows: Dict[str, Dict[Any, int]] = {q.id: dict.fromkeys((v for v, _ in answer_values(q)), 0)
                                                for q in survey.questions}
        self._single = [(q.id, self.rows[q.id]) for q in survey.questions
                        if q.kind not in (MULTIPLE_CHOICE, FREE_TEXT)]
        self._multiple = [(q.id, self.rows[q.id]) for q in survey.questions if q.kind == MULTIPLE_CHOICE]
        self._free = [q.id for q in survey.questions if q.kind == FREE_TEXT]
        self._mondays: Dict[Any, date] = {}  # a day as stored -> its Monday, worked out once per day

    def add(self, response: Mapping[str, Any]) -> None:
        """Count one response. An answer a question cannot have (a corrupt value) counts as not answered."""
        week = self._monday(response.get("submitted"))
        self.total += 1
        self.weeks[week] = self.weeks.get(week, 0) + 1
        answers = response.get("answers") or {}
        answered = self.answered
        for qid, rows in self._single:
            value = answers.get(qid)
            if value is None or value is True or value is False:  # True == 1 would count as a likert 1
                continue
            try:
                rows[value] += 1
            except (KeyError, TypeError):  # not one of its values, or a list where one value belongs
                continue
            answered[qid] += 1
        for qid, rows in self._multiple:
            chosen = answers.get(qid)
            if isinstance(chosen, (list, tuple)):
                picked = {value for value in chosen if isinstance(value, str) and value in rows}
                if picked:
                    for value in picked:
                        rows[value] += 1
                    answered[qid] += 1
        for qid in self._free:
            text = answers.get(qid)
            if isinstance(text, str) and text.strip():
                answered[qid] += 1

    def _monday(self, submitted: Any) -> date:
        week = self._mondays.get(submitted) if isinstance(submitted, (str, date)) else None
        if week is None:
            week = monday(_day(submitted))
            self._mondays[submitted] = week
        return week


def _day(submitted: Any) -> date:
    if isinstance(submitted, datetime):
        return submitted.date()
    if isinstance(submitted, date):
        return submitted
    if isinstance(submitted, str):
        try:
            return date.fromisoformat(submitted)
        except ValueError:
            pass
    raise ValueError(f"a response's 'submitted' must be a day like 2026-11-02, not {submitted!r}")


def _week_span(survey: Survey, date_from: Optional[date], date_to: Optional[date],
               generated: datetime) -> Tuple[date, date]:
    """The days the figures can cover: the survey's dates, narrowed by the range asked for and by today."""
    start = max(survey.opens, date_from) if date_from else survey.opens
    end = min(survey.closes, date_to or survey.closes, generated.date())
    return start, end


def _weeks(counted: Mapping[date, int], span: Tuple[date, date]) -> Tuple[date, ...]:
    """Every week of the span (so an empty week is a cell like any other) and every week that has responses."""
    weeks = set(counted)
    start, end = span
    week = monday(start)
    while week <= end:
        weeks.add(week)
        week += timedelta(days=7)
    return tuple(sorted(weeks))


# --- 2. the cells and ties handed to suppression -------------------------------------------------------------------


def _cells(survey: Survey, tally: _Tally, weeks: Sequence[date], span: Tuple[date, date], themes: Optional[Themes],
           threshold: int) -> Tuple[Dict[Key, int], List[Constraint], Dict[Key, int]]:
    """Every count that may be published, every tie between them a reader could use, and how reluctantly each
    count is hidden to protect another."""
    counts: Dict[Key, int] = {RESPONSES: tally.total}  # in publishing order: the audit reports in this order
    ranks: Dict[Key, int] = {RESPONSES: TOTAL}
    constraints: List[Constraint] = []
    week_keys = [("week", week) for week in weeks]
    for key, week in zip(week_keys, weeks):
        counts[key] = tally.weeks.get(week, 0)
    if week_keys:
        constraints.append(_sum_is(week_keys, RESPONSES, "over_time"))
    for key, week in zip(week_keys, weeks):
        if not monday(span[0]) <= week <= span[1]:  # listed only because someone answered then: at least 1
            constraints.append(Constraint(((key, -1),), AT_MOST, -1, "over_time"))
    for question in survey.questions:
        constraints.extend(_question_cells(question, tally, counts, ranks))
    for question in survey.questions:
        if question.ask_if is not None:
            constraints.append(_follow_up(question, survey.question(question.ask_if.question)))
    if themes is not None:
        constraints.extend(_themes_tie(survey, themes, counts, ranks))
    return counts, constraints, ranks


def _question_cells(question: Question, tally: _Tally, counts: Dict[Key, int],
                    ranks: Dict[Key, int]) -> List[Constraint]:
    qid = question.id
    answered, not_answered = ("answered", qid), ("not_answered", qid)
    counts[answered] = tally.answered[qid]
    counts[not_answered] = tally.total - tally.answered[qid]
    ranks[answered] = ranks[not_answered] = SUBTOTAL
    rows = [("row", qid, value) for value, _ in answer_values(question)]
    for key in rows:
        counts[key] = tally.rows[qid][key[2]]
    constraints = [_sum_is([answered, not_answered], RESPONSES, qid)]
    if question.kind == MULTIPLE_CHOICE:
        constraints.extend(_multiple_choice_ties(question, rows, answered))
    elif rows:
        constraints.append(_sum_is(rows, answered, qid))
    if question.kind == NPS:
        for group, scores in NPS_GROUPS:
            key = ("nps", qid, group)
            counts[key] = sum(counts[("row", qid, score)] for score in scores)
            ranks[key] = SUBTOTAL
            constraints.append(_sum_is([("row", qid, score) for score in scores], key, qid))
    return constraints


def _sum_is(parts: Sequence[Key], total: Key, table: str) -> Constraint:
    return Constraint(tuple((part, 1) for part in parts) + ((total, -1),), EQUAL, 0, table)


def _multiple_choice_ties(question: Question, rows: Sequence[Key], answered: Key) -> List[Constraint]:
    """Each option at most "answered"; all options together at least "answered" (everyone picked one); "None of
    these" plus any other option at most "answered" (nobody picks both)."""
    qid = question.id
    ties = [Constraint(((row, 1), (answered, -1)), AT_MOST, 0, qid) for row in rows]
    ties.append(Constraint(tuple((row, -1) for row in rows) + ((answered, 1),), AT_MOST, 0, qid))
    none = ("row", qid, NONE_OF_THESE)
    if none in rows:
        ties.extend(Constraint(((none, 1), (row, 1), (answered, -1)), AT_MOST, 0, qid) for row in rows if row != none)
    return ties


def _follow_up(question: Question, trigger: Question) -> Constraint:
    """A follow-up was answered by at most as many as gave an answer that asks it."""
    condition = question.ask_if
    answered = ("answered", question.id)
    if trigger.kind == MULTIPLE_CHOICE and condition.op == "!=":  # did not choose it: answered minus those who did
        terms = ((answered, 1), (("row", trigger.id, condition.value), 1), (("answered", trigger.id), -1))
    else:  # single answers: the rows meeting the condition; multiple choice ("==", "in"): at most their sum
        chosen = [value for value, _ in answer_values(trigger)
                  if (condition.holds((value,)) if trigger.kind == MULTIPLE_CHOICE else condition.holds(value))]
        terms = ((answered, 1),) + tuple((("row", trigger.id, value), -1) for value in chosen)
    return Constraint(terms, AT_MOST, 0, question.id)


THEMES_ANSWERS: Key = ("themes", "answers")


def _themes_tie(survey: Survey, themes: Themes, counts: Dict[Key, int], ranks: Dict[Key, int]) -> List[Constraint]:
    """The themes' count of free-text answers is the free-text questions' "answered" added up: a count of its own
    in the audit, so it can be hidden to protect a small "answered" rather than giving it away."""
    free = {q.id for q in survey.questions if q.kind == FREE_TEXT}
    keys = [("answered", qid) for qid in dict.fromkeys(themes.question_ids) if qid in free]
    if not keys:
        return []
    counts[THEMES_ANSWERS] = sum(counts[key] for key in keys)
    ranks[THEMES_ANSWERS] = SUBTOTAL
    return [_sum_is(keys, THEMES_ANSWERS, "themes")]


def _published_themes(themes: Optional[Themes], published: "_Published") -> Optional[Themes]:
    """The themes with their count of answers as the audit allows it to be published."""
    if themes is None or THEMES_ANSWERS not in published.counts:
        return themes
    return replace(themes, answers=published.figure(THEMES_ANSWERS))


# --- 3. the published figures -------------------------------------------------------------------------------------

class _Published:
    """The counts with the hidden ones taken out, and the figures that may be computed from what is left."""

    def __init__(self, counts: Mapping[Key, int], hidden: Mapping[Key, str]) -> None:
        self.counts = counts
        self.hidden = hidden

    def shown(self, *keys: Key) -> bool:
        return all_published(self.hidden, *keys)

    def count(self, key: Key) -> int:
        return self.counts[key]

    def figure(self, key: Key, base: Optional[Key] = None) -> Figure:
        """The figure of ``key``; its percent of ``base`` only when both are published (and the base is not 0)."""
        if key in self.hidden:
            return Figure(None, None, self.hidden[key])
        return Figure(self.counts[key], self.percent([key], base) if base is not None else None)

    def percent(self, parts: Sequence[Key], base: Key) -> Optional[float]:
        """The parts together as a percentage of ``base``, or None when any of them is hidden."""
        if not self.shown(base, *parts) or self.counts[base] == 0:
            return None
        return round(100.0 * sum(self.counts[p] for p in parts) / self.counts[base], PERCENT_DECIMALS)


def _question_result(question: Question, published: _Published) -> QuestionResult:
    qid = question.id
    answered = ("answered", qid)
    values = answer_values(question)
    rows = tuple(Row(str(value), label, published.figure(("row", qid, value), answered)) for value, label in values)
    row_keys = [("row", qid, value) for value, _ in values]
    positive = POSITIVE.get(question.kind)
    return QuestionResult(
        id=qid, text=question.text, kind=question.kind, area=question.area,
        answered=published.figure(answered, RESPONSES), rows=rows,
        not_answered=published.figure(("not_answered", qid), RESPONSES),
        mean=_mean(qid, row_keys, published) if question.kind == LIKERT else None,
        nps=_nps(qid, published) if question.kind == NPS else None,
        agreement=published.percent([("row", qid, AGREE)], answered) if question.kind == STATEMENT else None,
        positive=published.percent([("row", qid, v) for v in positive], answered) if positive else None,
    )


def _mean(qid: str, row_keys: Sequence[Key], published: _Published) -> Optional[float]:
    """The mean score, only when every row is published (a mean and all but one row would give that row away)."""
    answered = ("answered", qid)
    if not published.shown(answered, *row_keys) or published.count(answered) == 0:
        return None
    total = sum(key[2] * published.count(key) for key in row_keys)
    return round(total / published.count(answered), MEAN_DECIMALS)


def _nps(qid: str, published: _Published) -> Nps:
    answered = ("answered", qid)
    groups = {group: ("nps", qid, group) for group, _ in NPS_GROUPS}
    score = None
    if published.shown(answered, groups[PROMOTERS], groups[DETRACTORS]) and published.count(answered):
        difference = published.count(groups[PROMOTERS]) - published.count(groups[DETRACTORS])
        score = round(100.0 * difference / published.count(answered))
    return Nps(promoters=published.figure(groups[PROMOTERS], answered),
               passives=published.figure(groups[PASSIVES], answered),
               detractors=published.figure(groups[DETRACTORS], answered), score=score)


def _areas(survey: Survey, questions: Sequence[QuestionResult], themes: Optional[Themes]) -> Tuple[AreaSummary, ...]:
    """One summary per framework area the survey asks about, in the framework's order."""
    summaries = []
    for area in FRAMEWORK_AREAS:
        members = [q for q in questions if q.area == area]
        if not members:
            continue
        shares = [q.positive for q in members if q.positive is not None]
        themed = None
        if themes is not None:
            themed = next((theme.answers for theme in themes.themes if theme.name == area), None)
        summaries.append(AreaSummary(
            area=area, question_ids=tuple(q.id for q in members),
            positive=round(sum(shares) / len(shares), PERCENT_DECIMALS) if shares else None, themed_answers=themed))
    return tuple(summaries)


def _statements(questions: Sequence[QuestionResult]) -> Statements:
    """The most and least agreed statements, among those whose agreement is published (ties: survey order)."""
    ranked = [(q.agreement, index, q.id) for index, q in enumerate(questions)
              if q.kind == STATEMENT and q.agreement is not None]
    most = sorted(ranked, key=lambda item: (-item[0], item[1]))[:MAX_RANKED_STATEMENTS]
    least = sorted(ranked, key=lambda item: (item[0], item[1]))[:MAX_RANKED_STATEMENTS]
    return Statements(most_agreed=tuple(i for _, _, i in most), least_agreed=tuple(i for _, _, i in least))
