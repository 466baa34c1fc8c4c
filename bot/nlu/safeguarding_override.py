"""A Rasa NLU component that forces the ``safeguarding`` intent when a message discloses harm or risk.

It runs last in the pipeline, after the FallbackClassifier, so a disclosure wins over a low-confidence fallback and
over any other intent. Rules then send the emergency routes whatever the conversation was doing.
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
                intent = {INTENT_NAME_KEY: SAFEGUARDING_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != SAFEGUARDING_INTENT]
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        return messages
