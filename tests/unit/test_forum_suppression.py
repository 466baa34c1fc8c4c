"""Small-number suppression of the forum's survey results, attacked the way an analyst with the published figures
would: write down every sum the tables make, every percentage, mean and score within its rounding, what "fewer than
5" and "not shown" mean, and what the survey's follow-up questions imply; then solve for the smallest and largest
value of every hidden count. No hidden count may come out as a single value. Issue #8.

The attacker reads only the published ``SurveyResults`` and the public survey definitions, never the suppression
code's own workings; the true counts are recounted here from the responses, to check what is published is right.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Hashable, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from bot.forum.aggregates import aggregate
from bot.forum.results import SECONDARY, SMALL, Figure, SurveyResults, Theme, Themes
from bot.forum.suppression import TOTAL, CannotProtect, Constraint, check_threshold, suppress
from bot.surveys.definitions import (
    FREE_TEXT, LIKERT, MULTIPLE_CHOICE, NONE_OF_THESE, NPS, STATEMENT, YES_NO, Question, Survey, load_surveys,
)

SURVEYS = load_surveys()
FORUM = SURVEYS["parent_carer_forum"]
VOICES = SURVEYS["strong_voices"]
OPENS = FORUM.opens  # both real surveys open on the same day
# 14 November: three ISO weeks (Mondays 26 October, 2 and 9 November)
GENERATED = datetime.combine(OPENS + timedelta(days=13), datetime.min.time(), tzinfo=timezone.utc)
DAY_ONE, DAY_EIGHT = OPENS, OPENS + timedelta(days=7)  # 2026-11-01 is a Sunday: two ISO weeks
NPS_GROUPS = {"promoters": (9, 10), "passives": (7, 8), "detractors": tuple(range(7))}
POSITIVE = {LIKERT: ("4", "5"), YES_NO: ("yes",), STATEMENT: ("agree",), NPS: ("9", "10")}
EPS = 1e-7

Key = Hashable


# --- building responses ---------------------------------------------------------------------------------------------


def responses(count: int, day: date = DAY_ONE, **answers: Any) -> List[Dict[str, Any]]:
    """``count`` responses giving the same answers on ``day``."""
    return [{"answers": dict(answers), "submitted": day.isoformat()} for _ in range(count)]


def results_of(survey: Survey, answered: Sequence[Mapping[str, Any]], threshold: int = 5,
               themes: Optional[Themes] = None, generated: datetime = GENERATED) -> SurveyResults:
    return aggregate(survey, answered, threshold=threshold, generated=generated, themes=themes)


# --- the true counts, recounted simply ------------------------------------------------------------------------------


def scale(question: Question) -> Tuple[str, ...]:
    """The values of a question's rows as the export shows them (strings)."""
    if question.kind == NPS:
        return tuple(str(v) for v in range(11))
    if question.kind == YES_NO:
        return ("yes", "no")
    if question.kind == STATEMENT:
        return ("agree", "disagree", "pass")
    if question.kind == FREE_TEXT:
        return ()
    return tuple(option.value for option in question.options)


def true_counts(survey: Survey, answered: Sequence[Mapping[str, Any]]) -> Dict[Key, int]:
    """Every cell the results publish, counted straight from the responses (the attacker's keys)."""
    counts: Counter = Counter()
    counts[("N",)] = len(answered)
    for response in answered:
        day = date.fromisoformat(response["submitted"])
        counts[("week", day - timedelta(days=day.weekday()))] += 1
        for question in survey.questions:
            value = response["answers"].get(question.id)
            if value is None:
                continue
            counts[("A", question.id)] += 1
            for chosen in (value if isinstance(value, list) else [value]) if question.kind != FREE_TEXT else []:
                counts[("row", question.id, str(chosen))] += 1
    for question in survey.questions:
        counts[("na", question.id)] = len(answered) - counts[("A", question.id)]
        if question.kind == NPS:
            for group, scores in NPS_GROUPS.items():
                counts[("nps", question.id, group)] = sum(counts[("row", question.id, str(s))] for s in scores)
    return counts


def published_cells(results: SurveyResults) -> Dict[Key, Figure]:
    """Every count figure of the results, under the attacker's keys."""
    cells: Dict[Key, Figure] = {("N",): results.responses}
    for week, figure in results.over_time:
        cells[("week", week)] = figure
    for question in results.questions:
        cells[("A", question.id)] = question.answered
        cells[("na", question.id)] = question.not_answered
        for row in question.rows:
            cells[("row", question.id, row.value)] = row.figure
        if question.nps is not None:
            for group in NPS_GROUPS:
                cells[("nps", question.id, group)] = getattr(question.nps, group)
    return cells


# --- the attacker ---------------------------------------------------------------------------------------------------


@dataclass
class Attacker:
    """The linear system an analyst can build from published results and the public survey definitions."""

    survey: Survey
    results: SurveyResults
    known: Dict[Key, float] = field(default_factory=dict)
    unknown: Dict[Key, Tuple[float, float]] = field(default_factory=dict)  # key -> bounds
    equal: List[Tuple[Dict[Key, float], float]] = field(default_factory=list)
    at_most: List[Tuple[Dict[Key, float], float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = self.results.threshold
        for key, figure in published_cells(self.results).items():
            if figure.count is not None:
                self.known[key] = figure.count
            elif figure.hidden == SMALL:
                self.unknown[key] = (0, t - 1)
            else:
                assert figure.hidden == SECONDARY, (key, figure)
                self.unknown[key] = (t, math.inf)
        self.tables()
        self.rounding()
        self.follow_ups()
        self.theme_count()

    def tables(self) -> None:
        weeks = [("week", week) for week, _ in self.results.over_time]
        if weeks:
            self.sum_is(weeks, ("N",))
        for question in self.survey.questions:
            qid = question.id
            answered = ("A", qid)
            self.sum_is([answered, ("na", qid)], ("N",))
            rows = [("row", qid, value) for value in scale(question)]
            if question.kind == MULTIPLE_CHOICE:
                for row in rows:  # each option at most those who answered
                    self.at_most.append(({row: 1, answered: -1}, 0))
                self.at_most.append(({**{row: -1 for row in rows}, answered: 1}, 0))  # everyone picked one
                none = ("row", qid, NONE_OF_THESE)
                for row in rows:
                    if none in rows and row != none:
                        self.at_most.append(({none: 1, row: 1, answered: -1}, 0))
            elif rows:
                self.sum_is(rows, answered)
            if question.kind == NPS:
                for group, scores in NPS_GROUPS.items():
                    self.sum_is([("row", qid, str(s)) for s in scores], ("nps", qid, group))

    def rounding(self) -> None:
        """Every published percentage, mean, score and share, as a band of its rounding."""
        for question in self.results.questions:
            qid, answered = question.id, ("A", question.id)
            self.percent(question.answered.percent, [answered], ("N",))
            self.percent(question.not_answered.percent, [("na", qid)], ("N",))
            for row in question.rows:
                self.percent(row.figure.percent, [("row", qid, row.value)], answered)
            if question.nps is not None:
                for group in NPS_GROUPS:
                    self.percent(getattr(question.nps, group).percent, [("nps", qid, group)], answered)
                if question.nps.score is not None:
                    self.band({("nps", qid, "promoters"): 100, ("nps", qid, "detractors"): -100}, answered,
                              question.nps.score, 0.5)
            if question.mean is not None:
                self.band({("row", qid, row.value): int(row.value) for row in question.rows}, answered,
                          question.mean, 0.005)
            if question.agreement is not None:
                self.percent(question.agreement, [("row", qid, "agree")], answered)
            if question.positive is not None:
                self.percent(question.positive, [("row", qid, v) for v in POSITIVE[question.kind]], answered)

    def follow_ups(self) -> None:
        """A follow-up is answered by at most those whose earlier answer asks it."""
        for question in self.survey.questions:
            condition = question.ask_if
            if condition is None:
                continue
            trigger = self.survey.question(condition.question)
            answered = ("A", question.id)
            if trigger.kind == MULTIPLE_CHOICE and condition.op == "!=":
                self.at_most.append(({answered: 1, ("row", trigger.id, condition.value): 1,
                                      ("A", trigger.id): -1}, 0))
                continue
            chosen = [v for v in scale(trigger) if (condition.holds((v,)) if trigger.kind == MULTIPLE_CHOICE
                                                    else condition.holds(_stored(trigger, v)))]
            self.at_most.append(({answered: 1, **{("row", trigger.id, v): -1 for v in chosen}}, 0))

    def theme_count(self) -> None:
        themes = self.results.themes
        if themes is None or themes.answers.count is None:
            return
        free = [q.id for q in self.survey.questions if q.kind == FREE_TEXT and q.id in themes.question_ids]
        self.equal.append(({("A", qid): 1 for qid in free}, themes.answers.count))

    def sum_is(self, parts: Sequence[Key], total: Key) -> None:
        self.equal.append(({**{part: 1 for part in parts}, total: -1}, 0))

    def percent(self, shown: Optional[float], parts: Sequence[Key], base: Key) -> None:
        if shown is not None:
            self.band({part: 100 for part in parts}, base, shown, 0.05)

    def band(self, weighted: Dict[Key, float], base: Key, shown: float, half_width: float) -> None:
        """(shown - half) * base <= sum(weight * cell) <= (shown + half) * base."""
        self.at_most.append(({**weighted, base: -(shown + half_width)}, EPS))
        self.at_most.append(({**{k: -w for k, w in weighted.items()}, base: shown - half_width}, EPS))

    def groups(self) -> List[List[Key]]:
        """The hidden counts in groups tied to each other: each group can be solved on its own."""
        parent = {key: key for key in self.unknown}

        def root(key: Key) -> Key:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for terms, _ in self.equal + self.at_most:
            tied = [key for key, coefficient in terms.items() if key in self.unknown and coefficient]
            for key in tied[1:]:
                parent[root(key)] = root(tied[0])
        found: Dict[Key, List[Key]] = {}
        for key in self.unknown:
            found.setdefault(root(key), []).append(key)
        return list(found.values())

    def ranges(self, integer: bool = False, quick: bool = False,
               within: Optional[Iterable[Key]] = None) -> Dict[Key, Tuple[float, float]]:
        """The least and greatest value of each hidden count (of the groups touching ``within``, if given).

        By linear programming (``linprog``), the relaxation; ``integer`` uses whole numbers (``milp``), as a
        careful attacker would. ``quick`` stops on a count once two solutions at least 1 apart are found (all that
        "not pinned" needs), so its span is then a part of the range.
        """
        wanted = None if within is None else set(within)
        found: Dict[Key, Tuple[float, float]] = {}
        for group in self.groups():
            if wanted is None or wanted & set(group):
                found.update(System(self, group, integer).ranges(quick))
        return found


class System:
    """The ties of one group of hidden counts, with the published counts moved to the right-hand side."""

    def __init__(self, attacker: Attacker, keys: Sequence[Key], integer: bool) -> None:
        self.keys, self.integer = list(keys), integer
        index = {key: i for i, key in enumerate(self.keys)}

        def rows(constraints: List[Tuple[Dict[Key, float], float]], inequality: bool) -> Tuple[Any, Any]:
            matrix, rhs = [], []
            for terms, constant in constraints:
                row, rest = np.zeros(len(self.keys)), constant
                for key, coefficient in terms.items():
                    if key in index:
                        row[index[key]] += coefficient
                    elif key in attacker.known:
                        rest -= coefficient * attacker.known[key]
                    else:
                        break  # a tie of another group
                else:
                    if row.any():
                        matrix.append(row)
                        rhs.append(rest)
                    elif all(key in attacker.known for key in terms):  # all published: must hold already
                        assert rest >= -1e-6 if inequality else abs(rest) < 1e-6, terms
            return np.array(matrix).reshape(-1, len(self.keys)), np.array(rhs)

        self.a_eq, self.b_eq = rows(attacker.equal, False)
        self.a_ub, self.b_ub = rows(attacker.at_most, True)
        self.bounds = [attacker.unknown[key] for key in self.keys]
        self.ceiling = 10 * (max(attacker.known.values(), default=0) + attacker.results.threshold) + 10

    def solve(self, objective: np.ndarray) -> Optional[np.ndarray]:
        """A checked solution minimising ``objective``; None when it is unbounded (a count with no upper limit).

        HiGHS' presolve (scipy 1.10) can call a small feasible problem infeasible: then it is solved again without.
        """
        for options in ({}, {"presolve": False}):
            if self.integer:
                constraints = []
                if len(self.a_eq):
                    constraints.append(LinearConstraint(self.a_eq, self.b_eq, self.b_eq))
                if len(self.a_ub):
                    constraints.append(LinearConstraint(self.a_ub, -np.inf, self.b_ub))
                lower = np.array([low for low, _ in self.bounds], dtype=float)
                upper = np.array([min(high, self.ceiling) for _, high in self.bounds], dtype=float)
                result = milp(objective, integrality=np.ones(len(self.keys)), bounds=Bounds(lower, upper),
                              constraints=constraints, options=options)
            else:
                result = linprog(objective, A_ub=self.a_ub if len(self.a_ub) else None,
                                 b_ub=self.b_ub if len(self.b_ub) else None,
                                 A_eq=self.a_eq if len(self.a_eq) else None,
                                 b_eq=self.b_eq if len(self.b_eq) else None, bounds=self.bounds, method="highs",
                                 options=options)
                if result.status == 3:
                    return None
            if result.status == 0 and self.fits(result.x):
                return result.x
        raise AssertionError(f"no solution, though the true counts fit: {result.message}")

    def fits(self, x: np.ndarray) -> bool:
        """The solution meets every tie and bound (a solver's answer is checked before it is believed)."""
        low = np.array([b[0] for b in self.bounds])
        high = np.array([b[1] for b in self.bounds])
        return bool(np.all(x >= low - 1e-6) and np.all(x <= high + 1e-6)
                    and (not len(self.a_eq) or np.allclose(self.a_eq @ x, self.b_eq, atol=1e-6))
                    and (not len(self.a_ub) or np.all(self.a_ub @ x <= self.b_ub + 1e-6)))

    def ranges(self, quick: bool) -> Dict[Key, Tuple[float, float]]:
        size = len(self.keys)
        seen_low, seen_high = np.full(size, np.inf), np.full(size, -np.inf)

        def look(objective: np.ndarray) -> Optional[np.ndarray]:
            x = self.solve(objective)
            if x is not None:
                np.minimum(seen_low, x, out=seen_low)
                np.maximum(seen_high, x, out=seen_high)
            return x

        if quick and size > 1:
            mixed = np.where(np.arange(size) % 2 == 0, 1.0, -1.0)
            look(mixed)
            look(-mixed)
        found = {}
        for i, key in enumerate(self.keys):
            ends = []
            for sign in (1.0, -1.0):
                if quick and seen_high[i] - seen_low[i] >= 1:
                    break
                objective = np.zeros(size)
                objective[i] = sign
                x = look(objective)
                if x is None:
                    seen_high[i] = math.inf
                ends.append(x[i] if x is not None else -sign * math.inf)
            if len(ends) == 2:
                found[key] = (ends[0], ends[1])
            else:
                found[key] = (seen_low[i], seen_high[i])
        return found


def _stored(question: Question, shown: str) -> Any:
    return int(shown) if question.kind in (LIKERT, NPS) else shown


def pinned(ranges: Mapping[Key, Tuple[float, float]]) -> Dict[Key, Tuple[float, float]]:
    return {key: span for key, span in ranges.items() if span[1] - span[0] < 1 - 1e-6}


def recoverable_cells(results: SurveyResults, survey: Optional[Survey] = None, *, integer: bool = True) -> List[Key]:
    """The hidden counts of ``results`` an attacker could work out exactly (empty when the figures are safe).

    For other tests (the export's): ``survey`` defaults to the real survey the results are of.
    """
    attacker = Attacker(survey or load_surveys()[results.survey_id], results)
    found = set(pinned(attacker.ranges(quick=True)))
    if integer:
        found |= set(pinned(attacker.ranges(integer=True, quick=True)))
    return sorted(found, key=repr)


def assert_safe(survey: Survey, results: SurveyResults, *, integer: bool = False, quick: bool = False) -> Attacker:
    """No hidden count of the results can be worked out from what is published."""
    attacker = Attacker(survey, results)
    ranges = attacker.ranges(quick=quick)
    assert not pinned(ranges), pinned(ranges)
    if integer:
        whole = attacker.ranges(integer=True, quick=quick)
        assert not pinned(whole), pinned(whole)
    return attacker


def assert_correct(survey: Survey, answered: Sequence[Mapping[str, Any]], results: SurveyResults) -> None:
    """Every published figure is the true one; every hidden one is hidden for the right reason; every figure
    computed from counts is published exactly when all of them are."""
    counts = true_counts(survey, answered)
    t = results.threshold
    cells = published_cells(results)
    everything_hidden = counts[("N",)] < t
    for key, figure in cells.items():
        true = counts[key]
        if figure.count is not None:
            assert figure.count == true, key
            assert not everything_hidden
        elif figure.hidden == SMALL:
            assert true < t, key
        else:
            assert true >= t and figure.hidden == SECONDARY, key
        if true < t and not (key[0] == "na" and true == 0):  # "nobody skipped it" is shown (zero_ok)
            assert figure.hidden == SMALL, key
    for question in results.questions:
        check_derived(question, cells)
    for area in results.areas:  # the mean of the shares published, nothing else
        shares = [q.positive for q in results.questions if q.area == area.area and q.positive is not None]
        assert area.positive == (round(sum(shares) / len(shares), 1) if shares else None)
    agreed = {q.id for q in results.questions if q.agreement is not None}
    assert set(results.statements.most_agreed) | set(results.statements.least_agreed) <= agreed


def check_derived(question: Any, cells: Mapping[Key, Figure]) -> None:
    qid = question.id
    answered = cells[("A", qid)]

    def share(parts: Sequence[str]) -> Optional[float]:
        figures = [cells[("row", qid, p)] for p in parts]
        if answered.count is None or any(f.count is None for f in figures) or not answered.count:
            return None
        return round(100.0 * sum(f.count for f in figures) / answered.count, 1)

    base = cells[("N",)]
    for figure in (question.answered, question.not_answered):
        expected = None if figure.count is None or base.count is None else round(100.0 * figure.count / base.count, 1)
        assert figure.percent == expected
    for row in question.rows:
        assert row.figure.percent == share([row.value])
    if question.kind == LIKERT:
        rows = [row.figure for row in question.rows]
        expected = None
        if answered.count and all(f.count is not None for f in rows):
            expected = round(sum(int(r.value) * r.figure.count for r in question.rows) / answered.count, 2)
        assert question.mean == expected
    else:
        assert question.mean is None
    if question.kind == STATEMENT:
        assert question.agreement == share(["agree"])
    else:
        assert question.agreement is None
    assert question.positive == (share(list(POSITIVE[question.kind])) if question.kind in POSITIVE else None)
    if question.kind == NPS:
        promoters, detractors = question.nps.promoters.count, question.nps.detractors.count
        expected = None
        if None not in (promoters, detractors, answered.count) and answered.count:
            expected = round(100.0 * (promoters - detractors) / answered.count)
        assert question.nps.score == expected


def assert_minimal(survey: Survey, answered: Sequence[Mapping[str, Any]], results: SurveyResults) -> None:
    """Each "not shown" count is needed: showing it would let a whole-number attacker pin some hidden count."""
    counts = true_counts(survey, answered)
    groups = {key: group for group in Attacker(survey, results).groups() for key in group}
    for key, figure in published_cells(results).items():
        if figure.hidden != SECONDARY:
            continue
        attacker = Attacker(survey, results)
        del attacker.unknown[key]
        attacker.known[key] = counts[key]
        # Showing it can only pin a count it was tied to.
        others = [other for other in groups[key] if other != key]
        assert others and pinned(attacker.ranges(integer=True, quick=True, within=others)), \
            f"{key} was hidden without need"


def hidden(results: SurveyResults, qid: str) -> Dict[str, str]:
    question = next(q for q in results.questions if q.id == qid)
    found = {row.value: row.figure.hidden for row in question.rows if row.figure.hidden}
    for name in ("answered", "not_answered"):
        if getattr(question, name).hidden:
            found[name] = getattr(question, name).hidden
    if question.nps:
        found.update({g: getattr(question.nps, g).hidden for g in NPS_GROUPS if getattr(question.nps, g).hidden})
    return found


def question_of(results: SurveyResults, qid: str) -> Any:
    return next(q for q in results.questions if q.id == qid)


# --- the threshold --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, 1, -5, 2.5, "5", True, None])
def test_a_threshold_must_be_a_whole_number_of_at_least_two(threshold: Any) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        check_threshold(threshold)
    with pytest.raises(ValueError, match="at least 2"):
        results_of(VOICES, [], threshold=threshold)


def test_a_threshold_of_two_hides_only_zeros_and_ones() -> None:
    answered = (responses(12, help_right_time="agree") + responses(1, help_right_time="disagree")
                + responses(3, help_right_time="pass") + responses(4))
    results = results_of(FORUM, answered, threshold=2)
    assert hidden(results, "help_right_time") == {"disagree": SMALL, "pass": SECONDARY}
    assert question_of(results, "help_right_time").rows[1].figure.text(2) == "fewer than 2"
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)


def test_the_threshold_is_configurable() -> None:
    """With a threshold of 10, 7 agreeing is "fewer than 10"; with 5 it is shown."""
    answered = (responses(7, help_right_time="agree") + responses(20, help_right_time="disagree")
                + responses(12, help_right_time="pass"))
    strict, usual = results_of(FORUM, answered, threshold=10), results_of(FORUM, answered, threshold=5)
    assert question_of(strict, "help_right_time").rows[0].figure.hidden == SMALL
    assert question_of(strict, "help_right_time").rows[0].figure.text(10) == "fewer than 10"
    assert question_of(usual, "help_right_time").rows[0].figure.count == 7
    for results in (strict, usual):
        assert_correct(FORUM, answered, results)
        assert_safe(FORUM, results, integer=True)


# --- hand-made tricky cases -----------------------------------------------------------------------------------------


def spread(count: int, qid: str, values: Sequence[Any], day: date = DAY_ONE) -> List[Dict[str, Any]]:
    """``count`` responses for each value of ``values`` to question ``qid``."""
    return [r for value in values for r in responses(count, day, **{qid: value})]


def test_one_small_cell_is_hidden_with_the_smallest_other_cell_of_its_table() -> None:
    """2 disagree next to a published total would be 2 by subtraction: the smallest other answer goes too."""
    answered = (responses(30, help_right_time="agree") + responses(2, help_right_time="disagree")
                + responses(9, help_right_time="pass") + responses(6))
    results = results_of(FORUM, answered)
    question = question_of(results, "help_right_time")
    assert hidden(results, "help_right_time") == {"disagree": SMALL, "pass": SECONDARY}
    assert question.rows[0].figure == Figure(30, 73.2)
    assert question.answered == Figure(41, 87.2) and question.not_answered == Figure(6, 12.8)
    assert question.agreement == 73.2  # agree and its base are both published
    assert [row.figure.text(5) for row in question.rows] == ["30", "fewer than 5", "not shown"]
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)
    assert_minimal(FORUM, answered, results)


def test_a_table_with_no_small_cell_is_untouched() -> None:
    """A small cell in one question hides nothing in another it is not tied to (6 skipped it: no small cell)."""
    answered = (spread(6, "help_right_time", ["agree", "disagree", "pass"])
                + responses(6, help_right_time="agree", last_move="went_well")
                + responses(7, help_right_time="pass", last_move="mixed")
                + responses(1, help_right_time="disagree", last_move="went_badly") + responses(6))
    results = results_of(FORUM, answered)
    assert hidden(results, "help_right_time") == {}
    statement = question_of(results, "help_right_time")
    assert [row.figure.count for row in statement.rows] == [12, 7, 13]
    assert statement.agreement == 37.5 and statement.positive == 37.5 and statement.not_answered.count == 6
    assert hidden(results, "last_move")  # its small cells are hidden, and more with them
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)


def test_two_small_cells_that_must_both_be_four_are_protected() -> None:
    """NPS 9 and 10 are 4 each, and promoters (8) is published: each must be 4, unless more is hidden."""
    answered = [r for score in range(9) for r in responses(6, recommend_forum=score)]
    answered += responses(4, recommend_forum=9) + responses(4, recommend_forum=10)
    results = results_of(FORUM, answered)
    found = hidden(results, "recommend_forum")
    assert found["9"] == found["10"] == SMALL
    assert SECONDARY in found.values()
    assert question_of(results, "recommend_forum").nps.score is None or "promoters" not in found
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)
    assert_minimal(FORUM, answered, results)


def test_two_small_weeks_that_add_up_to_the_total_are_protected() -> None:
    """8 responses, 4 in each of the two weeks: both "fewer than 5", and the total 8 would pin them at 4."""
    answered = (responses(4, DAY_ONE, help_right_time="agree") + responses(4, DAY_EIGHT, help_right_time="agree"))
    results = results_of(FORUM, answered, generated=GENERATED - timedelta(days=6))  # in the second week
    assert [figure.hidden for _, figure in results.over_time] == [SMALL, SMALL]
    assert results.responses.hidden == SECONDARY
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)


def test_six_responses_five_and_one() -> None:
    """6 answers, 5 yes and 1 no: the "no" cannot be 6 - 5."""
    answered = responses(5, know_who_to_ask="yes", help_when_needed=4) + responses(1, know_who_to_ask="no",
                                                                                   help_when_needed=4)
    results = results_of(VOICES, answered)
    assert question_of(results, "know_who_to_ask").rows[1].figure.hidden == SMALL
    assert_correct(VOICES, answered, results)
    assert_safe(VOICES, results, integer=True)
    assert_minimal(VOICES, answered, results)


def test_everyone_giving_the_same_answer_is_not_given_away() -> None:
    """5 responses, all "yes": "fewer than 5" said no would mean none did; the total cannot stay published."""
    answered = responses(5, know_who_to_ask="yes")
    results = results_of(VOICES, answered)
    assert question_of(results, "know_who_to_ask").rows[1].figure.hidden == SMALL
    assert_correct(VOICES, answered, results)
    assert_safe(VOICES, results, integer=True)


def test_a_tiny_survey_hides_everything() -> None:
    """3 responses: the total is "fewer than 5", and so is every count; no percentage, mean or score is shown."""
    answered = responses(3, DAY_ONE, help_right_time="agree", recommend_forum=10, had_ehc_meeting="yes",
                         ehc_listened=5, one_change="More help at school.")
    results = results_of(FORUM, answered)
    assert results.responses == Figure(None, None, SMALL)
    assert results.responses.text(results.threshold) == "fewer than 5"
    for key, figure in published_cells(results).items():
        assert figure.hidden == SMALL and figure.percent is None, key
    for question in results.questions:
        assert question.mean is None and question.agreement is None and question.positive is None
        assert question.nps is None or question.nps.score is None
    assert all(area.positive is None for area in results.areas)
    assert results.statements.most_agreed == results.statements.least_agreed == ()
    assert_safe(FORUM, results, integer=True)


def test_below_a_higher_threshold_everything_is_hidden() -> None:
    answered = responses(9, help_right_time="agree")
    results = results_of(FORUM, answered, threshold=10)
    assert results.responses.text(10) == "fewer than 10"
    assert all(figure.count is None for figure in published_cells(results).values())


def test_a_small_nps_nine_beside_a_published_ten_is_protected() -> None:
    """Promoters = 9s + 10s: with 10s published, the promoters count would give the 9s away."""
    answered = [r for score in (0, 3, 5, 6, 7, 8) for r in responses(6, tell_a_friend=score)]
    answered += [r for score in (1, 2, 4) for r in responses(5, tell_a_friend=score)]
    answered += responses(2, tell_a_friend=9) + responses(20, tell_a_friend=10)
    results = results_of(VOICES, answered)
    found = hidden(results, "tell_a_friend")
    assert found["9"] == SMALL
    assert "10" in found or "promoters" in found
    assert question_of(results, "tell_a_friend").nps.score is None or "promoters" not in found
    assert_correct(VOICES, answered, results)
    assert_safe(VOICES, results, integer=True)
    assert_minimal(VOICES, answered, results)


def test_a_follow_up_answered_by_few_is_protected() -> None:
    """3 used HAF, so 3 were asked whether their child was included: a small follow-up next to the total."""
    answered = (responses(3, services_used=["haf"], haf_included="yes")
                + responses(20, services_used=["nursery", "short_breaks"])
                + responses(10, services_used=["none"]) + responses(6, services_used=["sendiass"]))
    results = results_of(FORUM, answered)
    assert question_of(results, "haf_included").answered.hidden == SMALL
    assert question_of(results, "haf_included").not_answered.hidden == SECONDARY
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)
    assert_minimal(FORUM, answered, results)


def test_a_follow_up_cannot_pin_the_answers_that_asked_it() -> None:
    """8 scored 1 or 2 (4 each) and all 8 said why: the why count is at most 1s + 2s, so 1s and 2s must be 4."""
    low = (responses(4, had_ehc_meeting="yes", ehc_listened=1, ehc_why="Nobody asked me.")
           + responses(4, had_ehc_meeting="yes", ehc_listened=2, ehc_why="Too rushed."))
    answered = low + [r for score in (3, 4, 5) for r in responses(7, had_ehc_meeting="yes", ehc_listened=score)]
    answered += responses(9, had_ehc_meeting="no") + responses(6, had_ehc_meeting="not_sure")
    results = results_of(FORUM, answered)
    assert {"1": SMALL, "2": SMALL}.items() <= hidden(results, "ehc_listened").items()
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)
    assert_minimal(FORUM, answered, results)


def test_a_follow_up_of_a_follow_up_is_protected() -> None:
    """Strong Voices: the review is asked of those with a plan, the why of those who scored 2 or less."""
    answered = (responses(6, has_plan="yes", review_listened=1, review_why="They talk over me.")
                + responses(2, has_plan="yes", review_listened=2)
                + responses(12, has_plan="yes", review_listened=4) + responses(11, has_plan="no")
                + responses(3, has_plan="not_sure"))
    results = results_of(VOICES, answered)
    assert hidden(results, "review_listened")["2"] == SMALL
    assert_correct(VOICES, answered, results)
    assert_safe(VOICES, results, integer=True)
    assert_minimal(VOICES, answered, results)


def test_the_themes_count_of_free_text_answers_cannot_pin_a_small_one() -> None:
    """Themes publish how many free-text answers there were (3 + 40): with one change's 40 published, the 3 why
    answers would follow."""
    answered = (responses(3, had_ehc_meeting="yes", ehc_listened=1, ehc_why="Nobody asked.",
                          one_change="Listen.")
                + responses(37, had_ehc_meeting="no", one_change="More support.") + responses(6))
    themes = Themes(question_ids=("ehc_why", "one_change"), answers=Figure(43),
                    themes=(Theme(name="Participation", answers=Figure(40)),))
    results = results_of(FORUM, answered, themes=themes)
    assert question_of(results, "ehc_why").answered.hidden == SMALL
    assert question_of(results, "one_change").answered.count is None  # 43 - 3 would give 40 away
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)


def test_multiple_choice_rows_are_protected_without_adding_up() -> None:
    """Options can be picked together, so their counts do not add up; a small one next to large ones is safe."""
    answered = (responses(20, services_used=["nursery", "haf"]) + responses(2, services_used=["sendiass"])
                + responses(8, services_used=["none"]) + responses(7, services_used=["short_breaks"]))
    results = results_of(FORUM, answered)
    # Everyone answered, so "not answered" is a published 0 and "answered" stays the base of the percentages.
    assert hidden(results, "services_used") == {"sendiass": SMALL}
    assert_correct(FORUM, answered, results)
    assert_safe(FORUM, results, integer=True)
    assert_minimal(FORUM, answered, results)


def labels_alone_give_away() -> List[Dict[str, Any]]:
    """Six Strong Voices responses that no hiding protects at threshold 3 (found by the search below).

    Three empty ones on 1, 1 and 2 November, three agreeing with ``clubs_and_trips`` on 7, 11 and 14 November: with
    every count hidden, the three weeks "fewer than 3" add up to at most 6, and that question's "answered" and "not
    answered" ("not shown", so 3 or more each) to at least 6, which pins all of them.
    """
    return [*responses(2, OPENS), *responses(1, OPENS + timedelta(days=1)),
            *responses(1, OPENS + timedelta(days=6), clubs_and_trips="agree"),
            *responses(1, OPENS + timedelta(days=10), clubs_and_trips="agree"),
            *responses(1, OPENS + timedelta(days=13), clubs_and_trips="agree", age_band="age_11_13")]


def test_a_survey_whose_labels_alone_give_it_away_publishes_only_its_total() -> None:
    answered = labels_alone_give_away()
    results = results_of(VOICES, answered, threshold=3)
    assert results.withheld
    assert results.responses == Figure(6)
    assert results.questions == results.over_time == results.areas == ()
    assert results.themes is None and results.statements.most_agreed == ()
    assert_correct(VOICES, answered, results)
    assert_safe(VOICES, results, integer=True)
    assert_minimal(VOICES, answered, results)


def test_suppress_refuses_rather_than_hide_everything_with_telling_labels() -> None:
    """2 responses, 1 answer and 1 skip, threshold 2: "fewer than 2" twice under a hidden total of 2 or more."""
    counts = {"total": 2, "answered": 1, "skipped": 1}
    ties = [Constraint((("answered", 1), ("skipped", 1), ("total", -1)), table="q")]
    with pytest.raises(CannotProtect) as raised:
        suppress(counts, ties, 2, ranks={"total": TOTAL})
    assert raised.value.key in counts  # all three are pinned: total 2 or more, each part at most 1


def test_suppress_works_on_any_table() -> None:
    """The mechanism on its own: a 3-cell table with one small cell and its total."""
    counts = {"total": 20, "a": 12, "b": 6, "c": 2}
    ties = [Constraint((("a", 1), ("b", 1), ("c", 1), ("total", -1)), table="t")]
    assert suppress(counts, ties, 5) == {"c": SMALL, "b": SECONDARY}
    assert suppress({"total": 20, "a": 10, "b": 10}, [Constraint((("a", 1), ("b", 1), ("total", -1)))], 5) == {}


# --- random responses to the real surveys ---------------------------------------------------------------------------

DAYS = tuple(OPENS + timedelta(days=d) for d in range(14))


def answer(question: Question) -> st.SearchStrategy:
    """A stored answer to ``question``, or None (skipped): few values, so small counts and ties are common."""
    if question.kind == FREE_TEXT:
        value = st.just("Some redacted words.")
    elif question.kind == MULTIPLE_CHOICE:
        others = [o.value for o in question.options if o.value != NONE_OF_THESE]
        value = st.one_of(st.just([NONE_OF_THESE]),
                          st.sets(st.sampled_from(others), min_size=1).map(
                              lambda chosen: [v for v in others if v in chosen]))
    else:
        value = st.sampled_from([_stored(question, v) for v in scale(question)])
    return st.one_of(st.none(), value)


@st.composite
def survey_responses(draw: Any, survey: Survey) -> List[Dict[str, Any]]:
    """Responses as the store keeps them: follow-ups only when their condition holds."""
    count = draw(st.integers(0, 36))
    found = []
    for _ in range(count):
        answers: Dict[str, Any] = {}
        for question in survey.questions:
            if question.ask_if and not question.ask_if.holds(answers.get(question.ask_if.question)):
                continue
            value = draw(answer(question))
            if value is not None:
                answers[question.id] = value
        found.append({"answers": answers, "submitted": draw(st.sampled_from(DAYS)).isoformat()})
    return found


@pytest.mark.parametrize("survey", [FORUM, VOICES], ids=lambda s: s.id)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), threshold=st.integers(3, 10))
def test_no_hidden_count_can_be_worked_out(survey: Survey, data: Any, threshold: int) -> None:
    answered = data.draw(survey_responses(survey))
    results = results_of(survey, answered, threshold=threshold)
    assert_correct(survey, answered, results)
    assert_safe(survey, results, quick=True)


@pytest.mark.parametrize("survey", [FORUM, VOICES], ids=lambda s: s.id)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), threshold=st.integers(3, 10))
def test_nothing_is_hidden_without_need(survey: Survey, data: Any, threshold: int) -> None:
    """Against a whole-number attacker: safe, and each "not shown" count is needed."""
    answered = data.draw(survey_responses(survey))
    results = results_of(survey, answered, threshold=threshold)
    assert_safe(survey, results, integer=True, quick=True)
    assert_minimal(survey, answered, results)
