"""What the forms (the funded hours checker, the surveys) share: telling an answer from another question, and
leaving a form when the family has moved on.

A form reads each message as an answer first. Only a message that clearly asks something else (a topic the
assistant answers, with enough confidence, or a control intent such as a disclosure) interrupts it: the form then
rejects the turn, a rule answers the question, and the answering action leaves the form. A survey interrupted that
way is not lost: its answers so far are in the survey store, and the reply offers to carry on.
"""

from __future__ import annotations

from typing import Any, Collection, Dict, FrozenSet, List

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

SURVEY_FORM = "survey_form"
SURVEY_ID = "survey_id"
CARRY_ON_RESPONSE = "utter_survey_carry_on"
# Intents that always mean "I'm asking something else now", whatever the form was asking.
CONTROL_INTENTS = frozenset({"safeguarding", "human_handoff", "stop", "start_again", "delete_my_data"})


def latest_intent(tracker: Tracker) -> Dict[str, Any]:
    """The NLU's reading of the latest message: ``{"name", "confidence"}``."""
    return tracker.latest_message.get("intent") or {}


def is_disclosure(tracker: Tracker) -> bool:
    """A disclosure is never read as an answer (and never kept): the safeguarding rule must answer it."""
    return latest_intent(tracker).get("name") == "safeguarding"


def is_interruption(tracker: Tracker, *, topics: Collection[str], min_confidence: float,
                    not_interruptions: FrozenSet[str], control_intents: FrozenSet[str] = CONTROL_INTENTS) -> bool:
    """True when the latest message asks about one of ``topics`` (confidently) or is a control intent.

    Args:
        tracker: the conversation.
        topics: the topics the assistant answers (``knowledge().titles``).
        min_confidence: how sure the NLU must be before a topic counts as a new question.
        not_interruptions: topic intents that are answers here, not new questions.
        control_intents: intents that always interrupt.
    """
    intent = latest_intent(tracker)
    name, confidence = intent.get("name"), intent.get("confidence") or 0.0
    if name in control_intents:
        return True
    answered_topic = name in topics and name not in not_interruptions
    return answered_topic and confidence >= min_confidence


def leave_form(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Events that end the active form after another question was answered; offers to carry on a survey."""
    if not tracker.active_loop_name:
        return []
    if tracker.active_loop_name == SURVEY_FORM and tracker.get_slot(SURVEY_ID):
        dispatcher.utter_message(response=CARRY_ON_RESPONSE)
    return [ActiveLoop(None), SlotSet("requested_slot", None)]
