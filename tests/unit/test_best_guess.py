"""An unsure answer says which topic it chose; a message that may ask two things offers the other as a button."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswerQuestion, other_readings
from tests.unit.trackers import tracker_after


def _tracker(ranking: List[Dict[str, Any]], text: str = "a question") -> Tracker:
    return tracker_after(text, ranking[0]["name"], ranking[0]["confidence"], ranking=ranking)


def _payloads(dispatcher: CollectingDispatcher) -> List[str]:
    return [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]


async def test_a_sure_answer_has_no_preface_and_no_unlikely_alternative() -> None:
    dispatcher = CollectingDispatcher()
    ranking = [{"name": "funding_universal", "confidence": 0.92}, {"name": "funding_30h", "confidence": 0.05}]
    await ActionAnswerQuestion().run(dispatcher, _tracker(ranking), {})
    assert dispatcher.messages[0].get("response") is None
    assert "15 free hours" in dispatcher.messages[0]["text"]
    assert "/funding_30h" not in _payloads(dispatcher)


async def test_a_best_guess_says_which_topic_it_chose_and_offers_the_runner_up() -> None:
    """ "Here is how the 15 hours work, or did you mean ...": the key fact still comes in the first reply."""
    dispatcher = CollectingDispatcher()
    ranking = [{"name": "funding_universal", "confidence": 0.41}, {"name": "funding_30h", "confidence": 0.33},
               {"name": "safeguarding", "confidence": 0.2}, {"name": "ehc_review", "confidence": 0.02}]
    await ActionAnswerQuestion().run(dispatcher, _tracker(ranking), {})
    first = dispatcher.messages[0]
    assert first["response"] == "utter_best_guess" and first["topic_title"] == "free hours at 3 and 4"
    assert "15 free hours" in dispatcher.messages[1]["text"]
    payloads = _payloads(dispatcher)
    assert "/funding_30h" in payloads
    assert "/safeguarding" not in payloads and "/ehc_review" not in payloads


def test_other_readings_skip_signposts_and_stay_few() -> None:
    ranking = [{"name": "ehc_timescales", "confidence": 0.5}, {"name": "give_feedback", "confidence": 0.3},
               {"name": "ehc_review", "confidence": 0.2}, {"name": "ehc_request", "confidence": 0.18},
               {"name": "ehc_advice", "confidence": 0.16}]
    assert other_readings(ranking, "ehc_timescales") == ["ehc_review", "ehc_request"]
