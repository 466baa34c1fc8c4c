"""The funded hours checker: a form that asks a few questions and tells the family what their child can get.

The reply to the question just asked is read from its text first (a date of birth, "yes", "universal credit"), so
an answer counts whatever the NLU model thought it was. Other answers ("we both work" while asked the date) are
taken too, unless the message is clearly another question: "how do I appeal the EHCP decision?" must not fill
"has an EHC plan". A reply that answers nothing is handled in one of two ways:
  - another question (a topic the assistant answers, "stop", "start again", a disclosure): the form rejects the
    turn and the rules answer that question, which ends the check;
  - anything else ("banana", "hi"): the family tried to answer, so we say what we need and ask again.
Answers are read by meaning (bot/checker_answers.py): "no job at the moment" is not working, "only my husband
works" is one working parent, "waiting to hear about DLA" is not yet a route. A bare number ("3") while a question
is asked is its button, in case the SMS channel could not remember the menu it sent.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import clock
from actions.forms import is_disclosure, is_interruption
from actions.knowledge import LAST_TOPIC, knowledge, periods, send_answer
from bot.dates import BirthDate, parse_birth_date
from bot.funding import (
    ONE_WORKS,
    entitlements,
    format_day,
    is_school_age,
    is_unsure,
    parse_partner_benefit,
    parse_support_route,
    parse_work_answer,
    two_year_offer_still_ahead,
    undated_working_answer,
    work_situation,
)

logger = logging.getLogger(__name__)

FORM = "funding_checker_form"
# ISO date; "~" in front when worked out from an age ("2 and a half"); UNKNOWN_BIRTH_DATE when skipped.
BIRTH_DATE = "child_birth_date"
APPROXIMATE_MARK = "~"
PARENTS_WORK = "parents_work"
# Asked only when one parent of a couple works: does the other get Carer's Allowance or a disability benefit?
PARTNER_BENEFIT = "partner_benefit"
SUPPORT_ROUTE = "support_route"
CHECKER_SLOTS = (BIRTH_DATE, PARENTS_WORK, PARTNER_BENEFIT, SUPPORT_ROUTE)
UNKNOWN_BIRTH_DATE = "unknown"
CHECKER_TOPIC = "check_funding"

NOT_INTERRUPTIONS = frozenset({"out_of_scope", "give_feedback", "inform", "check_funding", "funding_overview"})
INTERRUPTION_MIN_CONFIDENCE = 0.6

NOT_UNDERSTOOD = {
    BIRTH_DATE: "utter_not_understood_birth_date",
    PARENTS_WORK: "utter_not_understood_yes_no",
    PARTNER_BENEFIT: "utter_not_understood_partner_benefit",
    SUPPORT_ROUTE: "utter_not_understood_support_route",
}


def birth_date_slot_value(parsed: BirthDate) -> str:
    """How a parsed date of birth is kept in the slot."""
    return (APPROXIMATE_MARK if parsed.approximate else "") + parsed.date.isoformat()


def birth_date_from_slots(tracker: Tracker) -> Optional[date]:
    """The child's date of birth the family gave earlier in this conversation, if any."""
    value = tracker.get_slot(BIRTH_DATE)
    if not value or value == UNKNOWN_BIRTH_DATE:
        return None
    try:
        return date.fromisoformat(value.lstrip(APPROXIMATE_MARK))
    except ValueError:
        logger.warning("ignoring a malformed %s slot (sender %s)", BIRTH_DATE, tracker.sender_id)
        return None


def birth_date_is_approximate(tracker: Tracker) -> bool:
    """True when the date of birth was worked out from an age, so dates may be a term out."""
    return str(tracker.get_slot(BIRTH_DATE) or "").startswith(APPROXIMATE_MARK)


def _is_interruption(tracker: Tracker) -> bool:
    return is_interruption(tracker, topics=knowledge().titles, min_confidence=INTERRUPTION_MIN_CONFIDENCE,
                           not_interruptions=NOT_INTERRUPTIONS)


def _attempted(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> Dict[Text, Any]:
    """The family answered the question just asked, but we could not read it: explain, and ask again."""
    if tracker.get_slot("requested_slot") != slot or _is_interruption(tracker):
        return {}
    dispatcher.utter_message(response=NOT_UNDERSTOOD[slot])
    return {slot: None}


class ValidateFundingCheckerForm(FormValidationAction):
    """Reads the checker's answers from free text, skips questions that do not apply, and handles bad input."""

    def name(self) -> Text:
        return "validate_funding_checker_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        """Ask about benefits only while the 2-year-old offer can still matter; stop asking for a school-age child.

        The question about the other parent's Carer's Allowance or disability benefit is asked only when one
        parent of a couple works: it is the one exception that can still give the working parent hours.
        """
        birth = birth_date_from_slots(tracker)
        slots = list(domain_slots)
        if birth and is_school_age(birth, clock.today()):
            return [BIRTH_DATE]
        if birth and not two_year_offer_still_ahead(birth, clock.today(), periods()) and SUPPORT_ROUTE in slots:
            slots.remove(SUPPORT_ROUTE)
        if tracker.get_slot(PARENTS_WORK) != ONE_WORKS and PARTNER_BENEFIT in slots:
            slots.remove(PARTNER_BENEFIT)
        return slots

    async def extract_child_birth_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A date of birth or an age anywhere in the message fills the slot (a later one corrects it)."""
        text = tracker.latest_message.get("text") or ""
        asked = tracker.get_slot("requested_slot") == BIRTH_DATE
        if is_disclosure(tracker) or (not asked and _is_interruption(tracker)):
            return {}
        parsed = parse_birth_date(text, clock.today())
        if parsed:
            return {BIRTH_DATE: birth_date_slot_value(parsed)}
        if asked and is_unsure(text):
            return {BIRTH_DATE: UNKNOWN_BIRTH_DATE}
        return _attempted(dispatcher, tracker, BIRTH_DATE)

    async def extract_parents_work(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """ "yes"/"no"/"just me" answer the question when it is asked; "we both work" counts at any time."""
        return _extract_answer(dispatcher, tracker, domain, PARENTS_WORK, parse_work_answer)

    async def extract_partner_benefit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Carer's Allowance or a disability benefit for the parent who isn't working: "yes", "no", "no partner".

        A reply that corrects the work answer instead ("actually we both work") is left to ``parents_work``.
        """
        text = _reply(tracker, domain, PARTNER_BENEFIT)
        if parse_work_answer(text, asked=False) not in (None, ONE_WORKS):
            return {}
        return _extract_answer(dispatcher, tracker, domain, PARTNER_BENEFIT, parse_partner_benefit)

    async def extract_support_route(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Benefits, DLA or an EHC plan, "neither" or "not sure"."""
        return _extract_answer(dispatcher, tracker, domain, SUPPORT_ROUTE, parse_support_route)


def _reply(tracker: Tracker, domain: DomainDict, slot: str) -> str:
    """The family's reply, with a bare option number ("2") read as that button of the question just asked."""
    text = tracker.latest_message.get("text") or ""
    if tracker.get_slot("requested_slot") != slot or not text.strip().rstrip(".)").isdigit():
        return text
    number = int(text.strip().rstrip(".)"))
    responses = (domain.get("responses") or {}).get(f"utter_ask_{slot}") or [{}]
    buttons = responses[0].get("buttons") or []
    return str(buttons[number - 1].get("payload") or text) if 1 <= number <= len(buttons) else text


def _extract_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, slot: str,
    parse: Callable[..., Optional[str]],
) -> Dict[Text, Any]:
    """Read one answer with ``parse``: short replies only when ``slot`` was just asked, never from another question."""
    asked = tracker.get_slot("requested_slot") == slot
    if is_disclosure(tracker) or (not asked and _is_interruption(tracker)):
        return {}
    value = parse(_reply(tracker, domain, slot), asked=asked)
    return {slot: value} if value else _attempted(dispatcher, tracker, slot)


class ActionStartFundingChecker(Action):
    """Clears earlier answers (a family may check a second child) and says how the check works."""

    def name(self) -> Text:
        return "action_start_funding_checker"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        # The first reply must already answer: the key facts, then the offer to work out this child's dates.
        send_answer(dispatcher, CHECKER_TOPIC)
        return [SlotSet(slot, None) for slot in CHECKER_SLOTS] + [SlotSet(LAST_TOPIC, CHECKER_TOPIC)]


def _from_working_age() -> str:
    """ "from the term after your child turns 9 months", with the age from facts.yml, for a check without a date."""
    return f"from the term after your child turns {knowledge().facts['working_from_age'].value}"


class ActionFundingCheckerResult(Action):
    """Tells the family which offers apply to their child, from which date, and how to get them."""

    def name(self) -> Text:
        return "action_funding_checker_result"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        birth = birth_date_from_slots(tracker)
        works = work_situation(tracker.get_slot(PARENTS_WORK), tracker.get_slot(PARTNER_BENEFIT))
        route = tracker.get_slot(SUPPORT_ROUTE)
        if birth is None:
            # Skipped the date of birth: the offers with their ages instead of dates.
            send_answer(dispatcher, "checker_no_birth_date")
            working = undated_working_answer(works)
            if working:
                send_answer(dispatcher, working, when=_from_working_age())
            return [SlotSet(LAST_TOPIC, CHECKER_TOPIC)]
        if is_school_age(birth, clock.today()):
            send_answer(dispatcher, "checker_school_age")
            return [SlotSet(LAST_TOPIC, CHECKER_TOPIC)]
        for offer in entitlements(birth, works, route, clock.today(), periods()):
            when = "now" if offer.started else f"from {format_day(offer.starts)}"
            send_answer(dispatcher, offer.answer, when=when)
        if birth_date_is_approximate(tracker):
            send_answer(dispatcher, "checker_approximate")
        return [SlotSet(LAST_TOPIC, CHECKER_TOPIC)]
