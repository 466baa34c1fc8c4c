"""Custom actions, with a tracker built in the test and the dispatcher's messages checked. Issue #2."""

from __future__ import annotations

from typing import Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionSuggestTopics
from actions.knowledge import ActionAnswerQuestion
from actions.safeguarding import ActionSafeguarding
from tests.unit.trackers import tracker_after


def _tracker(intent: str, text: str = "", active_loop: Optional[str] = None) -> Tracker:
    return tracker_after(text, intent, active_loop=active_loop)


async def test_answer_question_sends_the_topic_answer() -> None:
    """The intent names the topic; its messages are sent in order."""
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerQuestion().run(dispatcher, _tracker("ehc_draft_plan"), {})
    assert events == [SlotSet("last_topic", "ehc_draft_plan")]
    assert "at least 15 days" in dispatcher.messages[0]["text"]


async def test_a_topic_without_an_answer_gets_the_rephrase_response() -> None:
    """A rule pointing at an unwritten topic never leaves the family with silence."""
    dispatcher = CollectingDispatcher()
    await ActionAnswerQuestion().run(dispatcher, _tracker("no_such_topic"), {})
    assert dispatcher.messages[0]["response"] == "utter_default"


@pytest.mark.parametrize(
    "active_loop, expected",
    [(None, []), ("some_form", [ActiveLoop(None), SlotSet("requested_slot", None)])],
    ids=["idle", "in-form"],
)
async def test_safeguarding_sends_routes_and_leaves_any_form(active_loop, expected) -> None:
    """999 and Childline come first, and a running form is stopped."""
    dispatcher = CollectingDispatcher()
    events = await ActionSafeguarding().run(dispatcher, _tracker("safeguarding", active_loop=active_loop), {})
    assert events == expected
    assert "call 999" in dispatcher.messages[0]["text"] and "0800 1111" in dispatcher.messages[0]["text"]


async def test_an_unsure_message_gets_the_likeliest_topics_and_a_person() -> None:
    """Two-stage fallback: the top topics as buttons, never safeguarding or small talk, and always a person."""
    tracker = _tracker("nlu_fallback")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "funding_30h", "confidence": 0.34},
        {"name": "safeguarding", "confidence": 0.2},
        {"name": "funding_2yo", "confidence": 0.2},
        {"name": "greet", "confidence": 0.15},
        {"name": "haf_booking", "confidence": 0.01},
    ]
    dispatcher = CollectingDispatcher()
    await ActionSuggestTopics().run(dispatcher, tracker, {})
    message = dispatcher.messages[0]
    assert message["response"] == "utter_suggest_topics"
    assert [b["payload"] for b in message["buttons"]] == ["/funding_30h", "/funding_2yo", "/human_handoff"]
    assert message["buttons"][0]["title"] == "Hours for working parents"


async def test_an_unsure_message_with_no_likely_topic_asks_to_rephrase() -> None:
    """Nothing plausible to offer: ask to rephrase (with the topic menu from the response)."""
    tracker = _tracker("nlu_fallback")
    tracker.latest_message["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.4}]
    dispatcher = CollectingDispatcher()
    await ActionSuggestTopics().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["response"] == "utter_default"


async def test_an_unsure_message_that_looks_off_topic_gets_the_signpost() -> None:
    """Unsure, but most like another council service: explain what I help with and point to coventry.gov.uk."""
    tracker = _tracker("nlu_fallback")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "out_of_scope", "confidence": 0.3},
        {"name": "ehc_personal_budget", "confidence": 0.12},
    ]
    dispatcher = CollectingDispatcher()
    await ActionSuggestTopics().run(dispatcher, tracker, {})
    assert "I can only help with" in dispatcher.messages[0]["text"]
    assert "coventry.gov.uk" in dispatcher.messages[0]["text"]


async def test_unsure_between_an_answer_and_its_follow_up_gets_the_general_answer() -> None:
    """Unsure between "HAF clubs and SEND" and one of its own follow-ups: both readings are answered by the general
    answer, which offers the follow-up as a button, so the family gets the key fact instead of a question."""
    tracker = _tracker("nlu_fallback", "my daughter has adhd can the holiday club give her extra support")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "haf_send_adjustments", "confidence": 0.46},
        {"name": "haf_send_access", "confidence": 0.44},
        {"name": "haf_eligibility", "confidence": 0.05},
    ]
    dispatcher = CollectingDispatcher()
    events = await ActionSuggestTopics().run(dispatcher, tracker, {})
    assert "reasonable adjustments" in dispatcher.messages[0]["text"]
    assert {"title": "Adjustments at HAF clubs", "payload": "/haf_send_adjustments"} in dispatcher.messages[-1]["buttons"]
    assert SlotSet("last_topic", "haf_send_access") in events
