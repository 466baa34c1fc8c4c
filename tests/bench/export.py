"""`make bench`, part 2: how long the forum's export of 100,000 responses takes, against a baseline in the same run.

It starts a Redis of its own, stores RESPONSES responses to the Parent Carer Forum survey through the real store
(the same Lua script a finished survey uses), then times:
  - baseline: reading every response back (ZRANGE + MGET + JSON), the least any export must do;
  - build: reading, theming the free text, aggregating and suppressing (``bot.forum.export.build_export``);
  - each writer: csv (three files), xlsx, json, html;
and prints the process's peak memory. Figures, not assertions: compare runs, don't gate on them.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict

import redis.asyncio as aioredis

from bot.forum.export import CSV_COMPANIONS, FORMATS, ExportOptions, build_export, load_classifier
from bot.stack import LOOPBACK, free_port
from bot.surveys.definitions import load_surveys
from bot.surveys.store import DAY_SECONDS, SurveyStore

RESPONSES = 100_000
SUBMIT_CONCURRENCY = 500
FREE_TEXTS = (
    "We waited over a year for speech and language therapy and nothing happened",
    "The school would not let him go on the trip because of his autism",
    "Nobody listened to us at the annual review and the plan was already written",
    "Moving to secondary school was a disaster, no transition plan at all",
    "More clubs that welcome children with SEND in the holidays",
    "Thank you",
)


def synthetic_answers(survey: Any, rng: random.Random) -> Dict[str, Any]:
    """A plausible response: every question answered with a valid value, follow-ups as their conditions allow."""
    answers: Dict[str, Any] = {}
    for question in survey.questions:
        if question.ask_if is not None and not question.ask_if.holds(answers.get(question.ask_if.question)):
            continue
        if rng.random() < 0.05:
            continue  # skipped
        kind = question.kind
        if kind == "likert":
            answers[question.id] = rng.randint(1, 5)
        elif kind == "nps":
            answers[question.id] = rng.randint(0, 10)
        elif kind == "yes_no":
            answers[question.id] = rng.choice(("yes", "no"))
        elif kind == "statement":
            answers[question.id] = rng.choice(("agree", "disagree", "pass"))
        elif kind == "single_choice":
            answers[question.id] = rng.choice([o.value for o in question.options])
        elif kind == "multiple_choice":
            values = [o.value for o in question.options if o.value != "none"]
            chosen = set(rng.sample(values, rng.randint(1, 2)))
            answers[question.id] = [v for v in values if v in chosen]
        else:
            answers[question.id] = rng.choice(FREE_TEXTS)
    return answers


async def seed(url: str, survey: Any, count: int) -> None:
    """Store ``count`` responses through SurveyStore.submit, many at a time."""
    rng = random.Random(8)
    store = SurveyStore(aioredis.Redis.from_url(url, decode_responses=True), retention_seconds=365 * DAY_SECONDS,
                        draft_seconds=DAY_SECONDS)
    start = date.today() - timedelta(days=120)
    for first in range(0, count, SUBMIT_CONCURRENCY):
        batch = range(first, min(first + SUBMIT_CONCURRENCY, count))
        await asyncio.gather(*(store.submit(survey, f"{i:032x}", synthetic_answers(survey, rng),
                                            submitted=start + timedelta(days=i % 120)) for i in batch))
    await store.close()


async def baseline(url: str, survey_id: str) -> int:
    """Read every response back and decode it: the floor under any export."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    members = await client.zrange(f"send:survey:{survey_id}:index", 0, -1)
    read = 0
    for first in range(0, len(members), 100):
        keys = [f"send:survey:{survey_id}:response:{m}" for m in members[first:first + 100]]
        read += sum(1 for raw in await client.mget(keys) if raw and json.loads(raw))
    await client.close()
    return read


async def build(url: str, survey: Any) -> Any:
    store = SurveyStore(aioredis.Redis.from_url(url, decode_responses=True), retention_seconds=365 * DAY_SECONDS,
                        draft_seconds=DAY_SECONDS)
    try:
        return await build_export(store, survey, ExportOptions(), classifier=load_classifier(), update=None)
    finally:
        await store.close()


def main() -> int:
    survey = load_surveys()["parent_carer_forum"]
    folder = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly",
                              "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    url = f"redis://{LOOPBACK}:{port}/0"
    try:
        time.sleep(0.3)  # bench only: a fresh redis-server listens within a few ms
        started = time.perf_counter()
        asyncio.run(seed(url, survey, RESPONSES))
        print(f"export bench: stored {RESPONSES:,} responses through SurveyStore.submit in "
              f"{time.perf_counter() - started:.1f} s")
        load_classifier()
        started = time.perf_counter()
        read = asyncio.run(baseline(url, survey.id))
        base_s = time.perf_counter() - started
        print(f"baseline  (read and decode {read:,} responses): {base_s:.2f} s")
        started = time.perf_counter()
        data = asyncio.run(build(url, survey))
        build_s = time.perf_counter() - started
        print(f"build     (read + themes + aggregate + suppress): {build_s:.2f} s  ({build_s / base_s:.1f}x baseline)")
        total = build_s
        for name, fmt in {**FORMATS, **CSV_COMPANIONS}.items():
            stream = io.BytesIO()
            started = time.perf_counter()
            fmt.write(stream, data)
            seconds = time.perf_counter() - started
            total += seconds
            print(f"write {name:<15} {seconds:6.2f} s  {len(stream.getvalue()) / 1e6:6.1f} MB")
        print(f"export of {RESPONSES:,} responses, build + every format: {total:.1f} s; "
              f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
