"""When funded hours start, for this family's child when we know (or are told) the date of birth."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.forms import leave_form
from actions.funding_checker import BIRTH_DATE, birth_date_from_slots, birth_date_slot_value
from actions.knowledge import LAST_TOPIC, periods, send_answer
from bot.dates import add_months, funding_from, parse_birth_date, turns
from bot.funding import TWO_YEAR_OFFER_AGE, UNIVERSAL_AGE, WORKING_FROM_MONTHS, format_day

TOPIC = "funding_start"


class ActionFundingStart(Action):
    """The general rule (the term after the birthday), led by the child's own dates when a birth date is known.

    A date of birth in the message ("born in June 2023", "turns 3 in November") is used and remembered; one given
    earlier in the conversation (e.g. in the checker) is used too.
    """

    def name(self) -> Text:
        return "action_funding_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        today = clock.today()
        events: List[EventType] = [SlotSet(LAST_TOPIC, TOPIC)]
        parsed = parse_birth_date(tracker.latest_message.get("text") or "", today)
        birth = parsed.date if parsed else birth_date_from_slots(tracker)
        if parsed:
            events.append(SlotSet(BIRTH_DATE, birth_date_slot_value(parsed)))
        if birth:
            def when(day) -> str:
                starts, _ = funding_from(day, periods())
                return "now" if starts <= today else f"on {format_day(starts)}"

            send_answer(
                dispatcher,
                "funding_start_personal",
                universal_start=when(turns(birth, UNIVERSAL_AGE)),
                two_year_start=when(turns(birth, TWO_YEAR_OFFER_AGE)),
                working_start=when(add_months(birth, WORKING_FROM_MONTHS)),
            )
        send_answer(dispatcher, TOPIC)
        return events + leave_form(dispatcher, tracker)
