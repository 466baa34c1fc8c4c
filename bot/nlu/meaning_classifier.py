"""A second opinion on the intent, from what a message means rather than the words it uses; blended with DIET's.

DIET learns from the words of our examples, so a real message that says the same in other words ("we're both on
the payroll, can DS have the thirty", three sentences of background first) lands on a neighbouring topic or on the
fallback. This component embeds every training example with a sentence encoder (``bot.nlu.sentence_encoder``),
fits a logistic regression on the embeddings, and at run time blends its probabilities with DIET's ranking:

    p(intent) = (1 - weight) * p_DIET(intent) + weight * p_meaning(intent)

The blended ranking replaces DIET's, so the FallbackClassifier after it decides on the blend. ``weight`` and
``regularisation`` were chosen on the real-world dev set with ``tests/eval/offline.py`` (README, "Answer quality");
reading a long message sentence by sentence as well (its surest sentence beside the whole) was tried there and
added nothing, so the whole message is read.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.sentence_encoder import SentenceEncoder

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "meaning_classifier.npz"


@lru_cache(maxsize=2)
def encoder(directory: Optional[str] = None) -> SentenceEncoder:
    """One encoder per process, loaded on first use (training and the server share it)."""
    return SentenceEncoder.load(Path(directory) if directory else None)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def blend(ranking: Sequence[Dict[str, Any]], meaning: Dict[str, float], weight: float) -> List[Dict[str, Any]]:
    """DIET's ranking and the meaning probabilities mixed, likeliest first (intents missing from one count as 0)."""
    diet = {entry[INTENT_NAME_KEY]: float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0) for entry in ranking
            if entry.get(INTENT_NAME_KEY)}
    names = set(diet) | set(meaning)
    mixed = {name: (1.0 - weight) * diet.get(name, 0.0) + weight * meaning.get(name, 0.0) for name in names}
    return [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
            for name, confidence in sorted(mixed.items(), key=lambda item: -item[1])]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class MeaningClassifier(GraphComponent):
    """Blends a sentence-embedding classifier's intent probabilities into DIET's ranking."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "weight": 0.7,  # the meaning model's share of the blend
            "regularisation": 16.0,  # logistic regression's C: higher fits the examples more closely
            "encoder_dir": None,  # default: bot.nlu.sentence_encoder.default_dir()
        }

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 classes: Sequence[str] = (), coef: Optional[np.ndarray] = None,
                 intercept: Optional[np.ndarray] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.classes = list(classes)
        self.coef = coef
        self.intercept = intercept

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "MeaningClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Embed every intent example and fit the regression; the weights go into the model archive."""
        from sklearn.linear_model import LogisticRegression  # only needed at training time

        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            logger.warning("meaning classifier: fewer than two intents to learn; it will not vote")
            return self._resource
        vectors = encoder(self.config["encoder_dir"]).encode([m.get(TEXT) for m in examples])
        labels = [m.get(INTENT) for m in examples]
        model = LogisticRegression(C=self.config["regularisation"], max_iter=2000, class_weight="balanced")
        model.fit(vectors, labels)
        self.classes, self.coef, self.intercept = list(model.classes_), model.coef_, model.intercept_
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, classes=np.array(self.classes), coef=self.coef,
                     intercept=self.intercept)
        return self._resource

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "MeaningClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                saved = np.load(directory / WEIGHTS_FILE)
                loaded = cls(config, model_storage, resource, [str(c) for c in saved["classes"]], saved["coef"],
                             saved["intercept"])
        except (ValueError, FileNotFoundError):
            logger.warning("meaning classifier: no trained weights in the model; it will not vote")
            return cls(config, model_storage, resource)
        # Now, not at the first message: a missing encoder stops the server at start with one clear sentence.
        encoder(loaded.config["encoder_dir"])
        return loaded

    def probabilities(self, text: str) -> Dict[str, float]:
        """The meaning model's intent probabilities for ``text``."""
        assert self.coef is not None and self.intercept is not None
        vector = encoder(self.config["encoder_dir"]).encode([text])
        return {name: float(p) for name, p in zip(self.classes, softmax(vector @ self.coef.T + self.intercept)[0])}

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace the intent and ranking with the blend (messages without text, or no trained model: untouched)."""
        if self.coef is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not text or not message.get(INTENT_RANKING_KEY):
                continue
            ranking = blend(message.get(INTENT_RANKING_KEY), self.probabilities(text), self.config["weight"])
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[:10], add_to_output=True)
        return messages
