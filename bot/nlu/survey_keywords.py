"""A Rasa NLU component that reads a survey's keyword, texted on its own ("VOICES", "forum"), as asking for it.

A parent invited by text replies with one word; the classifier has never seen it, and must not need to: keywords
come from ``data/surveys/<id>.yml`` when the model loads, so a new survey needs a restart, not a retrain. A match
sets the ``survey_offer`` intent with the ``survey`` entity, as the survey's button does. It runs before the
safeguarding override, which always has the last word.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.surveys.definitions import load_surveys

SURVEY_OFFER_INTENT = "survey_offer"
SURVEY_ENTITY = "survey"
_KEYWORD = re.compile(r"[a-z]+")


def keyword_of(text: str) -> str:
    """``" Voices! "`` -> ``"voices"``: a keyword typed alone, in any case, with punctuation around it."""
    words = _KEYWORD.findall(text.lower())
    return words[0] if len(words) == 1 else ""


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SurveyKeywords(GraphComponent):
    """Sets ``survey_offer`` (confidence 1.0) and the survey entity for a message that is just a survey keyword."""

    def __init__(self, keywords: Mapping[str, str]) -> None:
        self._keywords = dict(keywords)  # lower-case keyword -> survey id

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "SurveyKeywords":
        """Read the keywords when the model loads."""
        return cls({survey.keyword.lower(): survey.id for survey in load_surveys().values()})

    def process(self, messages: List[Message]) -> List[Message]:
        """Read a lone keyword as asking for its survey."""
        for message in messages:
            survey_id = self._keywords.get(keyword_of(message.get(TEXT) or ""))
            if survey_id:
                intent = {INTENT_NAME_KEY: SURVEY_OFFER_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                ranking = [e for e in message.get(INTENT_RANKING_KEY) or []
                           if e.get(INTENT_NAME_KEY) != SURVEY_OFFER_INTENT]
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
                entity = {ENTITY_ATTRIBUTE_TYPE: SURVEY_ENTITY, ENTITY_ATTRIBUTE_VALUE: survey_id,
                          "start": 0, "end": len(message.get(TEXT) or ""), "extractor": type(self).__name__}
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages
