"""Answering a family's question from the knowledge files, for every topic intent."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Dict, List, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import leave_form
from bot.dates import FundingPeriod, load_funding_periods
from bot.knowledge import Knowledge, load_knowledge

logger = logging.getLogger(__name__)

FALLBACK_RESPONSE = "utter_default"
LAST_TOPIC = "last_topic"
# A follow-up is short and starts like one; the alternative topic must still be a plausible reading of it.
FOLLOW_UP_START = re.compile(r"^(what about|how about|and if|and what|and for|what if|and\b|also\b|if we)")
FOLLOW_UP_MAX_WORDS = 12
FOLLOW_UP_MIN_CONFIDENCE = 0.01  # the blended ranking spreads a short follow-up thinly over the topics
# Below this confidence an answer is a best guess, and says which topic it chose (utter_best_guess).
SURE = 0.5
BEST_GUESS_RESPONSE = "utter_best_guess"
# Another topic this likely (and this close to the chosen one) is offered as a button after the answer.
ALSO_MIN = 0.15
ALSO_RATIO = 0.3
ALSO_MAX = 2
MAX_BUTTONS = 4  # an SMS menu of more than four is hard to read on a small screen
NEVER_ALSO = frozenset({"safeguarding", "give_feedback", "out_of_scope", "human_handoff", "inform"})


@functools.lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    """The knowledge, loaded once per action-server process (restart it after editing ``data/knowledge``)."""
    return load_knowledge()


@functools.lru_cache(maxsize=1)
def periods() -> Tuple[FundingPeriod, ...]:
    """The council's funding periods, loaded once per process."""
    return load_funding_periods()


def send_answer(dispatcher: CollectingDispatcher, topic: str, *, also: Sequence[str] = (), **values: str) -> bool:
    """Send the answer for ``topic`` (with any per-family ``values``) as separate messages.

    ``also`` names other topics the message may have meant, offered as buttons after the answer's own follow-ups.

    Returns:
        False when no answer is written for ``topic``.
    """
    try:
        messages = knowledge().answer(topic, **values)
    except KeyError:
        logger.warning("no answer %r, or a value it needs is missing", topic)
        return False
    buttons = knowledge().buttons(topic)
    offered = {button["payload"] for button in buttons}
    for other in also:
        if f"/{other}" not in offered and other in knowledge().titles and len(buttons) < MAX_BUTTONS:
            buttons.append({"title": knowledge().titles[other], "payload": f"/{other}"})
            offered.add(f"/{other}")
    for index, text in enumerate(messages):
        last = index == len(messages) - 1
        dispatcher.utter_message(text=text, buttons=buttons if last and buttons else None)
    return True


class ActionAnswerQuestion(Action):
    """Answers the topic named by the user's intent (``funding_2yo``, ``ehc_review``, ...).

    A short follow-up ("what about if we're on universal credit?") is read in the context of the last answer: if the
    model's best guess is from another group of topics but a topic from the last group is a close alternative, that
    one is answered. Answering a question also ends any form the family was in: they have moved on (a survey offers
    to carry on).
    """

    def name(self) -> Text:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        topic = _topic_in_context(tracker)
        ranking = tracker.latest_message.get("intent_ranking") or []
        confidence = confidence_of(ranking, topic, missing=1.0)  # no ranking (a button's payload): sure
        guessed = topic == (tracker.latest_message.get("intent") or {}).get("name")  # not read from context
        if guessed and confidence < SURE and topic in knowledge().titles and topic not in NEVER_ALSO:
            # A best guess: say which topic was chosen, so a wrong one is noticed at once.
            dispatcher.utter_message(response=BEST_GUESS_RESPONSE, topic_title=knowledge().titles[topic].lower())
        if not send_answer(dispatcher, topic, also=other_readings(ranking, topic)):
            # A rule sent an intent here that has no written answer: say so gently rather than stay silent.
            logger.warning("no answer written for topic %r (sender %s)", topic, tracker.sender_id)
            dispatcher.utter_message(response=FALLBACK_RESPONSE)
        return [SlotSet(LAST_TOPIC, topic), *leave_form(dispatcher, tracker)]


def confidence_of(ranking: Sequence[Dict[str, Any]], topic: str, missing: float = 0.0) -> float:
    """The NLU's confidence in ``topic``, or ``missing`` when the ranking does not list it."""
    return next((entry.get("confidence") or 0.0 for entry in ranking if entry.get("name") == topic), missing)


def other_readings(ranking: Sequence[Dict[str, Any]], topic: str) -> List[str]:
    """Other topics a message may (also) be asking about, likeliest first: a long message often asks two things.

    A topic counts when the NLU gives it at least ``ALSO_MIN`` and at least ``ALSO_RATIO`` of the chosen topic's
    confidence; signposts (safeguarding, feedback, a person) are never offered this way.
    """
    chosen = confidence_of(ranking, topic)
    found = []
    for entry in ranking:
        name, confidence = entry.get("name") or "", entry.get("confidence") or 0.0
        if (name != topic and name in knowledge().titles and name not in NEVER_ALSO
                and confidence >= ALSO_MIN and confidence >= ALSO_RATIO * chosen):
            found.append(name)
    return found[:ALSO_MAX]


def topic_group(topic: str) -> str:
    """``funding_2yo`` -> ``funding``: topics answered together share a group."""
    return topic.split("_", 1)[0]


def is_follow_up(text: str) -> bool:
    """A short message that leans on the previous answer ("and if we both work?", "what about UC")."""
    words = text.lower().split()
    return 0 < len(words) <= FOLLOW_UP_MAX_WORDS and bool(FOLLOW_UP_START.match(text.lower().strip()))


def _topic_in_context(tracker: Tracker) -> str:
    intent = tracker.latest_message.get("intent") or {}
    topic = intent.get("name") or ""
    last = tracker.get_slot(LAST_TOPIC)
    if not last or topic_group(topic) == topic_group(last) or not is_follow_up(tracker.latest_message.get("text") or ""):
        return topic
    for candidate in tracker.latest_message.get("intent_ranking") or []:
        name = candidate.get("name") or ""
        if (
            topic_group(name) == topic_group(last)
            and name in knowledge().titles
            and (candidate.get("confidence") or 0) >= FOLLOW_UP_MIN_CONFIDENCE
        ):
            return name
    return topic
