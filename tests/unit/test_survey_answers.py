"""Reading survey replies: words, numbers and emoji for every kind of question, and the survey commands. Issue #7.

The traps: "strongly agree" is 5 (not 4), "disagree" is 2 (not 4), "not sure" is not "sure", and "I want to go back
to school" is an answer, not BACK. Whatever arrives, nothing raises.
"""

from __future__ import annotations

from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.surveys.answers import Command, answer_label, normalise, parse_answer, parse_command
from bot.surveys.definitions import (
    LIKERT_VALUES, NPS_VALUES, STATEMENT_VALUES, YES_NO_VALUES, Option, Question, load_surveys,
)

SURVEYS = load_surveys()
LIKERT = Question(id="likert", kind="likert", text="I feel listened to.", area="Participation")
CUSTOM_LIKERT = SURVEYS["strong_voices"].question("review_listened")
NPS = Question(id="nps", kind="nps", text="How likely?", area="Participation")
YES_NO = Question(id="yes_no", kind="yes_no", text="Do you know who to ask?", area="Access")
STATEMENT = Question(id="statement", kind="statement", text="School helps me take part.", area="Inclusion")
SINGLE = Question(id="single", kind="single_choice", text="How old are you?", area="Inclusion", band=True, options=(
    Option("age_11_13", "11 to 13"), Option("age_14_16", "14 to 16", ("14-16",)), Option("age_17_19", "17 to 19"),
    Option("age_20_25", "20 to 25"), Option("prefer_not_to_say", "Prefer not to say", ("rather not say",)),
))
MULTIPLE = Question(id="multiple", kind="multiple_choice", text="Which of these?", area="Access", options=(
    Option("nursery", "Nursery funded hours", ("free hours",)), Option("haf", "HAF holiday club", ("holiday club",)),
    Option("short_breaks", "Short breaks"), Option("sendiass", "SENDIASS"), Option("none", "None of these"),
))
FREE_TEXT = Question(id="free", kind="free_text", text="Why?", area="Participation", max_chars=50)
ALL_QUESTIONS = [LIKERT, CUSTOM_LIKERT, NPS, YES_NO, STATEMENT, SINGLE, MULTIPLE, FREE_TEXT] + [
    q for survey in SURVEYS.values() for q in survey.questions]


def _cases(table):
    return pytest.mark.parametrize("text, expected", table, ids=[repr(t) for t, _ in table])


@_cases([
    ("4", 4), ("4/5", 4), ("4 out of 5", 4), ("four", 4), ("Four.", 4), ("i think 4", 4), ("1", 1), ("5", 5),
    ("agree", 4), ("I agree", 4), ("strongly agree", 5), ("Strongly Agree!", 5), ("totally agree", 5),
    ("disagree", 2), ("I disagree", 2), ("don't agree", 2), ("strongly disagree", 1), ("not sure", 3),
    ("neutral", 3), ("meh", 3), ("dont know", 3),
    ("👍", 4), ("👎", 2), ("😀", 4), ("😊", 4), ("🙂", 4), ("😞", 2), ("☹️", 2), ("😠", 2), ("😐", 3), ("❤️", 5),
    ("🤩", 5), ("😡", 1), ("👍🏽", 4), ("👍👍", 4),
    ("0", None), ("6", None), ("4/10", None), ("4.5", None), ("sure", None), ("strongly", None), ("👍👎", None),
    ("", None), ("banana", None),
])
def test_likert(text: str, expected: Optional[int]) -> None:
    """Scores 1-5 from numbers, words and emoji; the longer phrase wins ("strongly agree" is 5)."""
    assert parse_answer(LIKERT, text) == expected


@_cases([
    ("Yes, mostly", 4), ("yes", 4), ("Yes, a lot", 5), ("no", 1), ("not really", 2), ("a bit", 2), ("not sure", 3),
    ("4", 4), ("agree", 4), ("disagree", 2), ("never", 1), ("sure", None),
])
def test_likert_with_custom_labels(text: str, expected: Optional[int]) -> None:
    """A likert question's own labels and synonyms count, then the generic agree/disagree words."""
    assert parse_answer(CUSTOM_LIKERT, text) == expected


@_cases([
    ("7", 7), ("7/10", 7), ("7 / 10", 7), ("seven", 7), ("10 out of 10", 10), ("ten", 10), ("zero", 0), ("0", 0),
    ("I'd say 8", 8), ("probably a 6", 6), ("7️⃣", 7), ("🔟", 10),
    ("11", None), ("7/5", None), ("7 8", None), ("lots", None), ("", None),
])
def test_nps(text: str, expected: Optional[int]) -> None:
    """0-10 from digits, words, "x out of 10" and keycap emoji."""
    assert parse_answer(NPS, text) == expected


@_cases([
    ("yes", "yes"), ("Y", "yes"), ("yeah", "yes"), ("yep", "yes"), ("yup", "yes"), ("sure", "yes"), ("ok", "yes"),
    ("👍", "yes"), ("✅", "yes"), ("1", "yes"), ("Yes please", "yes"),
    ("no", "no"), ("n", "no"), ("nope", "no"), ("nah", "no"), ("not really", "no"), ("👎", "no"), ("❌", "no"),
    ("2", "no"), ("No thanks", "no"),
    ("not sure", None), ("maybe", None), ("3", None), ("yes and no", None), ("", None),
])
def test_yes_no(text: str, expected: Optional[str]) -> None:
    """Yes and no in many forms; "not sure" is neither (it is not "sure")."""
    assert parse_answer(YES_NO, text) == expected


@_cases([
    ("agree", "agree"), ("I agree", "agree"), ("👍", "agree"), ("1", "agree"), ("strongly agree", "agree"),
    ("disagree", "disagree"), ("don't agree", "disagree"), ("dont agree", "disagree"), ("👎", "disagree"),
    ("2", "disagree"), ("strongly disagree", "disagree"),
    ("pass", "pass"), ("not sure", "pass"), ("dont know", "pass"), ("I don't know", "pass"), ("🤷", "pass"),
    ("🤷‍♀️", "pass"), ("3", "pass"),
    ("4", None), ("sometimes", None),
])
def test_statement(text: str, expected: Optional[str]) -> None:
    """Pol.is-style: agree, disagree or pass."""
    assert parse_answer(STATEMENT, text) == expected


@_cases([
    ("2", "age_14_16"), ("14 to 16", "age_14_16"), ("14-16", "age_14_16"), ("14 TO 16!", "age_14_16"),
    ("15", "age_14_16"), ("I'm 19", None), ("19", "age_17_19"), ("prefer not to say", "prefer_not_to_say"),
    ("Rather not say", "prefer_not_to_say"), ("5", "prefer_not_to_say"), ("option 3", "age_17_19"),
    ("prefer not", "prefer_not_to_say"), ("6", None), ("30", None), ("", None),
])
def test_single_choice(text: str, expected: Optional[str]) -> None:
    """By number, label words or synonym; a band question also takes an exact age and keeps only its band."""
    assert parse_answer(SINGLE, text) == expected


@_cases([
    ("1, 3", ("nursery", "short_breaks")), ("1 and 3", ("nursery", "short_breaks")),
    ("1 3", ("nursery", "short_breaks")),
    ("3 1", ("nursery", "short_breaks")), ("13", ("nursery", "short_breaks")), ("2", ("haf",)),
    ("nursery and haf", ("nursery", "haf")), ("HAF, nursery", ("nursery", "haf")), ("holiday club", ("haf",)),
    ("free hours & short breaks", ("nursery", "short_breaks")), ("1, short breaks", ("nursery", "short_breaks")),
    ("none of these", ("none",)), ("None", ("none",)), ("5", ("none",)), ("all of them", ("nursery", "haf",
                                                                                        "short_breaks", "sendiass")),
    ("1 1", ("nursery",)),
    ("none and 1", None), ("1, 5", None), ("6", None), ("1, 7", None), ("nursery and pizza", None), ("", None),
])
def test_multiple_choice(text: str, expected: Any) -> None:
    """Numbers or words, any separator; a tuple in option order; "none" stands alone; one unknown part: None."""
    assert parse_answer(MULTIPLE, text) == expected


@_cases([
    ("  More time to talk  ", "More time to talk"), ("line one\nline two", "line one line two"),
    ("tab\there", "tab here"), ("a\x00b", "a b"), ("x" * 80, "x" * 50), ("", None), ("   \n\t ", None),
    ("\ud800", None), ("ok \ud800 then", "ok then"), ("👍", "👍"),
])
def test_free_text(text: str, expected: Optional[str]) -> None:
    """Stripped text of 1..max_chars characters; control characters and lone surrogates are dropped."""
    assert parse_answer(FREE_TEXT, text) == expected


@pytest.mark.parametrize("question", [q for q in ALL_QUESTIONS if q.options], ids=lambda q: q.id)
def test_every_label_and_synonym_reads_back_as_its_option(question: Question) -> None:
    """No two options of a real survey share a word that would make a label or synonym ambiguous."""
    for number, option in enumerate(question.options, start=1):
        expected: Any = int(option.value) if question.kind == "likert" else option.value
        if question.kind == "multiple_choice":
            expected = (option.value,)
        for text in (option.label, *option.synonyms, str(number)):
            assert parse_answer(question, text) == expected, (option.value, text)


@pytest.mark.parametrize("question, value, label", [
    (LIKERT, 4, "Agree"), (CUSTOM_LIKERT, 5, "Yes, a lot"), (NPS, 7, "7"), (YES_NO, "yes", "Yes"),
    (STATEMENT, "pass", "Pass"), (SINGLE, "age_14_16", "14 to 16"),
    (MULTIPLE, ("nursery", "haf"), "Nursery funded hours, HAF holiday club"), (FREE_TEXT, "More time", "More time"),
    (SINGLE, "unknown", "unknown"), (YES_NO, ["odd"], "['odd']"),
], ids=["likert", "custom-likert", "nps", "yes-no", "statement", "single", "multiple", "free-text", "unknown-value",
        "not-a-value"])
def test_answer_label(question: Question, value: Any, label: str) -> None:
    """A stored value in words, for a summary or the dashboard."""
    assert answer_label(question, value) == label


@_cases([
    ("skip", Command.SKIP), ("Skip it", Command.SKIP), ("skip this question", Command.SKIP), ("next", Command.SKIP),
    ("pass", Command.SKIP), ("/skip", Command.SKIP), ("skip please", Command.SKIP),
    ("back", Command.BACK), ("Go back", Command.BACK), ("previous", Command.BACK), ("go back!", Command.BACK),
    ("stop", Command.STOP), ("STOP", Command.STOP), ("stop the survey", Command.STOP), ("exit", Command.STOP),
    ("quit survey", Command.STOP), ("end survey", Command.STOP), ("I want to stop", Command.STOP),
    ("start again", Command.RESTART), ("restart", Command.RESTART), ("Start over", Command.RESTART),
    ("I want to go back to school", None), ("stop bullying", None), ("skipping lunch", None), ("not sure", None),
    ("next year", None), ("4", None), ("yes", None), ("", None), ("back pain is the worst", None),
])
def test_commands_are_whole_messages(text: str, expected: Optional[Command]) -> None:
    """A command is the whole message; the same words inside an answer are the answer."""
    assert parse_command(text) == expected


def test_normalise() -> None:
    """Case, punctuation, apostrophes and emoji skin tones go; emoji stay as words."""
    assert normalise("  Don’t   AGREE!! 👍🏾 ") == "dont agree 👍"


_KINDS_VALUES = {
    "likert": set(LIKERT_VALUES), "nps": set(NPS_VALUES), "yes_no": set(YES_NO_VALUES),
    "statement": set(STATEMENT_VALUES),
}
_VOCABULARY = ["1", "3", "10", "and", "agree", "strongly", "not", "sure", "yes", "no", "none", "of", "these", "👍",
               "🤷", "/", "5", "out", "haf", "nursery", "skip", "back", "14", "to", "16", ",", "please", "\ud83d"]
ANY_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=())),  # everything, lone surrogates and control characters too
    st.lists(st.sampled_from(_VOCABULARY), max_size=6).map(" ".join),
    st.text(alphabet="0123456789 ,/andor", max_size=12),
)


def _valid(question: Question, value: Any) -> bool:
    if question.kind in _KINDS_VALUES:
        return value in _KINDS_VALUES[question.kind] and not isinstance(value, bool)
    values = [o.value for o in question.options]
    if question.kind == "single_choice":
        return value in values
    if question.kind == "multiple_choice":
        return (isinstance(value, tuple) and bool(value) and list(value) == [v for v in values if v in value]
                and ("none" not in value or len(value) == 1))
    return isinstance(value, str) and 1 <= len(value) <= question.max_chars and value == value.strip()


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT, index=st.integers(min_value=0, max_value=len(ALL_QUESTIONS) - 1))
def test_parsing_never_raises_and_gives_a_valid_value_or_none(text: str, index: int) -> None:
    """Any text: parse_answer gives a value valid for the kind, or None; parse_command a Command or None."""
    question = ALL_QUESTIONS[index]
    value = parse_answer(question, text)
    assert value is None or _valid(question, value), (question.id, text, value)
    assert parse_command(text) is None or isinstance(parse_command(text), Command)
    if value is not None:
        assert isinstance(answer_label(question, value), str)


@pytest.mark.parametrize("question", ALL_QUESTIONS[:8], ids=lambda q: q.id)
def test_a_very_long_message_is_handled(question: Question) -> None:
    """10,000 characters: no error, and free text is cut to its limit."""
    text = "agree " * 1700
    value = parse_answer(question, text)
    assert value is None or _valid(question, value)
    assert parse_command(text) is None


YES_NO_CHOICE = SURVEYS["strong_voices"].question("has_plan")


@_cases([
    ("yes i do", "yes"), ("yeah i have one", "yes"), ("no i dont", "no"), ("i dont have one", "no"),
    ("not sure really", "not_sure"), ("not yes", None),
])
def test_a_single_choice_named_inside_a_longer_reply(text: str, expected: Optional[str]) -> None:
    """A young person answers in a sentence ("yes i do"): the one option it names is taken; a negation that its
    option does not carry ("not yes") is not."""
    assert parse_answer(YES_NO_CHOICE, text) == expected
