"""`make bench`: our assistant against a plain `rasa init` bot, same data, same machine, same workload, one run.

For each of the two (ours, then the baseline: ``tests/bench/baseline.py``) it starts a stack of its own (Redis, the
action server, a Rasa server with the SMS channel pointed at a local Twilio stand-in), then:
  - plays the workload (``workload.yml``: real questions, the funded hours checker, a survey to the end) over the
    REST channel with 1, 10 and 50 concurrent senders: throughput and p50/p95/p99 latency;
  - the same with 10 senders over the SMS webhook (signed as Twilio signs), the reply timed at the stand-in;
  - three conversations of 300 turns: the latency around turn 10 and turn 300;
  - the real-world dev set through ``../shared/eval/score.py``;
  - and records start time, training time and each process's peak memory.
Then the time to store one survey response (ours), a table with each figure as a ratio to the baseline, and last
``SUMMARY throughput_ratio=… p95_ratio=… long_talk_ratio=… eval=… baseline_eval=…`` (ratios at 10 senders).
Figures to compare, never a test gate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bot.settings import Settings
from bot.stack import PROJECT_DIR, VAR_DIR, Stack, latest_model, settings_with_free_ports, with_dev_secrets
from tests.bench.baseline import ENDPOINTS as BASELINE_ENDPOINTS
from tests.bench.baseline import TrainedModel, ensure_baseline_model
from tests.bench.driver import (Outcome, RestChannel, SmsChannel, TwilioInbox, client_session, drive, long_talk,
                                window_median)
from tests.bench.workload import Workload, load_workload

CONCURRENCY = (1, 10, 50)
MESSAGES = {1: 60, 10: 600, 50: 1200}  # per phase: enough for steady figures, a few minutes in all
HEADLINE_SENDERS = 10
SMS_SENDERS, SMS_MESSAGES = 10, 200
WARM_UP_MESSAGES = 40
LONG_TURNS = 300
# The long conversation repeats this many questions; "turn 10" is the median of turns 6-15 and "turn 300" of turns
# 291-300, each window the same ten messages once, so only the conversation's length differs between them.
LONG_CYCLE = 10
LONG_TALKS = 3  # conversations of LONG_TURNS turns, one after another: 30 turns in each window, for a steady median
SURVEY_SUBMITS = 200
OUR_TRAINING_RECORD = PROJECT_DIR / "models" / "send-assistant.training-seconds"
DEV_SET = PROJECT_DIR / "tests" / "data" / "real_world_dev.jsonl"
SCORER = Path(os.environ.get("SHARED_DIR", PROJECT_DIR.parent / "shared")) / "eval" / "score.py"
SIGNED_SMS_URL = "https://sms.example.org/webhooks/sms/webhook"
OUR_NUMBER = "+447700900000"


@dataclass
class Figures:
    """What was measured for one system."""

    name: str
    training_seconds: Optional[float]
    start_seconds: float = 0.0
    rest: Dict[int, Outcome] = field(default_factory=dict)
    sms: Outcome = field(default_factory=Outcome)
    long_talk: List[List[float]] = field(default_factory=list)  # per conversation, every turn's latency
    peak_mb: Dict[str, float] = field(default_factory=dict)
    eval_score: Optional[float] = None
    store_ms: List[float] = field(default_factory=list)

    @property
    def turn_10(self) -> float:
        return window_median(self.long_talk, 10 + LONG_CYCLE // 2, LONG_CYCLE)

    @property
    def turn_300(self) -> float:
        return window_median(self.long_talk, LONG_TURNS, LONG_CYCLE)


@dataclass(frozen=True)
class System:
    """One thing to measure: a model and the endpoints (stores) it is served with."""

    name: str
    model: Path
    endpoints: str
    training_seconds: Optional[float]
    env: Dict[str, str] = field(default_factory=dict)
    stack: Dict[str, str] = field(default_factory=dict)  # Stack's other fields (the baseline runs plain `rasa`)
    workers: int = 1  # Rasa server processes (Sanic workers)


def peak_rss_mb(group: int) -> float:
    """The sum of the peak resident memory (VmHWM) of every process in a process group (a Rasa server with
    Sanic workers is several processes)."""
    total = 0.0
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:
                continue
            for line in (status.parent / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except (OSError, IndexError, ValueError):
            continue
    return total


def dev_score(rasa_url: str) -> Optional[float]:
    """The real-world dev set's score (``score.py``), or None when the scorer is not beside the project."""
    if not SCORER.exists():
        print(f"  (no {SCORER}: set SHARED_DIR to score the dev set)", flush=True)
        return None
    result = subprocess.run([sys.executable, str(SCORER), "--url", rasa_url, "--questions", str(DEV_SET)],
                            capture_output=True, text=True, check=False)
    found = re.search(r"^score \d+/\d+ = ([0-9.]+)$", result.stdout, re.M)
    return float(found.group(1)) if found else None


def survey_store_ms(redis_url: str) -> List[float]:
    """Milliseconds to store one finished survey response (one Lua script: response, counts, index)."""
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
            for number in range(SURVEY_SUBMITS):
                started = time.perf_counter()
                await store.submit(survey, f"{number:032x}", answers, submitted=date.today())
                times.append((time.perf_counter() - started) * 1000)
        finally:
            await store.close()
        return times

    return asyncio.run(run())


def measure(system: System, workload: Workload) -> Figures:
    """Start the system's stack, play every phase against it, stop it."""
    figures = Figures(system.name, system.training_seconds)
    asyncio.run(_measure(system, workload, figures))
    return figures


async def _measure(system: System, workload: Workload, figures: Figures) -> None:
    account_sid, auth_token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    inbox = TwilioInbox(account_sid, auth_token, asyncio.get_running_loop()).start()
    env = {"TWILIO_ACCOUNT_SID": account_sid, "TWILIO_AUTH_TOKEN": auth_token, "TWILIO_NUMBER": OUR_NUMBER,
           "TWILIO_API_BASE": inbox.url, "SMS_WEBHOOK_URL": SIGNED_SMS_URL,
           # A bench sender sends far faster than a person; the limit is not what is measured.
           "RATE_LIMIT_PER_MINUTE": "1000000", **system.env}
    settings = with_dev_secrets(settings_with_free_ports(Settings.from_env({})), Path(tempfile.mkdtemp()))
    settings = replace(settings, rasa_workers=system.workers)
    stack = Stack(settings, log_dir=VAR_DIR / "bench-logs" / system.name, model=system.model,
                  endpoints=system.endpoints, extra_env=env, **system.stack)
    print(f"{system.name}: starting its stack", flush=True)
    with tempfile.TemporaryDirectory() as redis_dir:
        started = time.perf_counter()
        stack.start(redis_dir=Path(redis_dir), start_web=False)
        figures.start_seconds = time.perf_counter() - started
        try:
            async with client_session() as session:
                rest = RestChannel(session, settings.rasa_url)
                sms = SmsChannel(session, settings.rasa_url, inbox, auth_token=auth_token, our_number=OUR_NUMBER,
                                 signed_url=SIGNED_SMS_URL)
                await drive(rest, workload.conversations(), 5, WARM_UP_MESSAGES)
                for senders in CONCURRENCY:
                    outcome = await drive(rest, workload.conversations(), senders, MESSAGES[senders])
                    figures.rest[senders] = outcome
                    print(f"  REST, {senders} senders: {outcome.throughput:.1f} msg/s, p95 "
                          f"{outcome.percentile(95):.0f} ms, {outcome.errors} errors {dict(outcome.failures)}",
                          flush=True)
                figures.sms = await drive(sms, workload.conversations(), SMS_SENDERS, SMS_MESSAGES)
                print(f"  SMS, {SMS_SENDERS} senders: p95 {figures.sms.percentile(95):.0f} ms", flush=True)
                for _ in range(LONG_TALKS):
                    figures.long_talk.append(await long_talk(rest, workload.long_talk(LONG_TURNS, LONG_CYCLE)))
                print(f"  long conversations: turn 10 {figures.turn_10:.0f} ms, turn 300 {figures.turn_300:.0f} ms",
                      flush=True)
            figures.eval_score = await asyncio.to_thread(dev_score, settings.rasa_url)
            print(f"  real-world dev set: {figures.eval_score}", flush=True)
            figures.store_ms = await asyncio.to_thread(survey_store_ms, settings.redis.url)
            figures.peak_mb = {service.name: peak_rss_mb(service.process.pid) for service in stack.services}
        finally:
            stack.stop()
            inbox.stop()


def _ratio(ours: Optional[float], baseline: Optional[float]) -> str:
    if ours is None or baseline is None or baseline != baseline or not baseline:
        return "n/a"
    return f"{ours / baseline:.2f}x"


def _figure(value: Optional[float], unit: str = "") -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:.3f}" if unit == "score" else f"{value:,.1f}{unit}"


def table(ours: Figures, base: Figures) -> List[Tuple[str, Optional[float], Optional[float], str]]:
    """(figure, ours, baseline, unit) rows."""
    rows: List[Tuple[str, Optional[float], Optional[float], str]] = []
    for senders in CONCURRENCY:
        mine, theirs = ours.rest[senders], base.rest[senders]
        rows.append((f"REST {senders:>2} senders: throughput", mine.throughput, theirs.throughput, " msg/s"))
        for percent in (50, 95, 99):
            rows.append((f"REST {senders:>2} senders: p{percent}", mine.percentile(percent),
                         theirs.percentile(percent), " ms"))
        rows.append((f"REST {senders:>2} senders: errors", mine.errors, theirs.errors, ""))
    for percent in (50, 95):
        rows.append((f"SMS {SMS_SENDERS} senders: p{percent} (reply at Twilio)", ours.sms.percentile(percent),
                     base.sms.percentile(percent), " ms"))
    rows.append((f"SMS {SMS_SENDERS} senders: throughput (0.15 s settle a reply)", ours.sms.throughput,
                 base.sms.throughput, " msg/s"))
    rows.append(("long conversations: turn 10 (6-15)", ours.turn_10, base.turn_10, " ms"))
    rows.append((f"long conversations: turn {LONG_TURNS} (291-300)", ours.turn_300, base.turn_300, " ms"))
    rows.append(("start (Redis, actions, Rasa)", ours.start_seconds, base.start_seconds, " s"))
    rows.append(("training (last run; Rasa reuses what is unchanged)", ours.training_seconds, base.training_seconds,
                 " s"))
    for name in ours.peak_mb:
        rows.append((f"peak memory: {name}", ours.peak_mb[name], base.peak_mb.get(name), " MB"))
    rows.append(("real-world dev set score", ours.eval_score, base.eval_score, "score"))
    rows.append(("store one survey response: p50", statistics.median(ours.store_ms) if ours.store_ms else None,
                 statistics.median(base.store_ms) if base.store_ms else None, " ms"))
    return rows


def summary(ours: Figures, base: Figures) -> str:
    """The last line: ratios at HEADLINE_SENDERS senders, our long-talk ratio and both dev scores."""
    mine, theirs = ours.rest[HEADLINE_SENDERS], base.rest[HEADLINE_SENDERS]

    def fmt(value: Optional[float]) -> str:
        return "nan" if value is None or value != value else f"{value:.3f}"

    def over(a: float, b: float) -> float:
        return a / b if b else float("nan")

    return (f"SUMMARY throughput_ratio={fmt(over(mine.throughput, theirs.throughput))} "
            f"p95_ratio={fmt(over(mine.percentile(95), theirs.percentile(95)))} "
            f"long_talk_ratio={fmt(over(ours.turn_300, ours.turn_10))} "
            f"eval={fmt(ours.eval_score)} baseline_eval={fmt(base.eval_score)}")


def our_training_seconds() -> Optional[float]:
    """How long `make` took to train our model last time (the Makefile writes it)."""
    try:
        return float(OUR_TRAINING_RECORD.read_text().strip())
    except (OSError, ValueError):
        return None


def main(argv: Optional[List[str]] = None) -> int:
    """Measure ours and the baseline, print the table and the SUMMARY line."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--ours-only", action="store_true", help="skip the baseline (quick looks while tuning)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the messages of each load phase")
    options = parser.parse_args(argv)
    for senders in MESSAGES:
        MESSAGES[senders] = max(senders, int(MESSAGES[senders] * options.scale))
    workload = load_workload()
    # Ours as deployed: one Rasa worker per core (RASA_WORKERS overrides, to measure one setting against another).
    workers = int(os.environ.get("RASA_WORKERS") or os.cpu_count() or 1)
    ours = measure(System("ours", latest_model(), "endpoints.yml", our_training_seconds(), workers=workers),
                   workload)
    if options.ours_only:
        base = Figures("baseline", None, rest={senders: Outcome() for senders in CONCURRENCY})
    else:
        baseline: TrainedModel = ensure_baseline_model()
        base = measure(System("baseline", baseline.path, str(BASELINE_ENDPOINTS.relative_to(PROJECT_DIR)),
                              baseline.training_seconds, stack={"rasa_module": "rasa"}), workload)
    print()
    print(f"{'figure':<52} {'ours':>12} {'baseline':>12} {'ratio':>8}")
    for name, mine, theirs, unit in table(ours, base):
        print(f"{name:<52} {_figure(mine, unit):>12} {_figure(theirs, unit):>12} {_ratio(mine, theirs):>8}")
    print(summary(ours, base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
