"""The NLU component that puts safeguarding above every other intent. Issue #2."""

from __future__ import annotations

from typing import List, Optional

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.safeguarding_override import SafeguardingOverride
from bot.safeguarding import DisclosureDetector

OVERRIDE = SafeguardingOverride(DisclosureDetector.from_file())


def _classified(text: str, intent: str, confidence: float, ranking: Optional[List[dict]] = None) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", ranking or [{"name": intent, "confidence": confidence}])
    return message


def _intent(message: Message) -> str:
    return message.get("intent")["name"]


def test_a_disclosure_overrides_a_confident_other_intent() -> None:
    """The patterns win even when the model is sure of something else."""
    [message] = OVERRIDE.process([_classified("my stepdad hits me, can i still go to the holiday club", "haf_eligibility", 0.97)])
    assert _intent(message) == "safeguarding"
    assert message.get("intent_ranking")[0]["name"] == "safeguarding"


def test_a_fallback_that_hid_a_likely_disclosure_is_answered_as_one() -> None:
    """Unsure, but the best guess was a disclosure: answer with the emergency routes rather than "rephrase"."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "safeguarding", "confidence": 0.33},
               {"name": "give_feedback", "confidence": 0.3}]
    [message] = OVERRIDE.process([_classified("everything is too much at home", "nlu_fallback", 0.4, ranking)])
    assert _intent(message) == "safeguarding"
    assert [r["name"] for r in message.get("intent_ranking")] == ["safeguarding", "give_feedback"]


@pytest.mark.parametrize(
    "intent, ranking",
    [
        pytest.param("funding_2yo", None, id="confident-other"),
        pytest.param("nlu_fallback", [{"name": "nlu_fallback", "confidence": 0.4},
                                      {"name": "funding_30h", "confidence": 0.3},
                                      {"name": "safeguarding", "confidence": 0.2}], id="fallback-other-top"),
    ],
)
def test_other_messages_keep_their_intent(intent: str, ranking) -> None:
    """No false alarms from the component itself."""
    [message] = OVERRIDE.process([_classified("it's not fair", intent, 0.9 if ranking is None else 0.4, ranking)])
    assert _intent(message) == intent
