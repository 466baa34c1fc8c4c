"""The checker form, the EHC date calculator, personal start dates and follow-ups, with a fixed clock. Issue #3."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock
from actions.conversation import ActionStartAgain, ActionStop
from actions.ehc_dates import ActionEhcDates
from actions.funding_checker import ActionFundingCheckerResult, ValidateFundingCheckerForm
from actions.funding_start import ActionFundingStart
from actions.knowledge import ActionAnswerQuestion

TODAY = date(2026, 11, 28)
FORM = "funding_checker_form"
CHECKER_SLOTS = ["child_birth_date", "parents_work", "partner_benefit", "support_route"]
# The checker's questions as domain.yml asks them, so numbered SMS replies are read against its real buttons.
_DOMAIN_RESPONSES = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())["responses"]
DOMAIN = {
    "slots": {name: {"type": "text", "mappings": [{"type": "custom"}]} for name in CHECKER_SLOTS + ["last_topic"]},
    "forms": {FORM: {"required_slots": CHECKER_SLOTS}},
    "responses": {f"utter_ask_{slot}": _DOMAIN_RESPONSES[f"utter_ask_{slot}"] for slot in CHECKER_SLOTS[1:]},
}


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test asks on 28 November 2026."""
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def _tracker(text: str, intent: str = "inform", confidence: float = 0.9, slots: Optional[Dict[str, Any]] = None,
             requested: Optional[str] = None, active_loop: Optional[str] = FORM, ranking=None) -> Tracker:
    all_slots = {"requested_slot": requested, **(slots or {})}
    return Tracker(
        sender_id="unit", slots=all_slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": [],
                        "intent_ranking": ranking or [{"name": intent, "confidence": confidence}]},
        events=[], paused=False, followup_action=None,
        active_loop={"name": active_loop} if active_loop else {}, latest_action_name="action_listen",
    )


async def _validate(tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = await ValidateFundingCheckerForm().run(dispatcher, tracker, DOMAIN)
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


async def test_a_date_of_birth_in_the_first_message_is_taken() -> None:
    """Happy path: "born 3/11/24" fills the date, so the next question is about work."""
    slots, messages = await _validate(_tracker("can you check my son born 3/11/24", "check_funding",
                                               requested=None))
    assert slots["child_birth_date"] == "2024-11-03"
    assert messages == []


async def test_an_age_is_taken_as_an_approximate_birth_date() -> None:
    """"she's 2 and a half" is good enough, and marked approximate."""
    slots, _ = await _validate(_tracker("shes 2 and a half", requested="child_birth_date"))
    assert slots["child_birth_date"] == "~2024-05-28"


async def test_not_sure_skips_a_question() -> None:
    """Skip: "not sure" answers the date question and the form moves on."""
    slots, _ = await _validate(_tracker("not sure", requested="child_birth_date"))
    assert slots["child_birth_date"] == "unknown"


async def test_nonsense_gets_an_explanation_and_the_question_again() -> None:
    """Nonsense: say what we need; the slot stays empty so the form asks again."""
    slots, messages = await _validate(_tracker("banana", intent="nlu_fallback", confidence=0.3,
                                               requested="child_birth_date"))
    assert slots["child_birth_date"] is None
    assert messages[0]["response"] == "utter_not_understood_birth_date"


async def test_a_correction_replaces_the_date() -> None:
    """Correction: a new date while answering another question replaces the earlier one."""
    slots, _ = await _validate(_tracker("sorry i meant born 5/1/25", requested="parents_work",
                                        slots={"child_birth_date": "2024-11-03"}))
    assert slots["child_birth_date"] == "2025-01-05"


async def test_another_question_is_not_taken_as_an_answer() -> None:
    """Interruption: a confident topic question fills nothing, so the form rejects the turn and rules answer it."""
    slots, messages = await _validate(_tracker("how do i appeal the ehcp decision", "ehc_refusal_appeal", 0.95,
                                               requested="parents_work",
                                               slots={"child_birth_date": "2024-11-03"}))
    assert "parents_work" not in slots and messages == []


async def test_a_three_year_old_is_not_asked_about_benefits() -> None:
    """Only questions that change the answer are asked: at 3 the 2-year-old offer is past."""
    slots, _ = await _validate(_tracker("yes we both work", requested="parents_work",
                                        slots={"child_birth_date": "2022-06-01"}))
    assert slots["parents_work"] == "working"
    assert slots["requested_slot"] is None  # form complete


async def test_result_lists_the_offers_with_their_dates() -> None:
    """The personal answer: each offer, from its date, with how to get it."""
    dispatcher = CollectingDispatcher()
    tracker = _tracker("neither", active_loop=None, slots={
        "child_birth_date": "2025-01-20",
        "parents_work": "working", "support_route": "benefits"})
    await ActionFundingCheckerResult().run(dispatcher, tracker, {})
    texts = [m["text"] for m in dispatcher.messages]
    assert texts[0].startswith("Up to 30 free hours a week for working parents now")
    assert "2-year-old offer) from 1 April 2027" in texts[1]
    assert texts[2].startswith("15 free hours a week from 1 April 2028")


async def test_result_without_a_birth_date_still_answers() -> None:
    """Skipped the date: the offers by age instead of dates."""
    dispatcher = CollectingDispatcher()
    tracker = _tracker("not sure", active_loop=None, slots={"child_birth_date": "unknown", "parents_work": "unsure"})
    await ActionFundingCheckerResult().run(dispatcher, tracker, {})
    assert "Without a date of birth" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("we asked on 3 March, when will they decide", "by 14 April 2026"),
        ("its been 8 weeks and nothing", "by 14 November 2026"),
    ],
    ids=["date", "weeks-ago"],
)
async def test_ehc_dates_from_the_request_day(text: str, expected: str) -> None:
    """"We asked on 3 March" becomes the 6-week decision date; a passed date gets the contacts."""
    dispatcher = CollectingDispatcher()
    await ActionEhcDates().run(dispatcher, _tracker(text, "ehc_timescales", active_loop=None), {})
    texts = [m["text"] for m in dispatcher.messages]
    assert expected in texts[0]
    assert "has passed" in texts[1] and "024 7683 1614" in texts[1]


async def test_ehc_dates_without_a_date_give_the_general_answer() -> None:
    """No date in the message: the timescales answer."""
    dispatcher = CollectingDispatcher()
    await ActionEhcDates().run(dispatcher, _tracker("how long does it take", "ehc_timescales", active_loop=None), {})
    assert "20 weeks" in dispatcher.messages[0]["text"]


async def test_start_date_uses_a_birth_date_given_earlier() -> None:
    """Context: the date of birth from the checker personalises a later "when does it start?"."""
    dispatcher = CollectingDispatcher()
    tracker = _tracker("when does it start", "funding_start", active_loop=None,
                       slots={"child_birth_date": "2024-11-03"})
    await ActionFundingStart().run(dispatcher, tracker, {})
    assert "universal hours start on 1 January 2028" in dispatcher.messages[0]["text"]


async def test_a_follow_up_stays_on_the_last_topic() -> None:
    """"what about if we're on universal credit?" after a funding answer is a funding question."""
    ranking = [{"name": "haf_eligibility", "confidence": 0.6}, {"name": "funding_2yo", "confidence": 0.3}]
    tracker = _tracker("what about if we're on universal credit?", "haf_eligibility", 0.6, active_loop=None,
                       slots={"last_topic": "funding_30h"}, ranking=ranking)
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerQuestion().run(dispatcher, tracker, {})
    assert "2-year-old can get 15 free hours" in dispatcher.messages[0]["text"]
    assert SlotSet("last_topic", "funding_2yo") in events


async def test_answering_another_question_ends_the_form() -> None:
    """Escape by asking something else: the answer comes and the checker is left."""
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerQuestion().run(dispatcher, _tracker("how do i book", "haf_booking"), {})
    assert ActiveLoop(None) in events


async def test_stop_and_start_again() -> None:
    """Escape: "stop" leaves the form; "start again" also forgets the answers."""
    dispatcher = CollectingDispatcher()
    assert ActiveLoop(None) in await ActionStop().run(dispatcher, _tracker("stop", "stop"), {})
    events = await ActionStartAgain().run(dispatcher, _tracker("start again", "start_again"), {})
    assert AllSlotsReset() in events and ActiveLoop(None) in events


async def test_a_question_mentioning_an_ehcp_does_not_answer_the_benefits_question_early() -> None:
    """Interruption while asked the date: "how do I appeal the EHCP refusal" fills nothing at all."""
    slots, messages = await _validate(_tracker("the council refused to assess my son for an ehcp, how do i appeal",
                                               "ehc_refusal_appeal", 0.95, requested="child_birth_date"))
    assert slots.get("support_route") is None and slots.get("child_birth_date") is None and messages == []


# --- Reading answers by meaning, buttons and numbered replies (issue: the checker read keywords) ------------------


@pytest.mark.parametrize(
    "text, expected",
    [("only my husband works", "one_works"), ("no job at the moment", "not_working"),
     ("single parent and i work", "working"), ("im on maternity leave", "working")],
)
async def test_free_text_is_read_by_meaning(text: str, expected: str) -> None:
    """Free text still answers the question, read by what it means."""
    slots, _ = await _validate(_tracker(text, requested="parents_work", slots={"child_birth_date": "2024-11-03"}))
    assert slots["parents_work"] == expected


@pytest.mark.parametrize("slot", ["parents_work", "partner_benefit", "support_route"])
async def test_every_button_payload_is_read_as_its_title_says(slot: str) -> None:
    """Each button of each question fills its slot (payloads are what Rasa gets back)."""
    slots_before = {"child_birth_date": "2024-11-03", "parents_work": "one_works"}
    for button in DOMAIN["responses"][f"utter_ask_{slot}"][0]["buttons"]:
        slots, messages = await _validate(_tracker(button["payload"], requested=slot,
                                                   slots={k: v for k, v in slots_before.items() if k != slot}))
        assert slots.get(slot), (slot, button)
        assert messages == [], (slot, button)


@pytest.mark.parametrize(
    "reply, slot, expected",
    [("1", "parents_work", "working"), ("2", "parents_work", "working"), ("3", "parents_work", "one_works"),
     ("4", "parents_work", "not_working"), ("5", "parents_work", "unsure"), ("3", "support_route", "applied"),
     ("2.", "support_route", "disability"), ("3", "partner_benefit", "no_partner")],
)
async def test_a_numbered_reply_is_its_button(reply: str, slot: str, expected: str) -> None:
    """"3" is the third button of the question just asked, even if the SMS channel lost its menu."""
    slots, _ = await _validate(_tracker(reply, requested=slot,
                                        slots={"child_birth_date": "2024-11-03", "parents_work": "one_works"}
                                        if slot != "parents_work" else {"child_birth_date": "2024-11-03"}))
    assert slots[slot] == expected


async def test_one_working_parent_is_asked_about_the_other() -> None:
    """Only one of us works: the follow-up about Carer's Allowance or a disability benefit comes next."""
    slots, _ = await _validate(_tracker("only one of us works", requested="parents_work",
                                        slots={"child_birth_date": "2024-11-03"}))
    assert slots["parents_work"] == "one_works"
    # Every question is now required, in domain order, so Rasa's form itself asks the follow-up next.
    tracker = _tracker("", requested="parents_work", slots={"child_birth_date": "2024-11-03",
                                                            "parents_work": "one_works"})
    required = await ValidateFundingCheckerForm().required_slots(CHECKER_SLOTS, CollectingDispatcher(), tracker,
                                                                 DOMAIN)
    assert required == CHECKER_SLOTS


async def test_both_working_skips_the_follow_up() -> None:
    """The follow-up is asked only when it can change the answer."""
    slots, _ = await _validate(_tracker("we both work", requested="parents_work",
                                        slots={"child_birth_date": "2024-11-03"}))
    assert slots["requested_slot"] == "support_route"


async def test_a_correction_during_the_follow_up_goes_to_the_work_answer() -> None:
    """"Actually we both work" while asked the follow-up corrects the work answer, with no "didn't catch that"."""
    slots, messages = await _validate(_tracker("actually we both work", requested="partner_benefit",
                                               slots={"child_birth_date": "2024-11-03", "parents_work": "one_works"}))
    assert slots["parents_work"] == "working" and messages == []


async def _result_texts(slots: Dict[str, Any]):
    dispatcher = CollectingDispatcher()
    await ActionFundingCheckerResult().run(dispatcher, _tracker("x", active_loop=None, slots=slots), {})
    return [m["text"] for m in dispatcher.messages]


async def test_result_for_one_working_parent_has_no_working_hours() -> None:
    """One parent works, the other gets no carer or disability benefit: the reason, not the offer."""
    texts = await _result_texts({"child_birth_date": "2025-01-20", "parents_work": "one_works",
                                 "partner_benefit": "no", "support_route": "neither"})
    assert not any(t.startswith("Up to 30 free hours") or t.startswith("If each parent") for t in texts)
    assert "usually need both parents in a couple to work" in texts[-1]


async def test_result_for_a_partner_carer_is_conditional() -> None:
    """The exception is said as a condition."""
    texts = await _result_texts({"child_birth_date": "2025-01-20", "parents_work": "one_works",
                                 "partner_benefit": "yes", "support_route": "applied"})
    assert texts[0].startswith("If one of you works and the other gets Carer's Allowance")
    assert texts[1].startswith("If your child is awarded DLA")


async def test_result_without_a_birth_date_for_a_partner_carer() -> None:
    """No date of birth: the conditional sentence still comes, with the age instead of a date."""
    texts = await _result_texts({"child_birth_date": "unknown", "parents_work": "one_works_partner_carer"})
    assert any("you may still get up to 30 free hours a week from the term after your child turns 9 months" in t
               for t in texts)
