"""The checker reads families' answers by meaning: every answer in tests/data/checker_answers.yml is read right.

The table holds plain answers in families' own wording (negation, the past, hoping, one parent of two, leave,
self-employment, zero hours, carers) with the reading each must get. A wrong reading is a wrong entitlement, so a
failing row is a bug in bot/checker_answers.py or a phrase missing from data/checker/answer_words.yml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from bot.checker_answers import (
    PARTNER_READINGS,
    ROUTE_READINGS,
    WORK_READINGS,
    is_unsure,
    parse_partner_benefit,
    parse_support_route,
    parse_work_answer,
)

TABLE = Path(__file__).resolve().parents[1] / "data" / "checker_answers.yml"
CASES = yaml.safe_load(TABLE.read_text(encoding="utf-8"))["cases"]
READERS = {"work": parse_work_answer, "partner": parse_partner_benefit, "route": parse_support_route}
READINGS = {"work": WORK_READINGS, "partner": PARTNER_READINGS, "route": ROUTE_READINGS}


def _id(case: Dict[str, Any]) -> str:
    return f"{case['question']}:{case['text'][:40]}{'' if case.get('asked', True) else ':unasked'}"


def test_the_table_is_large_and_well_formed() -> None:
    """At least 140 answers, each naming a question and a reading that exists."""
    assert len(CASES) >= 140
    for case in CASES:
        assert case["question"] in READERS, case
        assert case["expected"] is None or case["expected"] in READINGS[case["question"]], case


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_every_answer_is_read_right(case: Dict[str, Any]) -> None:
    """Each family answer gets the reading its meaning gives, not the one its words suggest."""
    read = READERS[case["question"]]
    assert read(case["text"], asked=case.get("asked", True)) == case["expected"]


def test_every_reading_is_in_the_table() -> None:
    """No reading is left untested."""
    for question, readings in READINGS.items():
        seen = {c["expected"] for c in CASES if c["question"] == question}
        assert set(readings) <= seen, (question, set(readings) - seen)


@pytest.mark.parametrize("text", ["not sure", "dunno", "I don't know", "skip", "no idea"])
def test_skipping_words(text: str) -> None:
    """The same "not sure" skips every question, including the date of birth."""
    assert is_unsure(text)


def test_a_date_is_not_unsure() -> None:
    """A date of birth is an answer, not a skip."""
    assert not is_unsure("3/11/24")
