"""The NLU component that is the one place deciding safeguarding: the rule's word wins over DIET's guess. Issue #2."""

from __future__ import annotations

from typing import List, Optional

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.safeguarding_override import SafeguardingOverride
from bot.safeguarding import safeguarding_rule


class _Rule:
    """A stand-in rule: a disclosure is any message containing DISCLOSE, or one the NLU is 0.8 sure of."""

    def is_disclosure(self, text: str, confidence: float = 0.0) -> bool:
        return "DISCLOSE" in text or confidence >= 0.8


OVERRIDE = SafeguardingOverride(_Rule())


def _classified(text: str, intent: str, confidence: float, ranking: Optional[List[dict]] = None) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", ranking or [{"name": intent, "confidence": confidence}])
    return message


def _intent(message: Message) -> str:
    return message.get("intent")["name"]


def _ranking(message: Message) -> List[str]:
    return [r["name"] for r in message.get("intent_ranking")]


def test_a_disclosure_overrides_a_confident_other_intent() -> None:
    """The rule wins even when the model is sure of something else."""
    [message] = OVERRIDE.process([_classified("DISCLOSE, can i still go to the holiday club", "haf_eligibility", 0.97)])
    assert _intent(message) == "safeguarding"
    assert message.get("intent")["confidence"] == 1.0
    assert _ranking(message) == ["safeguarding", "haf_eligibility"]


def test_a_disclosure_overrides_the_fallback() -> None:
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "give_feedback", "confidence": 0.3}]
    [message] = OVERRIDE.process([_classified("DISCLOSE", "nlu_fallback", 0.4, ranking)])
    assert _intent(message) == "safeguarding"
    assert _ranking(message) == ["safeguarding", "give_feedback"]


def test_a_confident_safeguarding_guess_the_rule_rejects_becomes_the_next_intent() -> None:
    """A frustrated parent DIET mistook for a disclosure gets the answer to their question, not the emergency routes."""
    ranking = [{"name": "safeguarding", "confidence": 0.5}, {"name": "ehc_assessment", "confidence": 0.45},
               {"name": "give_feedback", "confidence": 0.05}]
    [message] = OVERRIDE.process([_classified("the council refused the assessment, im furious", "safeguarding", 0.5,
                                              ranking)])
    assert _intent(message) == "ehc_assessment"
    assert _ranking(message) == ["ehc_assessment", "give_feedback"]


def test_a_rejected_safeguarding_guess_with_a_weak_runner_up_becomes_the_fallback() -> None:
    """When the next intent is too unsure, the fallback asks the person to rephrase, as it would have."""
    ranking = [{"name": "safeguarding", "confidence": 0.7}, {"name": "funding_2yo", "confidence": 0.2}]
    [message] = OVERRIDE.process([_classified("this form is killing me", "safeguarding", 0.7, ranking)])
    assert _intent(message) == "nlu_fallback"
    assert _ranking(message) == ["nlu_fallback", "funding_2yo"]


def test_a_fallback_that_hid_a_safeguarding_guess_stays_a_fallback() -> None:
    """The old "unsure, but the best guess was a disclosure" trigger is gone: the rule alone decides."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "safeguarding", "confidence": 0.33},
               {"name": "give_feedback", "confidence": 0.3}]
    [message] = OVERRIDE.process([_classified("everything is a fight with this council", "nlu_fallback", 0.4, ranking)])
    assert _intent(message) == "nlu_fallback"
    assert _ranking(message) == ["nlu_fallback", "give_feedback"]


@pytest.mark.parametrize(
    "intent, ranking",
    [
        pytest.param("funding_2yo", None, id="confident-other"),
        pytest.param("nlu_fallback", [{"name": "nlu_fallback", "confidence": 0.4},
                                      {"name": "funding_30h", "confidence": 0.3}], id="fallback-other-top"),
    ],
)
def test_other_messages_keep_their_intent(intent: str, ranking) -> None:
    """No false alarms from the component itself."""
    [message] = OVERRIDE.process([_classified("it's not fair", intent, 0.9 if ranking is None else 0.4, ranking)])
    assert _intent(message) == intent


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my stepdad hits me, can i still go to the holiday club", "safeguarding"),
        ("the EHC process is killing me with stress lol", "ehc_assessment"),
        ("my son hits his head when he's upset, is there anyone who can help", "ehc_assessment"),
    ],
)
def test_with_the_real_rule(text: str, expected: str) -> None:
    """With the calibrated rule: a disclosure is forced; a SEND worry the NLU half-thought a disclosure is not."""
    rule = safeguarding_rule()
    unsure = round(rule.threshold - 0.05, 2)
    override = SafeguardingOverride(rule)
    ranking = [{"name": "safeguarding", "confidence": unsure}, {"name": "ehc_assessment", "confidence": 0.41}]
    [message] = override.process([_classified(text, "safeguarding", unsure, ranking)])
    assert _intent(message) == expected
    assert message.get("safeguarding_confidence") == unsure


def test_a_confident_nlu_makes_a_disclosure_without_a_pattern() -> None:
    """Wording no pattern foresees, which the NLU is sure enough is a disclosure, gets the routes."""
    ranking = [{"name": "give_feedback", "confidence": 0.1}, {"name": "safeguarding", "confidence": 0.85}]
    [message] = OVERRIDE.process([_classified("nobody would notice if i was gone", "give_feedback", 0.1, ranking)])
    assert _intent(message) == "safeguarding" and message.get("safeguarding_confidence") == 0.85
