"""Custom actions, with a tracker built in the test and the dispatcher's messages checked. Issue #2."""

from __future__ import annotations

from typing import Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswerQuestion
from actions.safeguarding import ActionSafeguarding


def _tracker(intent: str, text: str = "", active_loop: Optional[str] = None) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots={},
        latest_message={"intent": {"name": intent, "confidence": 0.9}, "text": text, "entities": []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


async def test_answer_question_sends_the_topic_answer() -> None:
    """The intent names the topic; its messages are sent in order."""
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerQuestion().run(dispatcher, _tracker("ehc_draft_plan"), {})
    assert events == []
    assert "at least 15 days" in dispatcher.messages[0]["text"]


async def test_a_topic_without_an_answer_gets_the_rephrase_response() -> None:
    """A rule pointing at an unwritten topic never leaves the family with silence."""
    dispatcher = CollectingDispatcher()
    await ActionAnswerQuestion().run(dispatcher, _tracker("no_such_topic"), {})
    assert dispatcher.messages[0]["response"] == "utter_default"


@pytest.mark.parametrize("active_loop, expected", [(None, []), ("some_form", [ActiveLoop(None)])], ids=["idle", "in-form"])
async def test_safeguarding_sends_routes_and_leaves_any_form(active_loop, expected) -> None:
    """999 and Childline come first, and a running form is stopped."""
    dispatcher = CollectingDispatcher()
    events = await ActionSafeguarding().run(dispatcher, _tracker("safeguarding", active_loop=active_loop), {})
    assert events == expected
    assert "call 999" in dispatcher.messages[0]["text"] and "0800 1111" in dispatcher.messages[0]["text"]
