"""The assistant's knowledge: facts and the answers that quote them, loaded from ``data/knowledge``.

Figures change every April and September. Keeping them as data means a council officer edits one YAML line and
every answer that quotes the figure changes with it, with no Python touched and no retraining. Loading checks
every answer against the facts, so a typo in a placeholder stops start-up instead of reaching a family.

Answers are rendered in one place for every channel: facts and any per-family values (a computed date) are filled
in, and the first use of each jargon term in an answer is followed by its plain meaning from ``glossary.yml``
("EHC plan (Education, Health and Care plan)"), so no answer assumes the family knows the acronym.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Tuple

import yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "data" / "knowledge"
FACTS_FILE = "facts.yml"
ANSWERS_FILE = "answers.yml"
GLOSSARY_FILE = "glossary.yml"


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
    variables: Mapping[str, FrozenSet[str]]  # topic -> names the caller must supply (e.g. a computed date)
    follow_ups: Mapping[str, Tuple[str, ...]]  # topic -> topics offered as buttons after its answer
    glossary: Mapping[str, str] = field(default_factory=dict)  # jargon term -> plain meaning

    @property
    def topics(self) -> List[str]:
        """Every topic the assistant has an answer for."""
        return sorted(self.templates)

    def answer(self, topic: str, **values: str) -> List[str]:
        """The messages that answer ``topic``, with facts and ``values`` filled in and jargon explained once.

        Args:
            topic: the answer's name in answers.yml.
            **values: the answer's declared ``variables`` (e.g. ``start="1 January 2027"``).

        Raises:
            KeyError: no answer is written for ``topic``, or a declared variable was not given.
        """
        missing = self.variables.get(topic, frozenset()) - values.keys()
        if missing:
            raise KeyError(f"answer {topic!r} needs {', '.join(sorted(missing))}")
        filled = {**{name: fact.value for name, fact in self.facts.items()}, **values}
        return explain_jargon([template.format_map(filled) for template in self.templates[topic]], self.glossary)


    def buttons(self, topic: str) -> List[Dict[str, str]]:
        """The follow-up topics offered after ``topic``'s answer, as Rasa buttons (title, ``/topic`` payload)."""
        return [{"title": self.titles[t], "payload": f"/{t}"} for t in self.follow_ups.get(topic, ())]


def explain_jargon(messages: List[str], glossary: Mapping[str, str]) -> List[str]:
    """Follow the first use of each glossary term in ``messages`` with its meaning in brackets.

    A term already followed by a bracket is taken as explained. Later uses stay short.
    """
    messages = list(messages)
    for term, meaning in glossary.items():
        pattern = re.compile(rf"\b{re.escape(term)}\b(?! ?\()")
        for index, message in enumerate(messages):
            explained = re.search(rf"\b{re.escape(term)} ?\(", message)
            match = pattern.search(message)
            if explained and (not match or explained.start() < match.start()):
                break  # the writer explained it by hand at its first use
            if match:
                messages[index] = f"{message[:match.end()]} ({meaning}){message[match.end():]}"
                break
    return messages


def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    """Load and cross-check ``facts.yml``, ``answers.yml`` and ``glossary.yml``.

    Raises:
        KnowledgeError: a file is missing or malformed, or an answer uses a name that is neither a fact nor one of
            its declared variables.
    """
    facts = _load_facts(_read_yaml(directory / FACTS_FILE, "facts"))
    templates, titles, variables, follow_ups = _load_answers(_read_yaml(directory / ANSWERS_FILE, "answers"))
    glossary_file = directory / GLOSSARY_FILE
    glossary = _load_glossary(_read_yaml(glossary_file, "glossary")) if glossary_file.exists() else {}
    for topic, messages in templates.items():
        for message in messages:
            unknown = _placeholders(message) - facts.keys() - variables[topic]
            if unknown:
                raise KnowledgeError(f"answer {topic!r} uses unknown fact(s): {', '.join(sorted(unknown))}")
    for topic, offered in follow_ups.items():
        if set(offered) - templates.keys():
            raise KnowledgeError(f"answer {topic!r} offers unknown topic(s): {sorted(set(offered) - templates.keys())}")
    return Knowledge(facts=facts, templates=templates, titles=titles, variables=variables, follow_ups=follow_ups,
                     glossary=glossary)


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


def _load_answers(
    raw: dict,
) -> Tuple[Dict[str, Tuple[str, ...]], Dict[str, str], Dict[str, FrozenSet[str]], Dict[str, Tuple[str, ...]]]:
    templates, titles, variables, follow_ups = {}, {}, {}, {}
    for topic, entry in raw.items():
        if not isinstance(entry, dict):
            raise KnowledgeError(f"answer {topic!r} must be a mapping with a title and messages")
        messages, title = entry.get("messages"), entry.get("title")
        if not isinstance(title, str) or not title.strip():
            raise KnowledgeError(f"answer {topic!r} needs a title")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, str) for m in messages):
            raise KnowledgeError(f"answer {topic!r} needs a non-empty list of messages")
        declared = entry.get("variables") or []
        if not isinstance(declared, list) or not all(isinstance(v, str) for v in declared):
            raise KnowledgeError(f"answer {topic!r}: variables must be a list of names")
        offered = entry.get("buttons") or []
        if not isinstance(offered, list) or not all(isinstance(t, str) for t in offered):
            raise KnowledgeError(f"answer {topic!r}: buttons must be a list of topic names")
        templates[topic] = tuple(" ".join(m.split()) for m in messages)
        titles[topic] = title.strip()
        variables[topic] = frozenset(declared)
        follow_ups[topic] = tuple(offered)
    return templates, titles, variables, follow_ups


def _load_glossary(raw: dict) -> Dict[str, str]:
    if not all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in raw.items()):
        raise KnowledgeError("glossary entries must map a term to its plain meaning")
    return {term: meaning.strip() for term, meaning in raw.items()}


def _placeholders(template: str) -> set:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}
