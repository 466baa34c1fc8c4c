"""The one safeguarding decision: a pattern matches (the floor), or the NLU is sure enough that it is a disclosure.

The NLU override (bot/nlu/safeguarding_override.py) asks this rule with the NLU's confidence in ``safeguarding``
(DIET's and the meaning classifier's, blended); the survey and checker forms ask it without one (the patterns
alone) on top of the intent the override already set. So a message is a disclosure in one place or none.

Why the NLU's own confidence and not a classifier of its own: the intent model has seen some 3,000 everyday
questions about nursery funding, EHC plans, holiday clubs and feelings about services, so it tells "I'm exhausted,
nobody helps" from "I don't want to be here any more" far better than a small disclosure-or-not model trained on a
few hundred messages (which sent the emergency routes to one plain funding question in twelve on the real-world dev
set). The threshold is calibrated on the labelled set (data/knowledge/safeguarding_examples.yml, which the model
never trains on) by ``python -m bot.safeguarding.measure``, and kept in data/knowledge/safeguarding.yml.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Pattern

import yaml

from bot.safeguarding.patterns import PATTERNS_FILE, DisclosureDetector, normalise

THRESHOLD_KEY = "model_threshold"
JOKING_KEY = "joking"


@dataclass(frozen=True)
class SafeguardingRule:
    """Decides whether a message is a disclosure of harm or risk."""

    detector: DisclosureDetector
    threshold: float  # the NLU's confidence in ``safeguarding`` at or above which a message is a disclosure
    # Marks of a joke ("lol", "haha", 😂): "I'm going to kill him lol" is not a disclosure the model should call.
    # They never cancel a pattern: "i tried to kill myself lol" still gets the routes.
    joking: Optional[Pattern[str]] = None

    @classmethod
    def from_file(cls, path: Path = PATTERNS_FILE) -> "SafeguardingRule":
        """The patterns and the calibrated threshold; a malformed file raises (running without them is not safe)."""
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        threshold = document.get(THRESHOLD_KEY) if isinstance(document, dict) else None
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0.0 < threshold <= 1.0:
            raise ValueError(f"{path} must set {THRESHOLD_KEY} to a number above 0 and at most 1")
        marks = document.get(JOKING_KEY) or []
        if not isinstance(marks, list) or not all(isinstance(mark, str) for mark in marks):
            raise ValueError(f"{path}: {JOKING_KEY} must be a list of patterns")
        joking = re.compile("|".join(f"(?:{mark})" for mark in marks), re.IGNORECASE) if marks else None
        return cls(detector=DisclosureDetector.from_file(path), threshold=float(threshold), joking=joking)

    def is_disclosure(self, text: str, confidence: float = 0.0) -> bool:
        """True when a pattern matches, or the NLU's ``confidence`` in ``safeguarding`` reaches the threshold."""
        if not text or not text.strip():
            return False
        if self.detector.is_disclosure(text):
            return True
        return confidence >= self.threshold and not self.is_joking(text)

    def is_joking(self, text: str) -> bool:
        """True when the message carries a mark of a joke (then the model's confidence alone never counts)."""
        return self.joking is not None and self.joking.search(normalise(text)) is not None


@functools.lru_cache(maxsize=1)
def safeguarding_rule() -> SafeguardingRule:
    """One rule per process, read on first use."""
    return SafeguardingRule.from_file()
