"""Survey messages: the consent message, one question per message with the buttons its kind needs, and SMS rules
(no NPS buttons, never the word STOP). Issue #7."""

from __future__ import annotations

import re
from typing import List, Tuple

import pytest

from bot.surveys.answers import parse_answer
from bot.surveys.definitions import Question, Survey, load_surveys
from bot.surveys.flow import Progress, start, step
from bot.surveys.render import MAX_MESSAGE_CHARS, QuestionMessage, consent_message, question_message
from channels.render import BotMessage, is_gsm7, render_sms, sms_menu_choice

SURVEYS = load_surveys()
STRONG_VOICES = SURVEYS["strong_voices"]
FORUM = SURVEYS["parent_carer_forum"]
_STOP = re.compile(r"\bstop\b", re.I)
ALL_QUESTIONS: List[Tuple[Survey, Question]] = [(s, q) for s in SURVEYS.values() for q in s.questions]
IDS = [f"{s.id}-{q.id}" for s, q in ALL_QUESTIONS]


def _progress(survey: Survey) -> Progress:
    return step(survey, start(survey), "yes").progress


def _first(kind: str) -> Tuple[Survey, Question]:
    return next((s, q) for s, q in ALL_QUESTIONS if q.kind == kind)


def _message(kind: str, numbered: bool, retry: bool = False) -> Tuple[Question, QuestionMessage]:
    survey, question = _first(kind)
    return question, question_message(survey, _progress(survey), question, numbered, retry)


def _payloads(message: QuestionMessage) -> List[str]:
    return [b["payload"] for b in message.buttons]


# --- consent -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("survey_id", sorted(SURVEYS))
def test_consent_message_has_intro_notice_and_yes_no(survey_id: str) -> None:
    """Intro, privacy notice, how to skip or leave, and "Do you want to start?" with Yes, start / No thanks."""
    survey = SURVEYS[survey_id]
    message = consent_message(survey, numbered=False)
    assert message.text.startswith(survey.intro) and survey.privacy_notice in message.text
    assert "You can say skip, back or stop at any question." in message.text
    assert message.text.endswith("Do you want to start?")
    assert message.buttons == ({"title": "Yes, start", "payload": "yes"}, {"title": "No thanks", "payload": "no"})


@pytest.mark.parametrize("survey_id", sorted(SURVEYS))
def test_consent_by_sms_says_exit_never_stop(survey_id: str) -> None:
    """On SMS STOP unsubscribes from every text: the message says EXIT instead, and the yes/no menu reads back."""
    message = consent_message(SURVEYS[survey_id], numbered=True)
    assert "Text SKIP, BACK or EXIT at any question." in message.text
    assert not _STOP.search(message.text)
    sms = render_sms([BotMessage.from_rasa({"text": message.text, "buttons": list(message.buttons)})])
    assert sms.menu == ("yes", "no")
    assert all(is_gsm7(part) for part in sms.parts)
    assert step(SURVEYS[survey_id], start(SURVEYS[survey_id]), sms_menu_choice("1", sms.menu)).progress.consented


# --- buttons per kind --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("numbered", [False, True], ids=["chat", "sms"])
def test_likert_has_five_buttons_scored_one_to_five(numbered: bool) -> None:
    """Titles are the labels, payloads the scores."""
    question, message = _message("likert", numbered)
    assert [b["title"] for b in message.buttons] == [o.label for o in question.options]
    assert _payloads(message) == ["1", "2", "3", "4", "5"]


def test_nps_has_eleven_buttons_in_chat() -> None:
    """Web chat and Telegram: 0 to 10."""
    _, message = _message("nps", numbered=False)
    assert _payloads(message) == [str(n) for n in range(11)]
    assert [b["title"] for b in message.buttons] == [str(n) for n in range(11)]


def test_nps_by_sms_has_no_buttons_and_asks_for_a_number() -> None:
    """A numbered menu would make "7" mean the 7th button (6): no buttons, "Reply with a number from 0 to 10"."""
    _, message = _message("nps", numbered=True)
    assert message.buttons == ()
    assert "Reply with a number from 0 to 10" in message.text


@pytest.mark.parametrize("numbered", [False, True], ids=["chat", "sms"])
def test_yes_no_and_statement_buttons(numbered: bool) -> None:
    """Yes/No with payloads yes/no; Agree/Disagree/Pass with payloads agree/disagree/pass."""
    _, yes_no = _message("yes_no", numbered)
    assert yes_no.buttons == ({"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"})
    _, statement = _message("statement", numbered)
    assert [b["title"] for b in statement.buttons] == ["Agree", "Disagree", "Pass"]
    assert _payloads(statement) == ["agree", "disagree", "pass"]


def test_single_choice_buttons_carry_the_option_number() -> None:
    """One button per option, payload "1".."n", so a tap, an SMS digit and a typed number agree."""
    question, message = _message("single_choice", numbered=False)
    assert [b["title"] for b in message.buttons] == [o.label for o in question.options]
    assert _payloads(message) == [str(i) for i in range(1, len(question.options) + 1)]


def test_multiple_choice_numbers_the_options_in_the_text() -> None:
    """No buttons (several answers in one reply): the options numbered in the text, and how to reply."""
    _, message = _message("multiple_choice", numbered=True)
    assert message.buttons == ()
    assert "1 Nursery funded hours, 2 HAF holiday club, 3 Short breaks" in message.text
    assert message.text.endswith("Reply with all the numbers that fit, like 1, 3.")


def test_free_text_offers_skip() -> None:
    """A Skip button and the hint "Type your answer, or skip."."""
    _, message = _message("free_text", numbered=False)
    assert message.buttons == ({"title": "Skip", "payload": "skip"},)
    assert "Type your answer, or skip." in message.text


@pytest.mark.parametrize("survey, question", ALL_QUESTIONS, ids=IDS)
def test_every_button_and_sms_digit_reads_back_as_an_answer(survey: Survey, question: Question) -> None:
    """Each button's payload, and each SMS menu digit, is understood by the answer parser (or is "skip")."""
    for numbered in (False, True):
        message = question_message(survey, _progress(survey), question, numbered)
        for button in message.buttons:
            assert button["payload"] == "skip" or parse_answer(question, button["payload"]) is not None
        sms = render_sms([BotMessage.from_rasa({"text": message.text, "buttons": list(message.buttons)})])
        for number, payload in enumerate(sms.menu, start=1):
            assert sms_menu_choice(str(number), sms.menu) == payload
        if question.kind in ("likert", "yes_no", "statement", "single_choice"):
            assert [parse_answer(question, str(n)) for n in range(1, len(sms.menu) + 1)] == [
                parse_answer(question, p) for p in sms.menu]  # a typed digit means the same as the menu digit


# --- text --------------------------------------------------------------------------------------------------------


def test_question_count_is_the_questions_that_apply() -> None:
    """ "Question 1 of 9"; after "no EHC plan" the two review questions drop out: "Question 2 of 7"."""
    progress = _progress(STRONG_VOICES)
    first = question_message(STRONG_VOICES, progress, STRONG_VOICES.questions[0], numbered=False)
    assert first.text.startswith(f"Question 1 of 9: {STRONG_VOICES.questions[0].text}")
    result = step(STRONG_VOICES, progress, "no")
    second = question_message(STRONG_VOICES, result.progress, result.question, numbered=False)
    assert second.text.startswith("Question 2 of 7: Do you know who to ask for help")


def test_a_low_score_keeps_its_follow_up_in_the_count() -> None:
    """With a low score the "why" is question 3 of 9."""
    progress = _progress(STRONG_VOICES)
    for reply in ("yes", "1"):
        result = step(STRONG_VOICES, progress, reply)
        progress = result.progress
    assert question_message(STRONG_VOICES, progress, result.question, numbered=True).text.startswith(
        "Question 3 of 9: What would help you feel more listened to?")


@pytest.mark.parametrize("kind, words", [
    ("likert", "Strongly disagree, Disagree, Not sure, Agree or Strongly agree"),
    ("yes_no", "Yes or No"), ("statement", "Agree, Disagree or Pass"),
    ("single_choice", "Yes, No or Not sure"), ("nps", "number from 0 to 10"),
    ("multiple_choice", "1 Nursery funded hours"), ("free_text", "type your answer"),
])
def test_a_retry_says_sorry_and_spells_out_the_options(kind: str, words: str) -> None:
    """ "Sorry, I didn't catch that." first, then the options in words."""
    for numbered in (False, True):
        _, message = _message(kind, numbered, retry=True)
        assert message.text.startswith("Sorry, I didn't catch that. Question ")
        assert words in message.text


def test_custom_labels_with_commas_stay_readable_in_a_retry() -> None:
    """ "Yes, mostly" is one option: options are then listed with semicolons."""
    question = STRONG_VOICES.question("review_listened")
    message = question_message(STRONG_VOICES, _progress(STRONG_VOICES), question, numbered=False, retry=True)
    assert "No, not at all; Not really; Not sure; Yes, mostly or Yes, a lot" in message.text


@pytest.mark.parametrize("survey, question", ALL_QUESTIONS, ids=IDS)
def test_sms_never_says_stop_and_every_message_is_short_and_gsm7(survey: Survey, question: Question) -> None:
    """At most 320 characters, GSM-7, and never "stop" on SMS (in chat, "stop" is only in the consent hint)."""
    for numbered in (False, True):
        for retry in (False, True):
            message = question_message(survey, _progress(survey), question, numbered, retry)
            assert len(message.text) <= MAX_MESSAGE_CHARS, message.text
            assert is_gsm7(message.text)
            assert not _STOP.search(message.text)
            assert not any(_STOP.search(b["title"]) for b in message.buttons)
            if numbered and question.kind == "nps":
                assert message.buttons == ()
