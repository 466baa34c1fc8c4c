"""Survey definitions: the real surveys in data/surveys load and meet the issue's rules, and a broken file is refused
with a message naming the file, the question and the field. Issue #7."""

from __future__ import annotations

import copy
import re
from datetime import date
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import yaml

from bot.surveys.definitions import (
    CARRIER_KEYWORDS, DEFAULT_LIKERT_LABELS, FRAMEWORK_AREAS, KINDS, NON_SURVEY_FILES, SURVEYS_DIR, Condition,
    Question, SurveyDefinitionError, load_survey, load_surveys,
)
from channels.render import is_gsm7
from tests.unit.test_readability import MAX_GRADE, flesch_kincaid_grade

SURVEYS = load_surveys()
REAL_IDS = ("strong_voices", "parent_carer_forum")
AGE_BANDS = ("11 to 13", "14 to 16", "17 to 19", "20 to 25", "Prefer not to say")
_PHONE = re.compile(r"\b0\d{2,}")
_STOP = re.compile(r"\bstop\b", re.I)


def _texts(survey_id: str):
    survey = SURVEYS[survey_id]
    yield "intro", survey.intro
    yield "privacy_notice", survey.privacy_notice
    yield "thanks", survey.thanks
    yield "title", survey.title
    for question in survey.questions:
        yield question.id, question.text
        for option in question.options:
            yield f"{question.id}.{option.value}", option.label


# --- the real surveys ---------------------------------------------------------------------------------------------


def test_every_survey_file_loads() -> None:
    """Every data/surveys/*.yml (except the invitation texts) is a survey named after its file."""
    files = {p.stem for p in SURVEYS_DIR.glob("*.yml") if p.name not in NON_SURVEY_FILES}
    assert files == set(SURVEYS)
    assert set(REAL_IDS) <= set(SURVEYS)
    for survey_id, survey in SURVEYS.items():
        assert survey.path.stem == survey_id


@pytest.mark.parametrize("survey_id", REAL_IDS)
def test_each_survey_asks_six_to_ten_questions_covering_every_area(survey_id: str) -> None:
    """6-10 questions, each with a framework area, and together they cover all five areas."""
    survey = SURVEYS[survey_id]
    assert 6 <= len(survey.questions) <= 10
    assert all(q.area in FRAMEWORK_AREAS for q in survey.questions)
    assert {q.area for q in survey.questions} == set(FRAMEWORK_AREAS)


def test_the_two_surveys_together_use_every_kind() -> None:
    """Likert, choices, yes/no, NPS, statements and free text all appear."""
    kinds = {q.kind for survey_id in REAL_IDS for q in SURVEYS[survey_id].questions}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("survey_id", REAL_IDS)
def test_each_survey_asks_why_after_a_low_score(survey_id: str) -> None:
    """Skip logic: a free-text follow-up asked only when a likert score is 2 or less."""
    survey = SURVEYS[survey_id]
    follow_ups = [q for q in survey.questions if q.kind == "free_text" and q.ask_if is not None]
    assert follow_ups
    condition = follow_ups[0].ask_if
    assert (survey.question(condition.question).kind, condition.op, condition.value) == ("likert", "<=", 2)


def test_strong_voices_asks_age_only_in_bands() -> None:
    """Young people give an age band, never an age."""
    survey = SURVEYS["strong_voices"]
    band = [q for q in survey.questions if q.band]
    assert len(band) == 1 and band[0].kind == "single_choice"
    assert tuple(o.label for o in band[0].options) == AGE_BANDS
    assert survey.audience == "young_people"
    assert {q.kind for q in survey.questions} >= {"likert", "statement", "yes_no", "nps", "free_text"}


def test_the_forum_survey_has_a_multiple_choice_with_none_of_these() -> None:
    """Parents pick every service their child used, or "None of these"."""
    survey = SURVEYS["parent_carer_forum"]
    assert survey.audience == "parents_carers"
    question = next(q for q in survey.questions if q.kind == "multiple_choice")
    assert question.options[-1].value == "none"
    assert any(q.ask_if is not None and q.ask_if.question == question.id for q in survey.questions)


@pytest.mark.parametrize("survey_id", REAL_IDS)
def test_intro_privacy_and_thanks_say_what_they_must(survey_id: str) -> None:
    """Intro: purpose, about 3 minutes, anonymous. Notice: two sentences, 12 months, delete my data. Thanks: what
    happens next."""
    survey = SURVEYS[survey_id]
    assert "about 3 minutes" in survey.intro and "anonymous" in survey.intro
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", survey.privacy_notice) if s]
    assert len(sentences) == 2
    assert "12 months" in survey.privacy_notice and "delete my data" in survey.privacy_notice
    assert "you said, we did" in survey.thanks
    assert (survey.opens, survey.closes) == (date(2026, 11, 1), date(2027, 3, 31))
    assert survey.is_open(date(2026, 11, 1)) and survey.is_open(date(2027, 3, 31))
    assert not survey.is_open(date(2026, 10, 31)) and not survey.is_open(date(2027, 4, 1))


@pytest.mark.parametrize("survey_id", REAL_IDS)
def test_keywords_and_panels(survey_id: str) -> None:
    """The SMS keyword is one capital word that is no carrier keyword; the panel is the survey's group."""
    survey = SURVEYS[survey_id]
    assert re.fullmatch(r"[A-Z]+", survey.keyword) and survey.keyword not in CARRIER_KEYWORDS
    assert survey.panel == survey_id


@pytest.mark.parametrize("survey_id", REAL_IDS)
def test_texts_fit_sms_and_never_say_stop(survey_id: str) -> None:
    """Plain GSM-7 (one emoji would double the cost), no phone numbers or links, and never "stop" (on SMS it
    unsubscribes from everything)."""
    for where, text in _texts(survey_id):
        assert is_gsm7(text), where
        assert not _PHONE.search(text) and "http" not in text, where
        assert not _STOP.search(text), where


@pytest.mark.parametrize("survey_id", REAL_IDS)
def test_every_sentence_reads_at_about_age_eleven(survey_id: str) -> None:
    """Intro, notice, thanks and every question score at most the knowledge answers' limit (reading age about 12).

    Option labels ("Disagree") are left out: a one-word label is not prose, and the formula overrates it.
    """
    survey = SURVEYS[survey_id]
    prose = [("intro", survey.intro), ("privacy_notice", survey.privacy_notice), ("thanks", survey.thanks)]
    prose += [(q.id, q.text) for q in survey.questions]
    for where, text in prose:
        assert flesch_kincaid_grade(text) <= MAX_GRADE, (where, text)


def test_survey_question_and_defaults() -> None:
    """``question`` finds by id (KeyError otherwise); likert without options gets the default labels."""
    survey = SURVEYS["strong_voices"]
    assert survey.question("age_band").band
    with pytest.raises(KeyError):
        survey.question("nope")
    likert = Question(id="q", kind="likert", text="T", area="Access")
    assert tuple(o.label for o in likert.options) == DEFAULT_LIKERT_LABELS
    assert tuple(o.value for o in likert.options) == ("1", "2", "3", "4", "5")


@pytest.mark.parametrize("condition, answer, holds", [
    (Condition("q", "<=", 2), 2, True),
    (Condition("q", "<=", 2), 3, False),
    (Condition("q", ">", 8), 9, True),
    (Condition("q", "==", "yes"), "yes", True),
    (Condition("q", "!=", "yes"), "no", True),
    (Condition("q", "in", ("a", "b")), "b", True),
    (Condition("q", "in", ("haf",)), ("nursery", "haf"), True),
    (Condition("q", "in", ("haf",)), ("nursery",), False),
    (Condition("q", "==", "haf"), ("haf",), True),
    (Condition("q", "!=", "haf"), ("haf",), False),
    (Condition("q", "<=", 2), None, False),
    (Condition("q", "<=", 2), "2", False),
], ids=["le-true", "le-false", "gt", "eq", "ne", "in", "multi-in", "multi-not-in", "multi-eq", "multi-ne",
        "unanswered", "text-is-not-a-score"])
def test_condition_holds(condition: Condition, answer: Any, holds: bool) -> None:
    """Scores compare as numbers; multiple choice means "chose any of"; an unanswered question never holds."""
    assert condition.holds(answer) is holds


@pytest.mark.parametrize("qid, value, accepted", [
    ("review_listened", 5, True), ("review_listened", 6, False), ("review_listened", True, False),
    ("review_listened", "5", False), ("tell_a_friend", 0, True), ("tell_a_friend", 11, False),
    ("know_who_to_ask", "yes", True), ("know_who_to_ask", "maybe", False), ("clubs_and_trips", "pass", True),
    ("age_band", "age_14_16", True), ("age_band", "15", False), ("review_why", "Because.", True),
    ("review_why", "  ", False), ("review_why", 3, False),
], ids=lambda v: repr(v))
def test_question_accepts_only_values_of_its_kind(qid: str, value: Any, accepted: bool) -> None:
    """``accepts`` says whether a stored value fits its question (a corrupt draft is caught)."""
    assert SURVEYS["strong_voices"].question(qid).accepts(value) is accepted


@pytest.mark.parametrize("value, accepted", [
    (("nursery", "haf"), True), (["nursery"], True), (("haf", "nursery"), False), (("none",), True),
    (("nursery", "none"), False), ((), False), (("pizza",), False), ("nursery", False),
], ids=lambda v: repr(v))
def test_multiple_choice_accepts_option_values_in_order(value: Any, accepted: bool) -> None:
    """Option values in option order, none alone, at least one."""
    assert SURVEYS["parent_carer_forum"].question("services_used").accepts(value) is accepted


# --- broken files ------------------------------------------------------------------------------------------------


def _question(qid: str, kind: str = "yes_no", **extra: Any) -> Dict[str, Any]:
    return {"id": qid, "kind": kind, "text": f"Question {qid}?", "area": "Access", **extra}


def _valid() -> Dict[str, Any]:
    return {
        "id": "pulse", "title": "Pulse", "audience": "parents_carers", "panel": "pulse", "keyword": "PULSE",
        "intro": "A short survey. It takes about 3 minutes. It is anonymous.",
        "privacy_notice": "We keep your answers for 12 months. Say delete my data at any time.",
        "opens": date(2026, 11, 1), "closes": date(2027, 3, 31), "thanks": "Thank you.",
        "questions": [
            _question("score", "likert"),
            _question("why", "free_text", ask_if={"question": "score", "op": "<=", "value": 2}),
            _question("pick", "single_choice", options=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]),
            _question("many", "multiple_choice", options=[{"value": "a", "label": "A"}, {"value": "none",
                                                                                         "label": "None of these"}]),
            _question("agree", "statement"),
            _question("friend", "nps"),
        ],
    }


def _write(directory: Path, document: Any, name: str = "pulse.yml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _set(field: str, value: Any) -> Callable[[Dict[str, Any]], None]:
    def change(doc: Dict[str, Any]) -> None:
        doc[field] = value
    return change


def _set_q(index: int, field: str, value: Any) -> Callable[[Dict[str, Any]], None]:
    def change(doc: Dict[str, Any]) -> None:
        doc["questions"][index][field] = value
    return change


def _drop_q(index: int, field: str) -> Callable[[Dict[str, Any]], None]:
    def change(doc: Dict[str, Any]) -> None:
        del doc["questions"][index][field]
    return change


def _add_q(question: Dict[str, Any]) -> Callable[[Dict[str, Any]], None]:
    def change(doc: Dict[str, Any]) -> None:
        doc["questions"].append(question)
    return change


_FIVE_LABELS = [{"value": str(v), "label": f"L{v}"} for v in range(1, 6)]
_OPTIONS = lambda n: [{"value": f"o{i}", "label": f"Option {i}"} for i in range(n)]  # noqa: E731

BROKEN_QUESTIONS = [
    ("bad-kind", _set_q(0, "kind", "rating"), "score", "kind", "must be one of likert"),
    ("no-area", _drop_q(0, "area"), "score", "area", "is required"),
    ("unknown-area", _set_q(0, "area", "Ambition"), "score", "area", "must be one of Identification"),
    ("no-text", _set_q(0, "text", ""), "score", "text", "non-empty"),
    ("long-text", _set_q(0, "text", "word " * 50), "score", "text", "at most 200"),
    ("bad-id", _set_q(4, "id", "Agree Q"), "Agree Q", "id", "lower_case"),
    ("duplicate-id", _set_q(4, "id", "score"), "score", "id", "unique"),
    ("unknown-field", _set_q(0, "ask-if", {}), "score", "ask-if", "unknown field"),
    ("choice-without-options", _drop_q(2, "options"), "pick", "options", "needs 2 to 9"),
    ("one-option", _set_q(2, "options", _OPTIONS(1)), "pick", "options", "give 2 to 9"),
    ("ten-options", _set_q(2, "options", _OPTIONS(10)), "pick", "options", "give 2 to 9"),
    ("duplicate-option", _set_q(2, "options", [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}]),
     "pick", "value", "unique"),
    ("option-without-label", _set_q(2, "options", [{"value": "a"}, {"value": "b", "label": "B"}]),
     "pick", "label", "is required"),
    ("yes-no-with-options", _set_q(5, "options", _OPTIONS(2)), "friend", "options", "take no options"),
    ("likert-four-labels", _set_q(0, "options", _FIVE_LABELS[:4]), "score", "options", "exactly 5"),
    ("likert-bad-values", _set_q(0, "options", [dict(o, value=f"v{o['value']}") for o in _FIVE_LABELS]),
     "score", "value", '"1" to "5"'),
    ("ask-if-later-question", _set_q(1, "ask_if", {"question": "pick", "op": "==", "value": "a"}),
     "why", "ask_if", "earlier question"),
    ("ask-if-unknown-question", _set_q(1, "ask_if", {"question": "nope", "op": "<=", "value": 2}),
     "why", "ask_if", "earlier question"),
    ("ask-if-score-out-of-range", _set_q(1, "ask_if", {"question": "score", "op": "<=", "value": 7}),
     "why", "ask_if", "from 1 to 5"),
    ("ask-if-bad-op", _set_q(1, "ask_if", {"question": "score", "op": "=<", "value": 2}),
     "why", "ask_if", "op must be one of"),
    ("ask-if-order-on-choice", _add_q(_question("extra", ask_if={"question": "pick", "op": "<", "value": "a"})),
     "extra", "ask_if", "only compares"),
    ("ask-if-not-an-option", _add_q(_question("extra", ask_if={"question": "pick", "op": "==", "value": "c"})),
     "extra", "ask_if", "must be one of a, b"),
    ("ask-if-in-needs-list", _add_q(_question("extra", ask_if={"question": "many", "op": "in", "value": "a"})),
     "extra", "ask_if", "needs a list"),
    ("band-not-single-choice", _set_q(0, "band", True), "score", "band", "single_choice"),
    ("max-chars-not-free-text", _set_q(0, "max_chars", 100), "score", "max_chars", "only for free_text"),
    ("max-chars-zero", _set_q(1, "max_chars", 0), "why", "max_chars", "whole number"),
]


@pytest.mark.parametrize("change, qid, field, message", [c[1:] for c in BROKEN_QUESTIONS],
                         ids=[c[0] for c in BROKEN_QUESTIONS])
def test_a_broken_question_names_file_question_and_field(tmp_path: Path, change: Callable, qid: str, field: str,
                                                         message: str) -> None:
    """The error says where: ``pulse.yml: question 'score': field 'kind': must be one of ...``."""
    document = copy.deepcopy(_valid())
    change(document)
    path = _write(tmp_path, document)
    with pytest.raises(SurveyDefinitionError) as caught:
        load_survey(path)
    text = str(caught.value)
    assert "pulse.yml" in text and f"question {qid!r}" in text and f"field {field!r}" in text, text
    assert message in text, text


BROKEN_SURVEYS = [
    ("missing-title", _set("title", None), "title", "is required"),
    ("bad-id", _set("id", "Pulse!"), "id", "lower_case"),
    ("carrier-keyword", _set("keyword", "STOP"), "keyword", "carrier keyword"),
    ("command-keyword", _set("keyword", "SKIP"), "keyword", "during a survey"),
    ("two-word-keyword", _set("keyword", "MY SAY"), "keyword", "one word"),
    ("lower-case-keyword", _set("keyword", "pulse"), "keyword", "one word"),
    ("unknown-audience", _set("audience", "teachers"), "audience", "young_people"),
    ("three-sentence-notice", _set("privacy_notice", "One. Two. Three."), "privacy_notice", "found 3"),
    ("one-sentence-notice", _set("privacy_notice", "We keep answers for 12 months."), "privacy_notice", "found 1"),
    ("long-intro", _set("intro", "Words. " * 90), "privacy_notice", "at most 600"),
    ("opens-after-closes", _set("opens", date(2027, 4, 1)), "closes", "before opens"),
    ("not-a-date", _set("opens", "next week"), "opens", "a date like"),
    ("five-questions", lambda d: d["questions"].pop(), "questions", "6 to 10"),
    ("eleven-questions", lambda d: d["questions"].extend(_question(f"extra{i}") for i in range(5)),
     "questions", "6 to 10"),
    ("unknown-field", _set("closing", "soon"), "closing", "unknown field"),
    ("long-thanks", _set("thanks", "Thanks. " * 50), "thanks", "at most 320"),
]


@pytest.mark.parametrize("change, field, message", [c[1:] for c in BROKEN_SURVEYS], ids=[c[0] for c in BROKEN_SURVEYS])
def test_a_broken_survey_field_names_file_and_field(tmp_path: Path, change: Callable, field: str, message: str) -> None:
    """Survey-level fields are checked too, and the error names the file and the field."""
    document = copy.deepcopy(_valid())
    change(document)
    with pytest.raises(SurveyDefinitionError) as caught:
        load_survey(_write(tmp_path, document))
    text = str(caught.value)
    assert "pulse.yml" in text and f"field {field!r}" in text and message in text, text


@pytest.mark.parametrize("content", ["questions: [", "- just\n- a list\n", b"\xff\xfe bad", "opens: 2026-13-01\n"],
                         ids=["bad-yaml", "not-a-mapping", "not-utf8", "impossible-date"])
def test_an_unreadable_file_is_refused_by_name(tmp_path: Path, content: Any) -> None:
    """Broken YAML, a list, bytes that are not UTF-8: a SurveyDefinitionError naming the file."""
    path = tmp_path / "pulse.yml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SurveyDefinitionError, match="pulse.yml"):
        load_survey(path)


def test_the_valid_example_loads_with_yaml_yes_as_a_condition(tmp_path: Path) -> None:
    """The test's base survey is valid; an unquoted YAML ``yes`` in a condition means "yes"."""
    document = _valid()
    document["questions"].append(_question("more", ask_if={"question": "more_before", "op": "==", "value": True}))
    document["questions"].insert(6, _question("more_before"))
    survey = load_survey(_write(tmp_path, document))
    assert survey.question("more").ask_if == Condition("more_before", "==", "yes")
    assert survey.question("why").ask_if == Condition("score", "<=", 2)


def test_file_name_must_be_the_survey_id(tmp_path: Path) -> None:
    """``other.yml`` holding survey ``pulse`` is refused."""
    _write(tmp_path, _valid(), "other.yml")
    with pytest.raises(SurveyDefinitionError, match=r"other\.yml: field 'id': must equal the file name"):
        load_surveys(tmp_path)


def test_duplicate_keywords_across_files_are_refused(tmp_path: Path) -> None:
    """Two surveys cannot share an SMS keyword: the error names both files."""
    _write(tmp_path, _valid())
    second = dict(_valid(), id="pulse_two", panel="pulse_two")
    _write(tmp_path, second, "pulse_two.yml")
    with pytest.raises(SurveyDefinitionError) as caught:
        load_surveys(tmp_path)
    text = str(caught.value)
    assert "pulse_two.yml" in text and "pulse.yml" in text and "field 'keyword'" in text


def test_the_invitation_texts_are_not_read_as_a_survey(tmp_path: Path) -> None:
    """invitations.yml sits beside the surveys but is not one."""
    _write(tmp_path, _valid())
    (tmp_path / "invitations.yml").write_text("sms: hello\n", encoding="utf-8")
    assert set(load_surveys(tmp_path)) == {"pulse"}
