"""A Rasa NLU component that is the one place deciding whether a message is a disclosure of harm or risk.

It runs last in the pipeline, after the FallbackClassifier, and asks the safeguarding rule (bot/safeguarding/: a
pattern matches, OR the NLU's blended confidence in ``safeguarding`` reaches the calibrated threshold) about every
message:

- the rule says disclosure: the intent becomes ``safeguarding`` (confidence 1.0), over any other intent and over
  the fallback, and rules send the emergency routes whatever the conversation was doing;
- the rule says no, but the best guess was ``safeguarding``: that guess is replaced by the next intent of the
  ranking, or by ``nlu_fallback`` when that one is too unsure, so a frustrated parent never gets the emergency
  routes. ``safeguarding`` is also taken out of the ranking, so no "did you mean" button offers it.

"Every unsure best guess is a disclosure" (the old behaviour) sent the emergency routes to everyday worries; the
threshold replaces it, chosen on a labelled set the model never trained on.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Protocol

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.safeguarding import safeguarding_rule

SAFEGUARDING_INTENT = "safeguarding"
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_THRESHOLD = 0.3  # the FallbackClassifier's threshold in config.yml
CONFIDENCE_KEY = "safeguarding_confidence"


class DisclosureRule(Protocol):
    """What the component needs from the safeguarding rule (a protocol, so tests can pass a stand-in)."""

    def is_disclosure(self, text: str, confidence: float = 0.0) -> bool:
        ...


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafeguardingOverride(GraphComponent):
    """Sets or removes the ``safeguarding`` intent according to the safeguarding rule."""

    def __init__(self, rule: DisclosureRule, fallback_threshold: float = FALLBACK_THRESHOLD) -> None:
        self._rule = rule
        self._fallback_threshold = fallback_threshold

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """``fallback_threshold`` must match the FallbackClassifier's, so a replaced guess is judged the same way."""
        return {"fallback_threshold": FALLBACK_THRESHOLD}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "SafeguardingOverride":
        """Read the rule when the model loads, so editing its patterns or threshold needs a restart, not a retrain."""
        threshold = float(config.get("fallback_threshold", FALLBACK_THRESHOLD))
        return cls(safeguarding_rule(), fallback_threshold=threshold)

    def process(self, messages: List[Message]) -> List[Message]:
        """Decide each message: a disclosure gets ``safeguarding``; anything else loses it."""
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            confidence = _safeguarding_confidence(message)
            # Kept in the parse result, so the threshold can be calibrated on what the model really says
            # (python -m bot.safeguarding.measure); a number, never the text.
            message.set(CONFIDENCE_KEY, round(confidence, 4), add_to_output=True)
            if text and self._rule.is_disclosure(text, confidence):
                self._force_safeguarding(message)
            else:
                self._remove_safeguarding(message)
        return messages

    @staticmethod
    def _force_safeguarding(message: Message) -> None:
        intent = {INTENT_NAME_KEY: SAFEGUARDING_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [intent, *_others(message)], add_to_output=True)

    def _remove_safeguarding(self, message: Message) -> None:
        ranking = message.get(INTENT_RANKING_KEY) or []
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) == SAFEGUARDING_INTENT:
            message.set(INTENT, self._next_guess(message), add_to_output=True)
        if any(entry.get(INTENT_NAME_KEY) == SAFEGUARDING_INTENT for entry in ranking):
            kept = [entry for entry in ranking if entry.get(INTENT_NAME_KEY) != SAFEGUARDING_INTENT]
            if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == FALLBACK_INTENT and not any(
                entry.get(INTENT_NAME_KEY) == FALLBACK_INTENT for entry in kept
            ):
                kept.insert(0, dict(message.get(INTENT)))
            message.set(INTENT_RANKING_KEY, kept, add_to_output=True)

    def _next_guess(self, message: Message) -> dict:
        """The best other intent if it is sure enough for the fallback threshold, else ``nlu_fallback``."""
        others = _others(message)
        if others and float(others[0].get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= self._fallback_threshold:
            return dict(others[0])
        return {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: self._fallback_threshold}


def _safeguarding_confidence(message: Message) -> float:
    """The NLU's confidence in ``safeguarding`` (0 when it is not in the ranking)."""
    for entry in message.get(INTENT_RANKING_KEY) or []:
        if entry.get(INTENT_NAME_KEY) == SAFEGUARDING_INTENT:
            return float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
    return 0.0


def _others(message: Message) -> List[dict]:
    """The ranking without safeguarding and without the fallback entry the FallbackClassifier puts first."""
    return [
        entry
        for entry in message.get(INTENT_RANKING_KEY) or []
        if entry.get(INTENT_NAME_KEY) not in (SAFEGUARDING_INTENT, FALLBACK_INTENT)
    ]
