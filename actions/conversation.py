"""Leaving a question ("stop") and starting over ("start again"), from any state of the conversation."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher


class ActionStop(Action):
    """Stops the question being asked (e.g. the checker); what the family told us stays for later answers."""

    def name(self) -> Text:
        return "action_stop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_stopped")
        return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionStartAgain(Action):
    """Forgets everything the family told us in this conversation and shows the menu."""

    def name(self) -> Text:
        return "action_start_again"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(response="utter_start_again")
        return [ActiveLoop(None), AllSlotsReset()]
