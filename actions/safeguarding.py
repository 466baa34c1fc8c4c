"""Answering a disclosure of harm or risk with the emergency routes, at once."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import send_answer

SAFEGUARDING_TOPIC = "safeguarding"


class ActionSafeguarding(Action):
    """Sends 999, Childline, Shout and the council's safeguarding routes, and stops whatever form was running.

    It asks no questions: a bot cannot keep a child safe, so it hands over to people who can, in plain words.
    """

    def name(self) -> Text:
        return "action_safeguarding"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        send_answer(dispatcher, SAFEGUARDING_TOPIC)
        # Leave any form or survey: the next message starts fresh, and nothing said here is kept as an answer.
        return [ActiveLoop(None), SlotSet("requested_slot", None)] if tracker.active_loop_name else []
