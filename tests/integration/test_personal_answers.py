"""Answers for the person asking, through the running Rasa server (REST): the funded hours checker, the EHC date
calculator, HAF and SEND in depth, follow-ups and starting again. Issue #3."""

from __future__ import annotations

import re

import pytest

from tests.integration.replies import reply_text

pytestmark = pytest.mark.integration

SMS_LIMIT = 320


def _texts(messages):
    return [m.get("text") or "" for m in messages]


def test_a_family_gets_a_personal_answer_in_three_messages(ask) -> None:
    """Happy path: date of birth in the first message, then work and benefits; every message SMS-sized."""
    first = ask("can you check what free hours my son can get, he was born 3/11/24")
    assert "Do you work" in reply_text(first)
    assert "Universal Credit" in reply_text(ask("yes we both work"))
    result = ask("we get universal credit")
    text = reply_text(result)
    assert "2-year-old offer" in text and "working parents" in text and "Every 3- and 4-year-old" in text
    assert re.search(r"from \d{1,2} \w+ 20\d\d", text), text
    assert all(len(t) <= SMS_LIMIT for t in _texts(first + result))


def test_every_question_can_be_skipped(ask) -> None:
    """Skip: "not sure" three times still ends with a useful answer."""
    ask("check what free hours we can get")
    ask("not sure")
    ask("not sure")
    text = reply_text(ask("not sure"))
    assert "Without a date of birth" in text


def test_nonsense_gets_the_question_again(ask) -> None:
    """Nonsense input: say what we need and ask again, without leaving the check."""
    ask("check what free hours we can get")
    text = reply_text(ask("purple monkey dishwasher"))
    assert "couldn't read that" in text and "date of birth" in text


def test_stop_leaves_the_checker(ask) -> None:
    """Escape: "stop" ends the check and the next question is answered normally."""
    ask("check what free hours we can get")
    assert "stopped" in reply_text(ask("stop"))
    assert "free school meals" in reply_text(ask("who can go to HAF holiday clubs"))


def test_another_question_interrupts_the_checker(ask) -> None:
    """Interruption: a question is answered, not mistaken for an answer to the checker."""
    ask("check what free hours we can get")
    assert "Tribunal" in reply_text(ask("the council refused to assess my son for an ehcp, how do i appeal"))
    assert "free school meals" in reply_text(ask("who can go to HAF holiday clubs"))


def test_a_disclosure_during_the_checker_gets_the_emergency_routes(ask) -> None:
    """Safeguarding in any state: the form gives way at once."""
    ask("check what free hours we can get")
    text = reply_text(ask("my dad hits me"))
    assert "999" in text and "0800 1111" in text
    assert "free school meals" in reply_text(ask("who can go to HAF holiday clubs"))


def test_the_birth_date_is_remembered_for_a_later_question(ask) -> None:
    """Context: after the check, "when does it start?" uses the child's own dates."""
    ask("check what free hours we can get, she was born 20/1/25")
    ask("no")
    ask("neither")
    assert "For your child" in reply_text(ask("when does the funding start"))


def test_start_again_forgets_the_answers(ask) -> None:
    """"start again" resets: the next start-date answer is the general one."""
    ask("check what free hours we can get, she was born 20/1/25")
    assert "start again" in reply_text(ask("start again")).lower()
    assert "For your child" not in reply_text(ask("when does the funding start"))


@pytest.mark.parametrize(
    "question, expected",
    [
        pytest.param("we asked for an ehc assessment on 3 March, when should they decide", r"by \d+ \w+ 20\d\d \(6 weeks\) it should say if it will assess",
                     id="request-date"),
        pytest.param("it's been 8 weeks since we sent the ehcp request and nothing", r"has passed", id="weeks-ago"),
    ],
)
def test_ehc_dates_for_the_family(ask, question: str, expected: str) -> None:
    """The EHC date calculator answers with the family's own dates."""
    assert re.search(expected, reply_text(ask(question))), question


@pytest.mark.parametrize(
    "question, expected",
    [
        pytest.param("can the holiday club give my son 1:1 support", "1:1 support", id="adjustments"),
        pytest.param("the holiday club said they cant take my autistic daughter", "Equality Act 2010", id="refused"),
        pytest.param("are there any send only holiday clubs", "just for children with SEND", id="send-clubs"),
    ],
)
def test_haf_send_questions_in_depth(ask, question: str, expected: str) -> None:
    """HAF and SEND: adjustments, refusals and SEND-only sessions each get their own answer."""
    assert expected in reply_text(ask(question))


def test_a_follow_up_continues_the_topic(ask) -> None:
    """"what about if we're on universal credit?" after a funding answer stays on funding."""
    ask("how does the 30 hours for working parents work")
    text = reply_text(ask("what about if we're on universal credit?"))
    assert re.search(r"15 free hours|2-year-old", text), text
    assert "HAF" not in text
