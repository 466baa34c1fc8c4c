"""Stand-ins for survey definitions: just the attributes the stores and the invitations read.

Duck-typed like ``bot.surveys.definitions.Survey``, so the store and invite tests build small surveys of any shape
without writing YAML, and do not depend on the real surveys' questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Tuple


@dataclass(frozen=True)
class Question:
    """Just what the stores read of a question."""

    id: str
    kind: str


@dataclass(frozen=True)
class Survey:
    """Just what the stores and the invitations read of a survey."""

    id: str
    title: str
    panel: str
    keyword: str
    opens: date
    closes: date
    questions: Tuple[Question, ...]
