"""Is a piece of feedback a complaint, praise, or neither? Read from the patterns in ``data/knowledge/feedback_tone.yml``.

Families vent in passing ("nobody ever gets back to us", "I've chased them 5 times") and praise in passing ("this
service has been a lifesaver"). Both get thanks and the survey; a complaint also gets the SEND team's number and the
complaint route, so the family can act on it. The words live in data, so the service owner can add the phrases
families really use without touching Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Iterable, Tuple

import yaml

TONE_FILE = Path(__file__).resolve().parent.parent / "data" / "knowledge" / "feedback_tone.yml"
_CURLY_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


class Tone(str, Enum):
    """How a piece of feedback reads."""

    COMPLAINT = "complaint"
    PRAISE = "praise"
    NEUTRAL = "neutral"


class FeedbackToneError(ValueError):
    """The tone file is missing, malformed, or holds a pattern that is not a valid regular expression."""


@dataclass(frozen=True)
class ToneReader:
    """The complaint and praise patterns, compiled."""

    complaint: Tuple[re.Pattern, ...]
    praise: Tuple[re.Pattern, ...]

    @classmethod
    def from_file(cls, path: Path = TONE_FILE) -> "ToneReader":
        """Load ``feedback_tone.yml``.

        Raises:
            FeedbackToneError: the file cannot be read, a list is missing or empty, or a pattern does not compile.
        """
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise FeedbackToneError(f"cannot read {path}: {error}") from error
        if not isinstance(document, dict):
            raise FeedbackToneError(f"{path} must map 'complaint' and 'praise' to lists of patterns")
        return cls(complaint=_compile(document.get("complaint"), "complaint"),
                   praise=_compile(document.get("praise"), "praise"))

    def tone(self, text: str) -> Tone:
        """A complaint if any complaint pattern matches (even alongside praise), else praise, else neutral."""
        text = (text or "").translate(_CURLY_APOSTROPHES)
        if any(p.search(text) for p in self.complaint):
            return Tone.COMPLAINT
        if any(p.search(text) for p in self.praise):
            return Tone.PRAISE
        return Tone.NEUTRAL


def _compile(patterns: Iterable, name: str) -> Tuple[re.Pattern, ...]:
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p.strip() for p in patterns):
        raise FeedbackToneError(f"{name!r} must be a non-empty list of patterns")
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(rf"\b(?:{pattern.strip()})\b", re.I))
        except re.error as error:
            raise FeedbackToneError(f"{name} pattern {pattern!r} is not valid: {error}") from error
    return tuple(compiled)
