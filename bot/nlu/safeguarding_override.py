"""A Rasa NLU component that forces the ``safeguarding`` intent when a message discloses harm or risk.

It runs last in the pipeline, after the FallbackClassifier, so a disclosure wins over a low-confidence fallback and
over any other intent. It also rescues a disclosure the fallback would hide: when the classifier's best guess was
``safeguarding`` but below the fallback threshold. Rules then send the emergency routes whatever the conversation
was doing.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

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

from bot.safeguarding import DisclosureDetector

SAFEGUARDING_INTENT = "safeguarding"
FALLBACK_INTENT = "nlu_fallback"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafeguardingOverride(GraphComponent):
    """Sets the intent to ``safeguarding`` (confidence 1.0) for messages matching a disclosure pattern."""

    def __init__(self, detector: DisclosureDetector) -> None:
        self._detector = detector

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "SafeguardingOverride":
        """Load the patterns when the model loads, so editing them needs a restart, not a retrain."""
        return cls(DisclosureDetector.from_file())

    def process(self, messages: List[Message]) -> List[Message]:
        """Override the intent of each disclosing message."""
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if text and self._detector.is_disclosure(text):
                self._force_safeguarding(message, confidence=1.0)
            elif self._fallback_hid_safeguarding(message):
                # Missing a disclosure costs far more than a gentle false alarm: when the classifier's best guess
                # was a disclosure but too unsure for the fallback threshold, answer it as one anyway.
                self._force_safeguarding(message, confidence=_top_classified(message)[PREDICTED_CONFIDENCE_KEY])
        return messages

    @staticmethod
    def _fallback_hid_safeguarding(message: Message) -> bool:
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != FALLBACK_INTENT:
            return False
        return _top_classified(message).get(INTENT_NAME_KEY) == SAFEGUARDING_INTENT

    @staticmethod
    def _force_safeguarding(message: Message, confidence: float) -> None:
        intent = {INTENT_NAME_KEY: SAFEGUARDING_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
        ranking = [
            entry
            for entry in message.get(INTENT_RANKING_KEY) or []
            if entry.get(INTENT_NAME_KEY) not in (SAFEGUARDING_INTENT, FALLBACK_INTENT)
        ]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)


def _top_classified(message: Message) -> dict:
    """The classifier's own best guess, skipping the fallback entry the FallbackClassifier puts first."""
    for entry in message.get(INTENT_RANKING_KEY) or []:
        if entry.get(INTENT_NAME_KEY) != FALLBACK_INTENT:
            return entry
    return {}
