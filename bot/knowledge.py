"""The assistant's knowledge: facts and the answers that quote them, loaded from ``data/knowledge``.

Figures change every April and September. Keeping them as data means a council officer edits one YAML line and
every answer that quotes the figure changes with it, with no Python touched and no retraining. Loading checks
every answer against the facts, so a typo in a placeholder stops start-up instead of reaching a family.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

import yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "data" / "knowledge"
FACTS_FILE = "facts.yml"
ANSWERS_FILE = "answers.yml"


class KnowledgeError(ValueError):
    """The knowledge files are malformed, or an answer names a fact that does not exist."""


@dataclass(frozen=True)
class Fact:
    """One statement we may make, with where it came from."""

    value: str  # what the assistant says, e.g. "0800 1111"
    source: str  # the public page it was read from
    check: bool = False  # True while the service owner has still to confirm it


@dataclass(frozen=True)
class Knowledge:
    """Facts and answer templates, checked against each other."""

    facts: Mapping[str, Fact]
    templates: Mapping[str, Tuple[str, ...]]  # topic -> message templates, in the order they are sent
    titles: Mapping[str, str]  # topic -> short name for a button or a numbered SMS menu

    @property
    def topics(self) -> List[str]:
        """Every topic the assistant has an answer for."""
        return sorted(self.templates)

    def answer(self, topic: str) -> List[str]:
        """The messages that answer ``topic``, with facts filled in.

        Raises:
            KeyError: no answer is written for ``topic``.
        """
        values = {name: fact.value for name, fact in self.facts.items()}
        return [template.format_map(values) for template in self.templates[topic]]


def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    """Load and cross-check ``facts.yml`` and ``answers.yml``.

    Raises:
        KnowledgeError: a file is missing or malformed, or an answer uses an unknown fact.
    """
    facts = _load_facts(_read_yaml(directory / FACTS_FILE, "facts"))
    templates, titles = _load_answers(_read_yaml(directory / ANSWERS_FILE, "answers"))
    for topic, messages in templates.items():
        for message in messages:
            unknown = _placeholders(message) - facts.keys()
            if unknown:
                raise KnowledgeError(f"answer {topic!r} uses unknown fact(s): {', '.join(sorted(unknown))}")
    return Knowledge(facts=facts, templates=templates, titles=titles)


def _read_yaml(path: Path, top_key: str) -> dict:
    try:
        with path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise KnowledgeError(f"cannot read {path}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get(top_key), dict):
        raise KnowledgeError(f"{path} must have a top-level {top_key!r} mapping")
    return document[top_key]


def _load_facts(raw: dict) -> Dict[str, Fact]:
    facts = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or "value" not in entry or not entry.get("source"):
            raise KnowledgeError(f"fact {name!r} needs a value and a source")
        facts[name] = Fact(value=str(entry["value"]), source=str(entry["source"]), check=bool(entry.get("check")))
    return facts


def _load_answers(raw: dict) -> Tuple[Dict[str, Tuple[str, ...]], Dict[str, str]]:
    templates, titles = {}, {}
    for topic, entry in raw.items():
        messages = entry.get("messages") if isinstance(entry, dict) else None
        title = entry.get("title") if isinstance(entry, dict) else None
        if not isinstance(title, str) or not title.strip():
            raise KnowledgeError(f"answer {topic!r} needs a title")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, str) for m in messages):
            raise KnowledgeError(f"answer {topic!r} needs a non-empty list of messages")
        templates[topic] = tuple(" ".join(m.split()) for m in messages)
        titles[topic] = title.strip()
    return templates, titles


def _placeholders(template: str) -> set:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}
