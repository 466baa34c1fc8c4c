"""The bench's own arithmetic and workload (tests/bench): wrong figures would send the speed work the wrong way."""

from __future__ import annotations

import itertools

from tests.bench.driver import Outcome, window_median
from tests.bench.workload import QUESTIONS, load_workload


def test_the_workload_plays_every_conversation_in_order_with_fresh_questions() -> None:
    workload = load_workload()
    played = list(itertools.islice(workload.conversations(), 2 * len(workload.order)))
    assert [kind for kind, _ in played] == list(workload.order) * 2
    asked = [texts for kind, texts in played if kind == QUESTIONS]
    assert all(len(texts) == workload.per_conversation for texts in asked)
    assert len({text for texts in asked for text in texts}) == sum(len(texts) for texts in asked)


def test_the_workload_leaves_out_disclosures_and_feedback() -> None:
    workload = load_workload()
    assert "my stepdad hits me" not in " ".join(workload.questions).lower()
    assert len(workload.questions) > 150  # the real-world dev set, less its disclosures and feedback


def test_the_long_talks_windows_hold_the_same_messages() -> None:
    """Turn 10 and turn 300 are compared on the same ten messages, so only the conversation's length differs."""
    texts = load_workload().long_talk(300, 10)
    assert sorted(texts[5:15]) == sorted(texts[290:300])
    assert len(set(texts[290:300])) == 10


def test_window_median_skips_failed_turns() -> None:
    latencies = [float(turn) for turn in range(1, 21)]
    latencies[19] = float("nan")
    assert window_median([latencies], 20, 5) == 17.5  # turns 16-19; turn 20 failed
    assert window_median([latencies, [100.0] * 20], 20, 5) == 100.0  # both conversations' turns 16-20 together


def test_percentiles_and_throughput() -> None:
    outcome = Outcome(latencies_ms=[float(ms) for ms in range(1, 101)], seconds=4.0)
    assert outcome.throughput == 25.0
    assert 49 <= outcome.percentile(50) <= 51
    assert 94 <= outcome.percentile(95) <= 96
