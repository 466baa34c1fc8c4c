"""Survey results as the Parent Carer Forum reads them: counts, percentages of those who answered, means, NPS,
agreement, the most and least agreed statements, the framework areas and responses per week, counted from
responses to the real surveys in data/surveys. Issue #8. (What is hidden, and why, is test_forum_suppression.py.)"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List

import pytest

from bot.forum.aggregates import aggregate, monday
from bot.forum.results import SMALL, Figure, QuestionResult, SurveyResults, Theme, Themes, Update
from bot.surveys.definitions import FRAMEWORK_AREAS, Question, load_surveys

SURVEYS = load_surveys()
FORUM = SURVEYS["parent_carer_forum"]
VOICES = SURVEYS["strong_voices"]
DAY = FORUM.opens  # 2026-11-01, a Sunday; both surveys open that day
GENERATED = datetime(2026, 11, 14, 9, 30, tzinfo=timezone.utc)


def responses(count: int, day: date = DAY, **answers: Any) -> List[Dict[str, Any]]:
    """``count`` responses giving the same answers, as the store hands them to the export."""
    return [{"answers": dict(answers), "submitted": day.isoformat()} for _ in range(count)]


def results_of(survey, answered, **options: Any) -> SurveyResults:
    options.setdefault("generated", GENERATED)
    return aggregate(survey, answered, **options)


def question(results: SurveyResults, qid: str) -> QuestionResult:
    return next(q for q in results.questions if q.id == qid)


def counts(result: QuestionResult) -> Dict[str, Any]:
    return {row.value: row.figure.count for row in result.rows}


# --- one question at a time -----------------------------------------------------------------------------------------


def test_a_statement_in_its_own_order_as_shares_of_those_who_answered() -> None:
    answered = (responses(30, help_right_time="agree") + responses(10, help_right_time="disagree")
                + responses(10, help_right_time="pass") + responses(6))
    results = results_of(FORUM, answered)
    statement = question(results, "help_right_time")
    assert results.responses == Figure(56)
    assert [(row.value, row.label) for row in statement.rows] == [
        ("agree", "Agree"), ("disagree", "Disagree"), ("pass", "Pass")]
    assert [row.figure for row in statement.rows] == [Figure(30, 60.0), Figure(10, 20.0), Figure(10, 20.0)]
    assert statement.answered == Figure(50, 89.3)  # of all 56 responses
    assert statement.not_answered == Figure(6, 10.7)
    assert statement.agreement == 60.0 and statement.positive == 60.0
    assert statement.mean is None and statement.nps is None
    assert (statement.text, statement.kind, statement.area) == (FORUM.question("help_right_time").text,
                                                                "statement", "Access")


def test_a_likert_question_has_its_own_labels_a_mean_and_a_positive_share() -> None:
    """Strong Voices' review question has custom labels; 4 and 5 ("Yes, mostly", "Yes, a lot") are positive."""
    answered = [r for score, count in zip(range(1, 6), (5, 6, 7, 8, 9))
                for r in responses(count, has_plan="yes", review_listened=score)]
    answered += responses(5, has_plan="yes") + responses(10, has_plan="no")
    listened = question(results_of(VOICES, answered), "review_listened")
    assert [(row.value, row.label) for row in listened.rows] == [
        ("1", "No, not at all"), ("2", "Not really"), ("3", "Not sure"), ("4", "Yes, mostly"), ("5", "Yes, a lot")]
    assert counts(listened) == {"1": 5, "2": 6, "3": 7, "4": 8, "5": 9}
    assert [row.figure.percent for row in listened.rows] == [14.3, 17.1, 20.0, 22.9, 25.7]
    assert listened.answered == Figure(35, 70.0) and listened.not_answered == Figure(15, 30.0)  # 15 not asked
    assert listened.mean == 3.29  # 115 / 35
    assert listened.positive == 48.6  # 17 / 35


def test_a_likert_question_without_custom_labels_reads_strongly_disagree_to_strongly_agree() -> None:
    answered = [r for score in range(1, 6) for r in responses(6, had_ehc_meeting="yes", ehc_listened=score)]
    answered += responses(5, had_ehc_meeting="no") + responses(5, had_ehc_meeting="not_sure") + responses(5)
    listened = question(results_of(FORUM, answered), "ehc_listened")
    assert [row.label for row in listened.rows] == [
        "Strongly disagree", "Disagree", "Not sure", "Agree", "Strongly agree"]
    assert listened.mean == 3.0 and listened.positive == 40.0


def test_nps_groups_and_score() -> None:
    """Promoters 9-10, passives 7-8, detractors 0-6; the score is % promoters minus % detractors."""
    answered = [r for score in range(11) for r in responses(5, tell_a_friend=score)]
    answered += responses(15, tell_a_friend=10) + responses(5)
    friend = question(results_of(VOICES, answered), "tell_a_friend")
    assert [row.value for row in friend.rows] == [str(score) for score in range(11)]
    assert counts(friend)["10"] == 20 and friend.answered.count == 70
    assert friend.nps.promoters == Figure(25, 35.7)
    assert friend.nps.passives == Figure(10, 14.3)
    assert friend.nps.detractors == Figure(35, 50.0)
    assert friend.nps.score == -14  # 35.7 - 50.0
    assert friend.positive == 35.7 and friend.mean is None


def test_yes_no_positive_is_the_share_saying_yes() -> None:
    answered = responses(20, know_who_to_ask="yes") + responses(10, know_who_to_ask="no") + responses(5)
    asked = question(results_of(VOICES, answered), "know_who_to_ask")
    assert [(row.value, row.label, row.figure) for row in asked.rows] == [
        ("yes", "Yes", Figure(20, 66.7)), ("no", "No", Figure(10, 33.3))]
    assert asked.positive == 66.7


def test_multiple_choice_rows_are_shares_of_those_who_answered_and_need_not_add_up() -> None:
    answered = (responses(20, services_used=["nursery", "haf"]) + responses(10, services_used=["haf"])
                + responses(8, services_used=["none"]) + responses(6, services_used=["short_breaks", "sendiass"])
                + responses(5))
    used = question(results_of(FORUM, answered), "services_used")
    assert [(row.value, row.label) for row in used.rows] == [
        ("nursery", "Nursery funded hours"), ("haf", "HAF holiday club"), ("short_breaks", "Short breaks"),
        ("sendiass", "SENDIASS advice"), ("none", "None of these")]
    assert [row.figure for row in used.rows] == [
        Figure(20, 45.5), Figure(30, 68.2), Figure(6, 13.6), Figure(6, 13.6), Figure(8, 18.2)]
    assert used.answered == Figure(44, 89.8)
    assert sum(row.figure.percent for row in used.rows) > 100
    assert used.positive is None and used.mean is None and used.agreement is None


def test_single_choice_rows_follow_the_options() -> None:
    answered = (responses(12, last_move="went_badly") + responses(9, last_move="went_well")
                + responses(7, last_move="not_moved") + responses(6, last_move="mixed") + responses(5))
    moved = question(results_of(FORUM, answered), "last_move")
    assert [(row.value, row.figure.count) for row in moved.rows] == [
        ("went_well", 9), ("mixed", 6), ("went_badly", 12), ("not_moved", 7)]
    assert moved.rows[0].label == "It went well"
    assert moved.positive is None


def test_a_follow_up_not_asked_counts_as_not_answered() -> None:
    """Only those who used HAF are asked about it; everyone else is "not answered", like those who skipped."""
    answered = (responses(12, services_used=["haf"], haf_included="yes")
                + responses(8, services_used=["haf"], haf_included="no") + responses(10, services_used=["haf"])
                + responses(15, services_used=["nursery"]))
    included = question(results_of(FORUM, answered), "haf_included")
    assert included.answered == Figure(20, 44.4)
    assert included.not_answered == Figure(25, 55.6)
    assert [row.figure for row in included.rows] == [Figure(12, 60.0), Figure(8, 40.0)]
    assert included.positive == 60.0


def test_free_text_is_counted_never_shown() -> None:
    words = "My son waited a year for his assessment."
    answered = responses(25, one_change=words) + responses(30) + responses(5, one_change="   ")
    results = results_of(FORUM, answered)
    change = question(results, "one_change")
    assert change.rows == ()
    assert change.answered == Figure(25, 41.7) and change.not_answered == Figure(35, 58.3)
    assert change.mean is change.positive is change.agreement is None
    assert words not in repr(results)


def test_answers_a_question_cannot_have_count_as_not_answered() -> None:
    """A corrupt stored value (7 on a 1-5 scale, a score as text, a list for one answer) is not counted as one."""
    corrupt = [{"answers": {"help_when_needed": value, "services_used": chosen}, "submitted": DAY.isoformat()}
               for value, chosen in ((7, ["unknown"]), ("4", "haf"), (True, []), ([4], None), (4.5, ["x"]))]
    answered = [r for score in range(1, 6) for r in responses(6, help_when_needed=score)]
    answered = [{**r, "answers": {**r["answers"], "services_used": ["haf"] if i % 2 else ["nursery"]}}
                for i, r in enumerate(answered)] + corrupt
    results = results_of(VOICES, answered)
    assert question(results, "help_when_needed").answered == Figure(30, 85.7)
    assert question(results, "help_when_needed").not_answered == Figure(5, 14.3)
    assert counts(question(results, "help_when_needed")) == {"1": 6, "2": 6, "3": 6, "4": 6, "5": 6}
    assert question(results_of(FORUM, answered), "services_used").answered.count == 30


def test_a_response_without_a_day_is_refused() -> None:
    with pytest.raises(ValueError, match="submitted"):
        results_of(FORUM, responses(5) + [{"answers": {}}])
    with pytest.raises(ValueError, match="submitted"):
        results_of(FORUM, [{"answers": {}, "submitted": "1st November"}])


# --- across questions -----------------------------------------------------------------------------------------------


def statement(qid: str, area: str = "Inclusion") -> Question:
    return Question(id=qid, kind="statement", text=f"Statement {qid}.", area=area)


def test_the_most_and_least_agreed_statements() -> None:
    """Strong Voices asks two statements; with more, three each way; one whose agreement is hidden is left out."""
    answered = (responses(10, clubs_and_trips="agree", planning_next_steps="agree")
                + responses(10, clubs_and_trips="disagree", planning_next_steps="agree")
                + responses(10, clubs_and_trips="pass", planning_next_steps="disagree")
                + responses(10, clubs_and_trips="pass", planning_next_steps="pass") + responses(5))
    two = results_of(VOICES, answered).statements
    assert two.most_agreed == ("planning_next_steps", "clubs_and_trips")  # 50% and 25%
    assert two.least_agreed == ("clubs_and_trips", "planning_next_steps")

    extra = tuple(statement(qid) for qid in ("s_one", "s_two", "s_three", "s_hidden"))
    survey = dataclasses.replace(VOICES, questions=VOICES.questions + extra)
    columns = {  # 40 more responses: agree, disagree, pass counts of each extra statement
        "s_one": (30, 5, 5), "s_two": (24, 8, 8), "s_three": (5, 25, 10), "s_hidden": (3, 30, 7)}
    given = {qid: [v for v, n in zip(("agree", "disagree", "pass"), spread) for _ in range(n)]
             for qid, spread in columns.items()}
    answered += [{"answers": {qid: given[qid][i] for qid in given}, "submitted": DAY.isoformat()} for i in range(40)]
    results = results_of(survey, answered)
    # clubs 25%, planning 50%, s_one 75%, s_two 60%, s_three 12.5%; s_hidden's 3 agreeing are "fewer than 5"
    assert question(results, "s_hidden").agreement is None
    assert results.statements.most_agreed == ("s_one", "s_two", "planning_next_steps")
    assert results.statements.least_agreed == ("s_three", "clubs_and_trips", "planning_next_steps")


def test_areas_in_framework_order_with_the_mean_positive_share() -> None:
    answered = (responses(20, know_who_to_ask="yes", help_when_needed=5, clubs_and_trips="agree")
                + responses(5, know_who_to_ask="no", help_when_needed=2, clubs_and_trips="disagree")
                + responses(5, help_when_needed=2, clubs_and_trips="disagree")
                + responses(5, help_when_needed=1, clubs_and_trips="pass")
                + responses(5, help_when_needed=3, clubs_and_trips="pass")
                + responses(5, help_when_needed=4) + responses(5))
    results = results_of(VOICES, answered)
    assert [area.area for area in results.areas] == list(FRAMEWORK_AREAS)
    access = next(area for area in results.areas if area.area == "Access")
    assert access.question_ids == ("know_who_to_ask", "help_when_needed")
    assert question(results, "know_who_to_ask").positive == 80.0  # 20 of 25
    assert question(results, "help_when_needed").positive == 55.6  # 25 of 45
    assert access.positive == 67.8  # (80.0 + 55.6) / 2, of the published shares
    inclusion = next(area for area in results.areas if area.area == "Inclusion")
    assert inclusion.question_ids == ("clubs_and_trips", "age_band")
    assert inclusion.positive == 50.0  # age bands have no positive share
    identification = next(area for area in results.areas if area.area == "Identification")
    assert identification.positive is None  # a single-choice question only
    assert all(area.themed_answers is None for area in results.areas)  # no themes given


def test_an_area_the_survey_does_not_ask_about_is_left_out() -> None:
    survey = dataclasses.replace(VOICES, questions=tuple(q for q in VOICES.questions if q.area != "Transition"))
    assert "Transition" not in [area.area for area in results_of(survey, responses(6)).areas]


def test_themes_and_the_update_are_carried_with_the_themed_answers_per_area() -> None:
    themes = Themes(question_ids=("ehc_why", "one_change"), answers=Figure(30),
                    themes=(Theme(name="Participation", answers=Figure(12)),
                            Theme(name="Inclusion", answers=Figure(None, hidden=SMALL)),
                            Theme(name="Other", answers=Figure(9))))
    update = Update(text="You said the forms were long; we cut them to one page.", author="forum_member",
                    written=date(2026, 11, 10))
    results = results_of(FORUM, responses(30, one_change="More help."), themes=themes, update=update,
                         date_from=date(2026, 11, 1), date_to=date(2026, 11, 13), closed_only=True, threshold=6)
    assert results.update is update
    # The themes are carried as they are, except their count of answers, which the audit may hide: here 30 with
    # one_change's published 30 would pin ehc_why's small "answered" at 0.
    assert results.themes.themes == themes.themes and results.themes.question_ids == themes.question_ids
    assert results.themes.answers.count in (30, None)
    by_area = {area.area: area.themed_answers for area in results.areas}
    assert by_area["Participation"] == Figure(12)
    assert by_area["Inclusion"] == Figure(None, hidden=SMALL)
    assert by_area["Access"] is None  # no theme of that name
    assert (results.date_from, results.date_to, results.closed_only) == (date(2026, 11, 1), date(2026, 11, 13), True)
    assert (results.survey_id, results.title, results.audience) == (FORUM.id, FORUM.title, "parents_carers")
    assert (results.opens, results.closes, results.threshold, results.generated) == (
        FORUM.opens, FORUM.closes, 6, GENERATED)


def test_responses_per_week_keyed_by_the_monday() -> None:
    """Sunday 1 November is in the week of Monday 26 October; a week with no responses is a cell, not a gap."""
    answered = (responses(10, DAY) + responses(7, DAY + timedelta(days=1)) + responses(6, DAY + timedelta(days=8)))
    results = results_of(FORUM, answered)
    assert results.over_time == ((date(2026, 10, 26), Figure(10)), (date(2026, 11, 2), Figure(7)),
                                 (date(2026, 11, 9), Figure(6)))
    later = results_of(FORUM, answered, generated=GENERATED + timedelta(days=7))
    weeks = [week for week, _ in later.over_time]
    assert weeks == [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert later.over_time[-1][1].hidden == SMALL  # nobody answered that week
    assert all(week.weekday() == 0 for week in weeks)
    narrowed = results_of(FORUM, responses(10, DAY + timedelta(days=8)), date_from=DAY + timedelta(days=8))
    assert [week for week, _ in narrowed.over_time] == [date(2026, 11, 9)]
    assert monday(date(2026, 11, 8)) == date(2026, 11, 2)


def test_a_day_may_be_given_as_a_date() -> None:
    answered = [{"answers": {"help_right_time": "agree"}, "submitted": DAY}] * 6
    results = results_of(FORUM, answered)
    assert results.responses == Figure(6)
    # The week is read from the date; its count is hidden, because with the total it would pin the empty weeks.
    assert results.over_time[0][0] == date(2026, 10, 26) and results.over_time[0][1].count in (6, None)


def hundred_thousand() -> Iterator[Dict[str, Any]]:
    """100,000 responses to the forum's survey, answered in a spread of ways, made one at a time."""
    moves = [o.value for o in FORUM.question("last_move").options]
    for i in range(100_000):
        answers: Dict[str, Any] = {"services_used": ["haf"] if i % 3 else ["nursery", "short_breaks"],
                                   "had_ehc_meeting": ("yes", "no", "not_sure")[i % 3],
                                   "last_move": moves[i % 4]}
        if i % 10:  # one in ten skip these two
            answers["help_right_time"] = ("agree", "disagree", "pass")[i % 3]
            answers["recommend_forum"] = i % 11
        if i % 3 == 0:
            answers["ehc_listened"] = 1 + i % 5
            if answers["ehc_listened"] <= 2:
                answers["ehc_why"] = "Nobody asked me."
        if i % 3:
            answers["haf_included"] = "yes" if i % 2 else "no"
        if i % 7 == 0:
            answers["one_change"] = "Shorter waits."
        yield {"answers": answers, "submitted": (DAY + timedelta(days=i % 120)).isoformat()}


def test_a_hundred_thousand_responses_are_counted_in_one_pass() -> None:
    results = aggregate(FORUM, hundred_thousand(), generated=datetime(2027, 4, 1, tzinfo=timezone.utc))
    assert results.responses == Figure(100_000)
    statement = question(results, "help_right_time")
    assert counts(statement) == {"agree": 30_000, "disagree": 30_000, "pass": 30_000}
    assert statement.not_answered == Figure(10_000, 10.0) and statement.agreement == 33.3
    assert question(results, "services_used").rows[1].figure.count == 66_666  # haf
    promoters = sum(1 for i in range(100_000) if i % 10 and i % 11 in (9, 10))
    assert question(results, "recommend_forum").nps.promoters.count == promoters
    assert sum(figure.count for _, figure in results.over_time if figure.count) <= 100_000
    assert len(results.over_time) == 23  # every week from 26 October to 29 March
