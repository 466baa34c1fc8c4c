"""What the measurement scripts share: the question sets, and a trained model's reading of each question.

``bot.safeguarding.measure`` and ``tests/eval/offline.py`` both parse a few hundred messages with a trained model
and look at the intent ranking; the dev set is one JSON object per line (``text``, ``topic``, ``source``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Sequence

FALLBACK_INTENT = "nlu_fallback"


def load_questions(*paths: Path) -> List[Dict[str, Any]]:
    """The questions of one or more JSONL files, in order."""
    rows: List[Dict[str, Any]] = []
    for path in paths:
        rows += [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def load_agent(model: str) -> Any:
    """A trained model, loaded once (TensorFlow: tens of seconds)."""
    from rasa.core.agent import Agent

    return Agent.load(model)


def uses_component(agent: Any, class_name: str) -> bool:
    """True when the model's prediction graph runs a component of that class."""
    nodes = agent.processor.model_metadata.predict_schema.nodes.values()
    return any(node.uses.__name__ == class_name for node in nodes)


async def parse_all(agent: Any, texts: Sequence[str]) -> List[Dict[str, Any]]:
    """Each text as the model's parse gives it (intent, ranking, and what components add)."""
    return [await agent.parse_message(text) for text in texts]


def classified(parsed: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The intent ranking without the entry the FallbackClassifier puts first."""
    return [entry for entry in parsed.get("intent_ranking") or [] if entry.get("name") != FALLBACK_INTENT]
