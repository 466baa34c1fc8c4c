"""When the NLU is unsure: offer the likeliest topics as buttons instead of guessing (Rasa's two-stage fallback idea).

A stressed parent on SMS should not have to guess how to rephrase; picking "1" from a short list is easier.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import LAST_TOPIC, knowledge, send_answer

SUGGESTIONS_MAX = 3
# Below this the model is guessing; a list of unrelated topics would only confuse.
SUGGESTION_MIN_CONFIDENCE = 0.1
# Topics that are not questions a family would pick from a list.
NOT_SUGGESTED = frozenset({"safeguarding", "out_of_scope", "give_feedback", "human_handoff"})
HANDOFF_TOPIC = "human_handoff"
OUT_OF_SCOPE_TOPIC = "out_of_scope"
FALLBACK_INTENT = "nlu_fallback"
SUGGEST_RESPONSE = "utter_suggest_topics"
REPHRASE_RESPONSE = "utter_default"


def suggested_topics(intent_ranking: List[Dict[str, Any]], titles: Dict[str, str]) -> List[str]:
    """The topics worth offering, likeliest first.

    Args:
        intent_ranking: the NLU's ranking (``{"name", "confidence"}`` dicts, likeliest first).
        titles: topic -> button title; only topics with an answer can be offered.

    Returns:
        Up to ``SUGGESTIONS_MAX`` topic names.
    """
    topics = [
        entry.get("name")
        for entry in intent_ranking
        if entry.get("name") in titles
        and entry.get("name") not in NOT_SUGGESTED
        and (entry.get("confidence") or 0) >= SUGGESTION_MIN_CONFIDENCE
    ]
    return topics[:SUGGESTIONS_MAX]


def parent_of_close_pair(topics: List[str], follow_ups: Dict[str, Any]) -> Optional[str]:
    """When the two likeliest topics are one answer and a follow-up it offers as a button ("HAF clubs and SEND" and
    "Adjustments at HAF clubs"), the general answer answers either reading: it carries the key fact and offers the
    other as a button. Returns that answer's topic, or None when the two are unrelated (then we ask)."""
    if len(topics) < 2:
        return None
    first, second = topics[:2]
    if second in follow_ups.get(first, ()):
        return first
    if first in follow_ups.get(second, ()):
        return second
    return None


def _best_guess(intent_ranking: List[Dict[str, Any]]) -> str:
    """The classifier's own top intent, skipping the fallback entry the FallbackClassifier puts first."""
    return next((e.get("name") or "" for e in intent_ranking if e.get("name") != FALLBACK_INTENT), "")


class ActionSuggestTopics(Action):
    """Answers a low-confidence message with "Is it one of these?" and the likeliest topics, plus a person.

    When the best guess is another council service, it gives the out-of-scope signpost instead.
    """

    def name(self) -> Text:
        return "action_suggest_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        if _best_guess(ranking) == OUT_OF_SCOPE_TOPIC:
            # Unsure, but most like another council service: say what I can help with and where to go instead.
            send_answer(dispatcher, OUT_OF_SCOPE_TOPIC)
            return []
        titles = dict(knowledge().titles)
        topics = suggested_topics(ranking, titles)
        parent = parent_of_close_pair(topics, dict(knowledge().follow_ups))
        if parent is not None:
            send_answer(dispatcher, parent)
            return [SlotSet(LAST_TOPIC, parent)]
        if not topics:
            dispatcher.utter_message(response=REPHRASE_RESPONSE)
            return []
        buttons = [{"title": titles[t], "payload": f"/{t}"} for t in [*topics, HANDOFF_TOPIC]]
        dispatcher.utter_message(response=SUGGEST_RESPONSE, buttons=buttons)
        return []
