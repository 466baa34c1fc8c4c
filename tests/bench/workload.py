"""The conversations `make bench` plays (``tests/bench/workload.yml``): real questions, the checker, a survey.

Why real paths: a bench of one button payload measures neither the NLU on long real messages nor the custom
actions a form calls each turn, nor a tracker that grows over a survey; these are what a burst of parents costs.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple

import yaml

from bot.stack import PROJECT_DIR

WORKLOAD_FILE = Path(__file__).with_name("workload.yml")
QUESTIONS = "questions"


@dataclass(frozen=True)
class Workload:
    """What the simulated senders say: question texts and the scripted conversations, and their order."""

    questions: Tuple[str, ...]
    per_conversation: int
    scripts: Dict[str, Tuple[str, ...]]
    order: Tuple[str, ...]

    def conversations(self) -> Iterator[Tuple[str, Tuple[str, ...]]]:
        """Endless (kind, messages) in the workload's order; question conversations take the next questions."""
        questions = itertools.cycle(self.questions)
        for kind in itertools.cycle(self.order):
            if kind == QUESTIONS:
                yield kind, tuple(itertools.islice(questions, self.per_conversation))
            else:
                yield kind, self.scripts[kind]

    def long_talk(self, turns: int, cycle: int) -> List[str]:
        """One conversation of ``turns`` questions, as a parent who keeps asking: the first ``cycle`` questions
        again and again, so any ``cycle`` turns in a row hold the same messages and their latencies compare."""
        return list(itertools.islice(itertools.cycle(self.questions[:cycle]), turns))


def load_workload(path: Path = WORKLOAD_FILE) -> Workload:
    """Read ``workload.yml`` and its question file."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    asked = spec[QUESTIONS]
    leave_out = set(asked.get("leave_out_topics") or ())
    rows = [json.loads(line) for line in (PROJECT_DIR / asked["file"]).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    questions = tuple(row["text"] for row in rows if row.get("topic") not in leave_out)
    scripts = {name: tuple(str(text) for text in texts) for name, texts in spec["conversations"].items()}
    order: Sequence[str] = spec["order"]
    unknown = [kind for kind in order if kind != QUESTIONS and kind not in scripts]
    if unknown or not questions:
        raise ValueError(f"{path}: unknown conversations in order {unknown}, or no questions")
    return Workload(questions=questions, per_conversation=int(asked["per_conversation"]), scripts=scripts,
                    order=tuple(order))
