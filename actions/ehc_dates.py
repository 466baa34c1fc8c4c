"""The EHC date calculator: "we asked on 3 March" becomes the family's own 6-, 16- and 20-week dates."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.forms import leave_form
from actions.knowledge import LAST_TOPIC, knowledge, send_answer
from bot.dates import STEP_DECIDE_ASSESS, STEP_DECIDE_PLAN, STEP_FINAL_PLAN, deadline_progress, ehc_deadlines, parse_request_date
from bot.funding import format_day

TOPIC = "ehc_timescales"
# How each step reads after "The deadline to ... has passed".
STEP_WORDS = {
    STEP_DECIDE_ASSESS: "decide whether to assess",
    STEP_DECIDE_PLAN: "decide whether to make a plan",
    STEP_FINAL_PLAN: "send the final plan",
}


def _weeks(fact: str) -> int:
    return int(knowledge().facts[fact].value)


class ActionEhcDates(Action):
    """Answers a timescales question; with a request date ("3 March", "8 weeks ago") it gives the family's dates."""

    def name(self) -> Text:
        return "action_ehc_dates"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        today = clock.today()
        requested = parse_request_date(tracker.latest_message.get("text") or "", today)
        if requested is None or requested > today:
            send_answer(dispatcher, TOPIC)
            return [SlotSet(LAST_TOPIC, TOPIC), *leave_form(dispatcher, tracker)]
        deadlines = ehc_deadlines(
            requested,
            decide_assess_weeks=_weeks("ehc_decide_assess_weeks"),
            decide_plan_weeks=_weeks("ehc_decide_plan_weeks"),
            final_plan_weeks=_weeks("ehc_final_plan_weeks"),
        )
        send_answer(
            dispatcher,
            "ehc_dates",
            requested=format_day(deadlines.requested),
            decide_assess=format_day(deadlines.decide_assess),
            decide_plan=format_day(deadlines.decide_plan),
            final_plan=format_day(deadlines.final_plan),
        )
        passed = deadline_progress(deadlines, today).passed
        if passed:
            send_answer(dispatcher, "ehc_dates_late", missed=STEP_WORDS[passed[-1]])
        else:
            send_answer(dispatcher, "ehc_dates_on_time")
        return [SlotSet(LAST_TOPIC, TOPIC), *leave_form(dispatcher, tracker)]
