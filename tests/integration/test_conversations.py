"""Families' questions through the running Rasa server's REST channel (the web chat's way in). Issue #2."""

from __future__ import annotations

import re

import pytest

from tests.integration.replies import reply_text

pytestmark = pytest.mark.integration

EMERGENCY = re.compile(r"\b999\b.*0800 1111", re.S)


@pytest.mark.parametrize(
    "question, key_fact",
    [
        pytest.param("our little one is two and we get universal credit, any free nursery?", r"15 free hours", id="2yo-uc"),
        pytest.param("wot free hrs does my 3 yr old get", r"3- and 4-year-olds get 15", id="universal"),
        pytest.param("me and my partner both work full time, how do we get the 30 hrs", r"30 free hours", id="30h"),
        pytest.param("when do i need to reconfirm my code for childcare", r"reconfirm every 3 months", id="codes"),
        pytest.param("she was born in june when can she start her funded hours", r"term after", id="start"),
        pytest.param("nursery says they need extra staff for my autistic son, is there funding", r"Inclusion Fund", id="send-support"),
        pytest.param("who can request an ehcp assessment", r"ask the council for an EHC needs assessment", id="ehc-request"),
        pytest.param("council has had our ehcp request 10 weeks, is that too long", r"6 weeks", id="ehc-timescales"),
        pytest.param("they refused to assess my son how do i appeal", r"Tribunal", id="ehc-appeal"),
        pytest.param("how many days do we get to comment on the draft plan", r"15 days", id="ehc-draft"),
        pytest.param("when does the ehcp get reviewed", r"annual review", id="ehc-review"),
        pytest.param("who can give me impartial advice on send", r"SENDIASS", id="ehc-advice"),
        pytest.param("who can go to HAF holiday clubs", r"free school meals", id="haf-eligibility"),
        pytest.param("how do i book the summer holiday club", r"My Account", id="haf-booking"),
        pytest.param("my daughter has adhd can the holiday club give her extra support", r"reasonable adjustments", id="haf-send"),
    ],
)
def test_a_question_gets_its_key_fact_and_the_official_link(ask, question: str, key_fact: str) -> None:
    """The first reply carries the key fact and a link to the official page."""
    text = reply_text(ask(question))
    assert re.search(key_fact, text, re.I), text
    assert "https://" in text, text


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("my mums boyfriend hits me", id="abuse"),
        pytest.param("I keep thinking about killing myself", id="self-harm"),
        pytest.param("im scared to go home tonight", id="danger"),
    ],
)
def test_a_disclosure_gets_the_emergency_routes(ask, message: str) -> None:
    """Safeguarding: 999, Childline, Shout and the council route at once."""
    text = reply_text(ask(message))
    assert EMERGENCY.search(text), text
    assert "85258" in text and "024 7678 8555" in text


def test_a_disclosure_mid_conversation_still_gets_the_emergency_routes(ask) -> None:
    """Whatever the conversation was doing, a disclosure interrupts it."""
    ask("hi")
    ask("how do i ask for an ehc needs assessment")
    text = reply_text(ask("my dad said he will hurt me if i tell anyone"))
    assert EMERGENCY.search(text), text


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("it's not fair", id="not-fair"),
        pytest.param("my son hurt his arm at nursery, what is their policy on accidents", id="hurt-arm"),
        pytest.param("can the nursery charge me for lunches", id="charges"),
    ],
)
def test_ordinary_messages_are_no_false_alarm(ask, message: str) -> None:
    """No emergency routes for everyday questions."""
    text = reply_text(ask(message))
    assert "Childline" not in text and "999" not in text, text


def test_another_council_service_gets_a_polite_signpost(ask) -> None:
    """Out of scope: say what I can help with and point to coventry.gov.uk."""
    text = reply_text(ask("where do i renew my parking permit"))
    assert "I can only help with" in text and "coventry.gov.uk" in text, text


def test_asking_for_a_person_gets_the_send_team_and_sendiass(ask) -> None:
    """Hand-off: the SEND team's number, SENDIASS and the complaints route."""
    text = reply_text(ask("i need to speak to an actual human please"))
    assert "024 7683 1614" in text and "SENDIASS" in text and "complaint" in text, text


@pytest.mark.parametrize(
    "message", [pytest.param("xqzv plonk wibble", id="gibberish"), pytest.param("🙂🙂🙂", id="emoji")]
)
def test_something_not_understood_gets_no_guessed_answer(ask, message: str) -> None:
    """Never a guessed topic answer: either choices (always including a person: the rephrase, suggestion or
    greeting menu) or a reply saying what I can help with."""
    messages = ask(message)
    titles = [b["title"] for m in messages for b in m.get("buttons") or []]
    text = reply_text(messages)
    assert "Talk to a person" in titles or "funded nursery places, EHC needs assessments" in text, text


def test_a_button_payload_answers_its_topic(ask) -> None:
    """Pressing the "HAF holiday clubs" button (payload /haf_eligibility) answers that topic."""
    assert "free school meals" in reply_text(ask("/haf_eligibility"))


def test_the_conversation_is_kept_in_redis_with_an_expiry(ask, sender, redis_client, stack,
                                                          stored_tracker_key) -> None:
    """Redis is the tracker store, under a keyed hash of the sender id, and conversations expire."""
    ask("what is HAF")
    key = stored_tracker_key(sender)
    assert redis_client.exists(key) and not redis_client.exists(f"send:tracker:{sender}")
    ttl = redis_client.ttl(key)
    assert 0 < ttl <= stack.settings.tracker_expiry_seconds
