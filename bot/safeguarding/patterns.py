"""Spotting a disclosure of harm or risk in a message, from patterns kept in ``data/knowledge/safeguarding.yml``.

This is deliberately simple and predictable: a fixed list of phrases that, once seen, always get the emergency
routes. It is the floor of the safeguarding rule (bot/safeguarding/rule.py), under its classifier, so that a clear
disclosure never depends on a model's score. Pure Python, so it is tested without a Rasa server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Pattern

import yaml

PATTERNS_FILE = Path(__file__).resolve().parents[2] / "data" / "knowledge" / "safeguarding.yml"
_APOSTROPHES = re.compile(r"['’‘`´]")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case, drop apostrophes and collapse spaces, so "I’m", "Im" and "i'm" read alike."""
    return _SPACES.sub(" ", _APOSTROPHES.sub("", text.lower())).strip()


@dataclass(frozen=True)
class DisclosureDetector:
    """Matches messages against the disclosure patterns."""

    pattern: Pattern[str]

    @classmethod
    def from_patterns(cls, patterns: Iterable[str]) -> "DisclosureDetector":
        """Join the patterns into one case-insensitive expression."""
        joined = "|".join(f"(?:{p})" for p in patterns)
        return cls(pattern=re.compile(joined, re.IGNORECASE))

    @classmethod
    def from_file(cls, path: Path = PATTERNS_FILE) -> "DisclosureDetector":
        """Load the patterns file; a malformed file raises, because running without the floor is not safe."""
        with path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        patterns = document.get("patterns") if isinstance(document, dict) else None
        if not patterns or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"{path} must hold a non-empty list of patterns")
        return cls.from_patterns(patterns)

    def is_disclosure(self, text: str) -> bool:
        """True when the message matches any disclosure pattern."""
        return bool(self.pattern.search(normalise(text)))
