"""The labelled messages the safeguarding rule is calibrated and measured on.

Why a module: the measurement script and the tests read the same YAML, and a malformed entry must stop them all
the same way rather than silently shrink the set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import yaml

EXAMPLES_FILE = Path(__file__).resolve().parents[2] / "data" / "knowledge" / "safeguarding_examples.yml"
HELDOUT_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "safeguarding_heldout.yml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader: ten times faster at start-up
DISCLOSURE_KINDS = frozenset(
    {"self_harm", "suicide", "abuse", "neglect", "bullying_harm", "unsafe_home", "sexual_exploitation",
     "domestic_violence"}
)
EVERYDAY_KINDS = frozenset(
    {"care_needs", "money", "frustration", "school_treatment", "health", "tired_parent", "figurative", "news",
     "third_person_past"}
)


@dataclass(frozen=True)
class LabelledMessage:
    """One message, whether it is a disclosure, what kind of message it is, and the page its wording came from."""

    text: str
    disclosure: bool
    kind: str
    source: str


def load_examples(path: Path = EXAMPLES_FILE) -> List[LabelledMessage]:
    """Read ``examples:`` from a labelled file; an entry with a wrong field or a kind on the wrong side raises."""
    with path.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_LOADER)
    entries = document.get("examples") if isinstance(document, dict) else None
    if not entries:
        raise ValueError(f"{path} must hold a non-empty list of examples")
    messages = []
    for number, entry in enumerate(entries, 1):
        message = LabelledMessage(
            text=str(entry["text"]), disclosure=bool(entry["disclosure"]), kind=str(entry["kind"]),
            source=str(entry["source"]),
        )
        allowed = DISCLOSURE_KINDS if message.disclosure else EVERYDAY_KINDS
        if message.kind not in allowed or not message.text.strip():
            raise ValueError(f"{path}: example {number} has kind {message.kind!r} for disclosure={message.disclosure}")
        messages.append(message)
    return messages


def texts_and_labels(messages: Sequence[LabelledMessage]) -> Tuple[List[str], List[int]]:
    """The two parallel lists scikit-learn wants (1 = disclosure)."""
    return [m.text for m in messages], [int(m.disclosure) for m in messages]
