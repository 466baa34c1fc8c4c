"""The survey flow: consent, questions in order with skip logic, skip/back/stop/start again at every question, one
retry, redaction of free text, and a progress that survives JSON. Issue #7."""

from __future__ import annotations

import json
from typing import Dict, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.surveys.answers import parse_answer
from bot.surveys.definitions import Survey, load_surveys
from bot.surveys.flow import CONSENT, Outcome, Progress, Step, next_question, position, start, step

SURVEYS = load_surveys()
STRONG_VOICES = SURVEYS["strong_voices"]
FORUM = SURVEYS["parent_carer_forum"]
# Replies that make every question of the real surveys apply (a low score, so "why" is asked).
EVERY_QUESTION: Dict[str, Dict[str, str]] = {
    "strong_voices": {
        "has_plan": "yes", "review_listened": "2", "review_why": "Nobody asked me what I think.",
        "know_who_to_ask": "yes", "help_when_needed": "agree", "clubs_and_trips": "pass",
        "planning_next_steps": "disagree", "tell_a_friend": "8", "age_band": "14 to 16",
    },
    "parent_carer_forum": {
        "services_used": "1 and 2", "had_ehc_meeting": "yes", "ehc_listened": "strongly disagree",
        "ehc_why": "Reading the reports before the meeting.", "help_right_time": "disagree", "last_move": "2",
        "haf_included": "no", "recommend_forum": "9", "one_change": "Quicker answers.",
    },
}
EXPECTED = {
    "strong_voices": {
        "has_plan": "yes", "review_listened": 2, "review_why": "Nobody asked me what I think.",
        "know_who_to_ask": "yes", "help_when_needed": 4, "clubs_and_trips": "pass",
        "planning_next_steps": "disagree", "tell_a_friend": 8, "age_band": "age_14_16",
    },
    "parent_carer_forum": {
        "services_used": ("nursery", "haf"), "had_ehc_meeting": "yes", "ehc_listened": 1,
        "ehc_why": "Reading the reports before the meeting.", "help_right_time": "disagree", "last_move": "mixed",
        "haf_included": "no", "recommend_forum": 9, "one_change": "Quicker answers.",
    },
}
ALL_STEPS: List[Tuple[str, str]] = [(s, q.id) for s in EVERY_QUESTION for q in SURVEYS[s].questions]


def _consented(survey: Survey) -> Step:
    return step(survey, start(survey), "yes")


def _at(survey: Survey, qid: str) -> Progress:
    """The progress when ``qid`` is asked, every earlier question answered as in EVERY_QUESTION."""
    result = _consented(survey)
    while result.question is not None and result.question.id != qid:
        result = step(survey, result.progress, EVERY_QUESTION[survey.id][result.question.id])
    assert result.progress.current == qid
    return result.progress


def _run(survey: Survey, replies: Dict[str, str]) -> Step:
    result = _consented(survey)
    while result.question is not None:
        result = step(survey, result.progress, replies[result.question.id])
    return result


# --- consent -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["yes", "Yes", "ok", "start", "1", "👍", "Yes, start", "yes please"])
def test_consent_yes_asks_question_one(text: str) -> None:
    """An explicit yes after the intro and notice: CONSENTED and the first question."""
    result = step(STRONG_VOICES, start(STRONG_VOICES), text)
    assert result.outcome is Outcome.CONSENTED
    assert result.question == STRONG_VOICES.questions[0]
    assert result.progress.consented and result.progress.current == STRONG_VOICES.questions[0].id


@pytest.mark.parametrize("text", ["no", "No thanks", "not now", "2", "nope", "stop", "exit"])
def test_consent_no_declines(text: str) -> None:
    """No, not now, 2, or leaving: DECLINED, nothing asked."""
    result = step(STRONG_VOICES, start(STRONG_VOICES), text)
    assert (result.outcome, result.question, result.progress.consented) == (Outcome.DECLINED, None, False)


@pytest.mark.parametrize("text", ["maybe", "what is this?", "", "4", "skip", "go back"])
def test_anything_else_at_consent_asks_again(text: str) -> None:
    """Not a clear yes or no: INVALID, and the caller shows the consent message again."""
    result = step(STRONG_VOICES, start(STRONG_VOICES), text)
    assert (result.outcome, result.question, result.progress.consented) == (Outcome.INVALID, None, False)
    assert result.progress.step_name == CONSENT


# --- full runs and skip logic ------------------------------------------------------------------------------------


@pytest.mark.parametrize("survey_id", sorted(EVERY_QUESTION))
def test_a_full_run_completes_with_every_answer(survey_id: str) -> None:
    """Answering every question of a real survey ends COMPLETED, with the values parsed."""
    survey = SURVEYS[survey_id]
    result = _run(survey, EVERY_QUESTION[survey_id])
    assert result.outcome is Outcome.COMPLETED and result.question is None
    assert result.progress.complete and result.progress.current is None
    assert result.progress.answers == EXPECTED[survey_id]
    assert result.progress.path == [q.id for q in survey.questions]


@pytest.mark.parametrize("score, asked", [("1", True), ("2", True), ("3", False), ("4", False), ("5", False)])
def test_a_score_of_two_or_less_asks_why(score: str, asked: bool) -> None:
    """review_why follows review_listened only when the score is 2 or less."""
    progress = _at(STRONG_VOICES, "review_listened")
    result = step(STRONG_VOICES, progress, score)
    assert result.outcome is Outcome.ANSWERED
    assert result.question.id == ("review_why" if asked else "know_who_to_ask")


def test_a_chain_of_conditions_skips_both_follow_ups() -> None:
    """No EHC plan: neither the annual-review question nor its "why" is asked, and the count drops to 7."""
    progress = _at(STRONG_VOICES, "has_plan")
    assert position(STRONG_VOICES, progress, STRONG_VOICES.question("has_plan")) == (1, 9)
    result = step(STRONG_VOICES, progress, "no")
    assert result.question.id == "know_who_to_ask"
    assert position(STRONG_VOICES, result.progress, result.question) == (2, 7)


@pytest.mark.parametrize("services, asked", [("2", True), ("1 and 2", True), ("1", False), ("none", False)])
def test_the_haf_question_follows_only_haf(services: str, asked: bool) -> None:
    """A multiple-choice condition: haf_included only for families who used a HAF holiday club."""
    replies = dict(EVERY_QUESTION["parent_carer_forum"], services_used=services)
    result = _run(FORUM, replies)
    assert ("haf_included" in result.progress.path) is asked


def test_next_question_honours_ask_if() -> None:
    """next_question skips a follow-up whose condition does not hold for the answers so far."""
    progress = Progress(survey_id="strong_voices", consented=True, answers={"has_plan": "no"}, path=["has_plan"])
    assert next_question(STRONG_VOICES, progress).id == "know_who_to_ask"
    progress = Progress(survey_id="strong_voices", consented=True, answers={"has_plan": "yes"}, path=["has_plan"])
    assert next_question(STRONG_VOICES, progress).id == "review_listened"


# --- commands at every question ----------------------------------------------------------------------------------


@pytest.mark.parametrize("survey_id, qid", ALL_STEPS, ids=[f"{s}-{q}" for s, q in ALL_STEPS])
def test_skip_at_every_question(survey_id: str, qid: str) -> None:
    """SKIP moves on with no answer, and the question is recorded as skipped."""
    survey = SURVEYS[survey_id]
    result = step(survey, _at(survey, qid), "skip")
    assert result.outcome in (Outcome.SKIPPED, Outcome.COMPLETED)
    assert qid in result.progress.skipped and qid not in result.progress.answers
    assert result.progress.path[-1] == qid and result.progress.current != qid


@pytest.mark.parametrize("survey_id, qid", ALL_STEPS, ids=[f"{s}-{q}" for s, q in ALL_STEPS])
def test_back_at_every_question(survey_id: str, qid: str) -> None:
    """BACK asks the previous question again, its answer taken back; at the first question it stays there."""
    survey = SURVEYS[survey_id]
    progress = _at(survey, qid)
    result = step(survey, progress, "go back")
    assert result.outcome is Outcome.WENT_BACK
    expected = progress.path[-1] if progress.path else qid
    assert result.question.id == expected and result.progress.current == expected
    assert expected not in result.progress.answers and expected not in result.progress.path


@pytest.mark.parametrize("survey_id, qid", ALL_STEPS, ids=[f"{s}-{q}" for s, q in ALL_STEPS])
def test_stop_at_every_question(survey_id: str, qid: str) -> None:
    """STOP leaves with the progress kept, so the same question is asked on resuming."""
    survey = SURVEYS[survey_id]
    progress = _at(survey, qid)
    result = step(survey, progress, "stop the survey")
    assert (result.outcome, result.question) == (Outcome.STOPPED, None)
    assert result.progress.answers == progress.answers and result.progress.current == qid
    assert next_question(survey, result.progress).id == qid


@pytest.mark.parametrize("survey_id, qid", ALL_STEPS, ids=[f"{s}-{q}" for s, q in ALL_STEPS])
def test_start_again_at_every_question(survey_id: str, qid: str) -> None:
    """RESTART clears answers and path and asks question 1; consent is kept."""
    survey = SURVEYS[survey_id]
    result = step(survey, _at(survey, qid), "start again")
    assert result.outcome is Outcome.RESTARTED and result.question == survey.questions[0]
    assert result.progress.consented
    assert (result.progress.answers, result.progress.path, result.progress.skipped) == ({}, [], [])


def test_pass_answers_a_statement_but_skips_other_questions() -> None:
    """For a statement, "pass" is an answer (Pol.is); elsewhere it is SKIP."""
    result = step(STRONG_VOICES, _at(STRONG_VOICES, "clubs_and_trips"), "pass")
    assert result.outcome is Outcome.ANSWERED
    assert result.progress.answers["clubs_and_trips"] == "pass" and "clubs_and_trips" not in result.progress.skipped
    result = step(STRONG_VOICES, _at(STRONG_VOICES, "know_who_to_ask"), "pass")
    assert result.outcome is Outcome.SKIPPED and "know_who_to_ask" in result.progress.skipped


# --- invalid answers ---------------------------------------------------------------------------------------------


def test_an_invalid_answer_is_asked_again_once_then_given_up() -> None:
    """Not understood: INVALID (retries 1, same question); again: GAVE_UP, moved on without an answer."""
    progress = _at(STRONG_VOICES, "know_who_to_ask")
    first = step(STRONG_VOICES, progress, "not sure")
    assert (first.outcome, first.question.id, first.progress.retries) == (Outcome.INVALID, "know_who_to_ask", 1)
    second = step(STRONG_VOICES, first.progress, "maybe?")
    assert second.outcome is Outcome.GAVE_UP and second.question.id == "help_when_needed"
    assert second.progress.retries == 0
    assert "know_who_to_ask" not in second.progress.answers and "know_who_to_ask" not in second.progress.skipped


def test_a_valid_answer_after_an_invalid_one_is_kept() -> None:
    """The retry is a second chance: a valid answer then counts as usual."""
    first = step(STRONG_VOICES, _at(STRONG_VOICES, "tell_a_friend"), "loads")
    second = step(STRONG_VOICES, first.progress, "7/10")
    assert second.outcome is Outcome.ANSWERED and second.progress.answers["tell_a_friend"] == 7
    assert second.progress.retries == 0


def test_giving_up_on_the_last_question_completes() -> None:
    """Two misunderstood replies to the last question still finish the survey."""
    first = step(STRONG_VOICES, _at(STRONG_VOICES, "age_band"), "purple")
    second = step(STRONG_VOICES, first.progress, "purple")
    assert second.outcome is Outcome.COMPLETED and second.progress.complete


# --- changed answers ---------------------------------------------------------------------------------------------


def test_back_and_a_higher_score_drops_the_follow_up() -> None:
    """A low score, its "why", then back twice and a high score: the "why" answer is gone and not asked."""
    progress = _at(STRONG_VOICES, "know_who_to_ask")
    assert "review_why" in progress.answers
    back_once = step(STRONG_VOICES, progress, "back")
    assert back_once.question.id == "review_why"
    back_twice = step(STRONG_VOICES, back_once.progress, "back")
    assert back_twice.question.id == "review_listened"
    changed = step(STRONG_VOICES, back_twice.progress, "5")
    assert changed.question.id == "know_who_to_ask"
    assert "review_why" not in changed.progress.answers and "review_why" not in changed.progress.path


def test_an_answer_whose_condition_no_longer_holds_is_dropped() -> None:
    """A stored progress with a "why" that its score no longer asks for (e.g. an older draft) loses it."""
    stale = Progress(survey_id="strong_voices", consented=True,
                     answers={"has_plan": "yes", "review_listened": 5, "review_why": "old"},
                     path=["has_plan", "review_listened", "review_why"], current="know_who_to_ask")
    result = step(STRONG_VOICES, stale, "yes")
    assert result.outcome is Outcome.ANSWERED
    assert "review_why" not in result.progress.answers and "review_why" not in result.progress.path
    assert result.progress.answers["know_who_to_ask"] == "yes"


# --- redaction, purity, JSON -------------------------------------------------------------------------------------


def test_free_text_is_redacted_before_it_is_kept() -> None:
    """The caller's redactor sees every free-text answer, and only free text; what it returns is kept."""
    seen: List[str] = []

    def redact(text: str) -> str:
        seen.append(text)
        return text.replace("Mrs Smith", "[NAME]")

    progress = _at(STRONG_VOICES, "review_why")
    result = step(STRONG_VOICES, progress, "Mrs Smith never asks me", redact=redact)
    assert result.progress.answers["review_why"] == "[NAME] never asks me"
    assert seen == ["Mrs Smith never asks me"]
    step(STRONG_VOICES, result.progress, "yes", redact=redact)
    assert seen == ["Mrs Smith never asks me"]


def test_step_does_not_change_the_progress_it_is_given() -> None:
    """Pure: the old progress stays as it was."""
    progress = _at(FORUM, "last_move")
    before = progress.to_dict()
    step(FORUM, progress, "1")
    step(FORUM, progress, "back")
    step(FORUM, progress, "start again")
    assert progress.to_dict() == before


def test_after_completion_nothing_changes() -> None:
    """A reply after the last question: still COMPLETED, nothing asked, nothing changed."""
    done = _run(STRONG_VOICES, EVERY_QUESTION["strong_voices"])
    again = step(STRONG_VOICES, done.progress, "4")
    assert (again.outcome, again.question) == (Outcome.COMPLETED, None)
    assert again.progress.to_dict() == done.progress.to_dict()


@pytest.mark.parametrize("survey_id, qid", ALL_STEPS, ids=[f"{s}-{q}" for s, q in ALL_STEPS])
def test_progress_round_trips_through_json(survey_id: str, qid: str) -> None:
    """to_dict is JSON; from_dict gives the same progress back (multiple choice as a tuple again)."""
    progress = _at(SURVEYS[survey_id], qid)
    restored = Progress.from_dict(json.loads(json.dumps(progress.to_dict())))
    assert restored == progress


def test_multiple_choice_is_a_list_in_json_and_a_tuple_in_memory() -> None:
    """The store keeps lists; the flow gets tuples back."""
    progress = step(FORUM, _at(FORUM, "services_used"), "1, 3").progress
    assert progress.to_dict()["answers"]["services_used"] == ["nursery", "short_breaks"]
    assert Progress.from_dict(progress.to_dict()).answers["services_used"] == ("nursery", "short_breaks")


@pytest.mark.parametrize("data", [
    None, [], {}, {"survey_id": 3}, {"survey_id": "x", "answers": []}, {"survey_id": "x", "path": "a"},
    {"survey_id": "x", "current": 4}, {"survey_id": "x", "retries": "1"}, {"survey_id": "x", "consented": "yes"},
    {"survey_id": "x", "skipped": [1]},
], ids=["none", "list", "empty", "id-not-text", "answers-list", "path-text", "current-number", "retries-text",
        "consented-text", "skipped-numbers"])
def test_from_dict_refuses_what_is_not_a_progress(data: object) -> None:
    """A corrupt draft is a ValueError, not a crash later."""
    with pytest.raises(ValueError):
        Progress.from_dict(data)  # type: ignore[arg-type]


def test_a_progress_from_an_edited_survey_is_repaired() -> None:
    """Question ids the survey no longer has are dropped, and the question that is due is asked."""
    old = Progress(survey_id="strong_voices", consented=True, answers={"gone": 3, "has_plan": "no"},
                   path=["has_plan", "gone"], current="gone", retries=1)
    result = step(STRONG_VOICES, old, "yes")
    assert "gone" not in result.progress.answers and "gone" not in result.progress.path
    assert result.progress.answers["know_who_to_ask"] == "yes"


def test_a_corrupt_answer_in_a_stored_progress_is_dropped() -> None:
    """A draft whose value does not fit its question (edited by hand, an old format) loses that answer only."""
    corrupt = Progress(survey_id="strong_voices", consented=True,
                       answers={"has_plan": "no", "know_who_to_ask": "banana"},
                       path=["has_plan", "know_who_to_ask"], current="help_when_needed")
    result = step(STRONG_VOICES, corrupt, "4")
    assert result.progress.answers == {"has_plan": "no", "help_when_needed": 4}


def test_redacted_free_text_longer_than_typed_is_kept() -> None:
    """A redactor may lengthen the text ("Bo" -> "[NAME]"); the answer is still kept on the next step."""
    progress = _at(STRONG_VOICES, "review_why")
    long_reply = "Bo " * 166  # 498 characters, under the question's 500
    result = step(STRONG_VOICES, progress, long_reply, redact=lambda s: s.replace("Bo", "[NAME]"))
    assert len(result.progress.answers["review_why"]) > 500
    assert "review_why" in step(STRONG_VOICES, result.progress, "yes").progress.answers


# --- any sequence of texts ---------------------------------------------------------------------------------------

_REPLIES = ["yes", "no", "1", "2", "5", "10", "skip", "back", "stop", "start again", "pass", "agree", "not sure",
            "1 and 2", "none", "👍", "banana", "", "Mrs Smith said no", "\ud800", "x" * 2000]


def _assert_valid(survey: Survey, progress: Progress) -> None:
    ids = [q.id for q in survey.questions]
    assert progress.survey_id == survey.id
    assert progress.retries in (0, 1)
    if not progress.consented:
        assert (progress.answers, progress.path, progress.current) == ({}, [], None)
        return
    assert len(set(progress.path)) == len(progress.path)
    assert progress.path == [qid for qid in ids if qid in progress.path]  # in survey order
    assert set(progress.answers) <= set(progress.path)
    assert set(progress.skipped) <= set(progress.path) - set(progress.answers)
    assert progress.current is None or (progress.current in ids and progress.current not in progress.path)
    assert progress.current == (next_question(survey, progress).id if next_question(survey, progress) else None)
    for qid, value in progress.answers.items():
        question = survey.question(qid)
        assert question.accepts(value), (qid, value)
        if question.kind != "free_text":
            assert parse_answer(question, _as_text(question.kind, value)) == value, (qid, value)
        if question.ask_if is not None:
            assert question.ask_if.holds(progress.answers.get(question.ask_if.question))
    json.dumps(progress.to_dict())


def _as_text(kind: str, value: object) -> str:
    """A reply that gives ``value`` back: numbers as digits, option values as their words."""
    if kind == "multiple_choice":
        return " and ".join(str(v).replace("_", " ") for v in value)  # type: ignore[union-attr]
    return str(value).replace("_", " ")


@settings(max_examples=200, deadline=None)
@given(survey_id=st.sampled_from(sorted(EVERY_QUESTION)),
       texts=st.lists(st.one_of(st.sampled_from(_REPLIES), st.text(max_size=20)), max_size=40))
def test_any_sequence_of_replies_never_raises_and_keeps_progress_valid(survey_id: str, texts: List[str]) -> None:
    """Whatever people send, in any order, the flow answers and its progress stays consistent."""
    survey = SURVEYS[survey_id]
    progress = start(survey)
    for text in texts:
        result = step(survey, progress, text, redact=lambda s: s.replace("Smith", "[NAME]"))
        assert isinstance(result.outcome, Outcome)
        _assert_valid(survey, result.progress)
        if result.question is not None:
            assert result.question.id == result.progress.current
        assert all("Smith" not in str(v) for v in result.progress.answers.values())
        if result.outcome is Outcome.DECLINED:
            break
        progress = result.progress
