"""Answering a family's question from the knowledge files, for every topic intent."""

from __future__ import annotations

import functools
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge import Knowledge, load_knowledge

logger = logging.getLogger(__name__)

FALLBACK_RESPONSE = "utter_default"


@functools.lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    """The knowledge, loaded once per action-server process (restart it after editing ``data/knowledge``)."""
    return load_knowledge()


def send_answer(dispatcher: CollectingDispatcher, topic: str) -> bool:
    """Send the answer for ``topic`` as separate messages; False when no answer is written for it."""
    try:
        messages = knowledge().answer(topic)
    except KeyError:
        return False
    for text in messages:
        dispatcher.utter_message(text=text)
    return True


class ActionAnswerQuestion(Action):
    """Answers the topic named by the user's intent (``funding_2yo``, ``ehc_review``, ...)."""

    def name(self) -> Text:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        topic = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if not send_answer(dispatcher, topic):
            # A rule sent an intent here that has no written answer: say so gently rather than stay silent.
            logger.warning("no answer written for topic %r (sender %s)", topic, tracker.sender_id)
            dispatcher.utter_message(response=FALLBACK_RESPONSE)
        return []
