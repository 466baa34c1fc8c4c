"""`make bench`: how fast and how big the assistant is, measured against a baseline in the same run.

It starts its own stack on free ports (as the integration tests do), then sends, one at a time:
  - baseline: a button payload ("/ask_help"), which skips the NLU model and the action server;
  - question: real family questions, which go through the NLU pipeline and a custom action.
It prints the median and 95th percentile of each, their ratio (how much the NLU and the action cost), the start-up
time and each service's resident memory. Then, for issue #7: one conversation of 300 turns (the latency around its
10th and its 300th turn: what the tracker store keeps must not grow with it), and the time to store one survey
response atomically in Redis. Figures, not assertions: compare runs, don't gate on them.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import List

from bot.settings import Settings
from bot.stack import VAR_DIR, Stack, settings_with_free_ports, with_dev_secrets

ROUNDS = 60
WARM_UP = 5
QUESTIONS = [
    "can my 2 year old get free hours we are on universal credit",
    "how long does the council have to decide on an ehc assessment",
    "my son is autistic can he go to the holiday club",
    "how do i reconfirm my 30 hours code",
]
BASELINE = "/ask_help"
LONG_TURNS = 300
LONG_WINDOW = 11  # turns around the 10th and the 300th, for a steadier median
SUBMITS = 200


def _ask(rasa_url: str, text: str, sender: str = "") -> float:
    body = json.dumps({"sender": sender or "bench-" + uuid.uuid4().hex, "message": text}).encode()
    request = urllib.request.Request(f"{rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        assert json.loads(response.read()), "empty reply"
    return (time.perf_counter() - started) * 1000


def _measure(rasa_url: str, texts: List[str]) -> List[float]:
    for i in range(WARM_UP):
        _ask(rasa_url, texts[i % len(texts)])
    return [_ask(rasa_url, texts[i % len(texts)]) for i in range(ROUNDS)]


def _long_conversation(rasa_url: str) -> List[float]:
    """Latencies of every turn of one conversation of LONG_TURNS turns."""
    sender = "bench-long-" + uuid.uuid4().hex
    return [_ask(rasa_url, QUESTIONS[turn % len(QUESTIONS)], sender) for turn in range(LONG_TURNS)]


def _store_times(redis_url: str) -> List[float]:
    """Milliseconds to store one survey response (the Lua script: response, counts, index), SUBMITS times."""
    import asyncio
    from datetime import date

    from bot.surveys.definitions import load_surveys
    from bot.surveys.store import SurveyStore, redis_client

    survey = load_surveys()["parent_carer_forum"]
    answers = {"services_used": ["nursery", "haf"], "had_ehc_meeting": "yes", "ehc_listened": 2,
               "ehc_why": "We waited months and nobody called [NAME] back.", "help_right_time": "disagree",
               "last_move": "mixed", "haf_included": "yes", "recommend_forum": 8}

    async def run() -> List[float]:
        store = SurveyStore(redis_client(redis_url), retention_seconds=3600, draft_seconds=3600)
        times = []
        try:
            for number in range(SUBMITS):
                started = time.perf_counter()
                await store.submit(survey, f"{number:032x}", answers, submitted=date.today())
                times.append((time.perf_counter() - started) * 1000)
        finally:
            await store.close()
        return times

    return asyncio.run(run())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _p95(values: List[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def main() -> int:
    """Start a stack, measure, print, stop."""
    settings = with_dev_secrets(settings_with_free_ports(Settings.from_env({})), Path(tempfile.mkdtemp()))
    stack = Stack(settings, log_dir=VAR_DIR / "bench-logs")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as redis_dir:
        stack.start(redis_dir=Path(redis_dir), start_web=False)
        try:
            start_seconds = time.perf_counter() - started
            baseline = _measure(settings.rasa_url, [BASELINE])
            questions = _measure(settings.rasa_url, QUESTIONS)
            long_talk = _long_conversation(settings.rasa_url)
            store_ms = _store_times(settings.redis.url)
            memory = {service.name: _rss_mb(service.process.pid) for service in stack.services}
        finally:
            stack.stop()
    base_p50, question_p50 = statistics.median(baseline), statistics.median(questions)
    print(f"stack start (Redis, action server, Rasa with model): {start_seconds:.1f} s")
    print(f"baseline  ({BASELINE!r}, {ROUNDS} requests): p50 {base_p50:.1f} ms  p95 {_p95(baseline):.1f} ms")
    print(f"questions (NLU + action, {ROUNDS} requests): p50 {question_p50:.1f} ms  p95 {_p95(questions):.1f} ms")
    print(f"ratio questions/baseline (p50): {question_p50 / base_p50:.2f}x")
    half = LONG_WINDOW // 2
    turn_10 = statistics.median(long_talk[10 - half - 1:10 + half])
    turn_300 = statistics.median(long_talk[LONG_TURNS - LONG_WINDOW:])
    print(f"one conversation of {LONG_TURNS} turns: turn 10 {turn_10:.1f} ms, turn 300 {turn_300:.1f} ms "
          f"(ratio {turn_300 / turn_10:.2f}x; medians of {LONG_WINDOW} turns)")
    print(f"store one survey response ({SUBMITS} submits): p50 {statistics.median(store_ms):.2f} ms  "
          f"p95 {_p95(store_ms):.2f} ms")
    for name, mb in memory.items():
        print(f"memory {name}: {mb:.0f} MB resident")
    return 0


if __name__ == "__main__":
    sys.exit(main())
