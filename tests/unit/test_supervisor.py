"""The supervisor behind ``make run`` (issue #10): a service that dies is started again from its own recipe, after
1 s, 2 s, 4 s … 30 s, reset once it has stayed up for a minute; ``Stack.restart`` and Redis's own recipe.

Real child processes (a program that exits at once, a tiny HTTP server, redis-server) and a fake clock for the
supervisor, so the whole schedule runs in a second or two; every wait polls for an event with a deadline.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest
import redis

from bot import cli
from bot.settings import Settings
from bot.stack import LOOPBACK, STOP_GRACE_SECONDS, Service, Stack, StackError, free_port, port_is_open
from bot.supervisor import DIED, RESTARTING, UP, Event, Supervisor, backoff_delays

WAIT_SECONDS = 20.0
EXITS_AT_ONCE = [sys.executable, "-c", "import sys; sys.exit(3)"]


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _until(check: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _next_event(supervisor: Supervisor, kind: str, timeout: float = WAIT_SECONDS) -> Event:
    """Step until the supervisor reports an event of ``kind`` (polled with a deadline, in real time)."""
    found: List[Event] = []

    def stepped() -> bool:
        found.extend(e for e in supervisor.step() if e.kind == kind)
        return bool(found)

    _until(stepped, f"a {kind!r} event")
    return found[0]


def _http_server(port: int, name: str = "tiny web") -> Service:
    return Service(name=name, command=[sys.executable, "-m", "http.server", str(port), "--bind", LOOPBACK],
                   ready=lambda: port_is_open(LOOPBACK, port), timeout=20)


@pytest.fixture
def stack() -> Iterator[Stack]:
    running = Stack(Settings.from_env({}))
    yield running
    running.stop()


def test_the_pause_doubles_from_one_second_to_thirty() -> None:
    assert list(itertools.islice(backoff_delays(), 8)) == [1, 2, 4, 8, 16, 30, 30, 30]
    assert STOP_GRACE_SECONDS >= 30  # longer than the Rasa server's 20 s for finishing accepted turns


def test_a_service_that_keeps_dying_is_restarted_on_the_schedule_and_then_flagged(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    """Each death is noted with its exit code; the restart waits exactly its pause; past the flap limit the deaths
    are logged at ERROR, and restarts carry on."""
    caplog.set_level(logging.INFO, logger="bot.supervisor")
    flaky = Service(name="flaky", command=EXITS_AT_ONCE, ready=lambda: True, timeout=10)
    stack.services.append(flaky)
    flaky.launch()
    clock = FakeClock()
    supervisor = Supervisor(stack, clock=clock, flap_limit=3)
    pids = {flaky.process.pid}
    for death, expected in enumerate([1, 2, 4, 8, 16, 30, 30], 1):
        died = _next_event(supervisor, DIED)
        assert (died.service, died.exit_code, died.delay) == ("flaky", 3, expected)
        clock.advance(expected - 0.1)
        assert not [e for e in supervisor.step() if e.kind == RESTARTING]  # not before its pause is over
        clock.advance(0.1)
        restarted = [e for e in supervisor.step() if e.kind == RESTARTING]
        assert len(restarted) == 1 and restarted[0].pid not in pids
        pids.add(restarted[0].pid)

    deaths = [r for r in caplog.records if "exited with code 3" in r.getMessage()]
    assert len(deaths) == 7
    assert "flaky exited with code 3; restarting it in 1 s" in deaths[0].getMessage()
    assert [r.levelno for r in deaths] == [logging.WARNING] * 3 + [logging.ERROR] * 4
    restarts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("restarting flaky")]
    assert len(restarts) == 7 and "restart 7" in restarts[-1]


def test_a_service_that_stayed_up_a_minute_is_restarted_after_one_second_again(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    """A real HTTP server killed with SIGKILL comes back on the same port; the pause grows while it keeps dying
    soon after starting and is back to 1 s once it has answered for 60 s."""
    caplog.set_level(logging.INFO, logger="bot.supervisor")
    port = free_port()
    web = _http_server(port)
    stack.services.append(web)
    web.start()
    clock = FakeClock()
    supervisor = Supervisor(stack, clock=clock)

    def kill_and_restart(expected_delay: float, up_for: float) -> None:
        clock.advance(up_for)
        old = web.process.pid
        os.killpg(old, signal.SIGKILL)
        died = _next_event(supervisor, DIED)
        assert (died.exit_code, died.delay) == (-signal.SIGKILL, expected_delay)
        clock.advance(expected_delay)
        assert _next_event(supervisor, RESTARTING).pid != old
        up = _next_event(supervisor, UP)
        assert up.pid == web.process.pid and port_is_open(LOOPBACK, port)

    kill_and_restart(1, up_for=5)  # died soon after the supervisor started watching
    kill_and_restart(2, up_for=5)  # died again soon after its restart: a longer pause
    kill_and_restart(4, up_for=59)
    kill_and_restart(1, up_for=60)  # it had answered for a minute: healthy again
    assert any("tiny web exited with code -9 (SIGKILL); restarting it in 1 s" in r.getMessage()
               for r in caplog.records)
    assert any(r.getMessage().startswith("tiny web is back up (pid ") for r in caplog.records)


def test_a_restart_that_never_answers_is_stopped_and_tried_again(stack: Stack) -> None:
    silent = Service(name="silent", command=[sys.executable, "-c", "import time; time.sleep(120)"],
                     ready=lambda: False, timeout=5)
    stack.services.append(silent)  # never started: the supervisor's first step counts it as dead
    clock = FakeClock()
    supervisor = Supervisor(stack, clock=clock)
    assert [e.kind for e in supervisor.step()] == [DIED]
    clock.advance(1)
    assert [e.kind for e in supervisor.step()] == [RESTARTING]
    process = silent.process
    clock.advance(4)
    assert supervisor.step() == [] and process.poll() is None  # still within its start timeout
    clock.advance(2)
    died = supervisor.step()
    assert [(e.kind, e.delay) for e in died] == [(DIED, 2)]
    assert process.poll() is not None  # stopped, not left running beside the next try


def test_restart_runs_the_same_recipe_and_appends_to_the_same_log(tmp_path: Path) -> None:
    port = free_port()
    stack = Stack(Settings.from_env({}), log_dir=tmp_path)
    try:
        stack._spawn("tiny web", [sys.executable, "-m", "http.server", str(port), "--bind", LOOPBACK],
                     ready_url=f"http://{LOOPBACK}:{port}/", timeout=20)
        first = stack.service("tiny web").process.pid
        restarted = stack.restart("tiny web")
        assert restarted is stack.service("tiny web") and restarted.process.pid != first
        assert restarted.is_ready() and port_is_open(LOOPBACK, port)
        assert [s.name for s in stack.services] == ["tiny web"]  # restarted in place, still stopped in order
        assert (tmp_path / "tiny-web.log").exists()
        with pytest.raises(StackError, match="no service 'nope'"):
            stack.restart("nope")
    finally:
        stack.stop()
    assert not port_is_open(LOOPBACK, port)
    with pytest.raises(ProcessLookupError):
        os.killpg(first, 0)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_redis_comes_back_on_the_same_port_and_append_only_file(tmp_path: Path) -> None:
    """Our Redis: AOF fsynced every second, no snapshots, nothing ever evicted. Restarted gracefully, and killed
    outright by SIGKILL and restarted by the supervisor, it serves what it had acknowledged from the same files."""
    settings = Settings.from_env({"REDIS_URL": f"redis://{LOOPBACK}:{free_port()}/0"})
    stack = Stack(settings)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        stack._ensure_redis(tmp_path / "redis")
        config = {name: client.config_get(name)[name] for name in
                  ("appendonly", "appendfsync", "save", "maxmemory-policy", "dir")}
        assert config == {"appendonly": "yes", "appendfsync": "everysec", "save": "",
                          "maxmemory-policy": "noeviction", "dir": str((tmp_path / "redis").resolve())}
        client.set("kept", "after a graceful restart")
        stack.restart("Redis")
        assert client.get("kept") == "after a graceful restart"

        # With appendfsync always, Redis writes and fsyncs the AOF before it replies, so an acknowledged SET is on
        # disk; SIGKILL then gives it no chance to write anything more.
        client.config_set("appendfsync", "always")
        client.set("kept", "after SIGKILL")
        redis_service = stack.service("Redis")
        supervisor = Supervisor(stack)
        os.kill(redis_service.process.pid, signal.SIGKILL)
        died = _next_event(supervisor, DIED)
        assert (died.service, died.exit_code) == ("Redis", -signal.SIGKILL)
        _next_event(supervisor, UP, timeout=died.delay + WAIT_SECONDS)
        assert client.get("kept") == "after SIGKILL"
        assert client.config_get("appendfsync")["appendfsync"] == "everysec"  # the recipe again, not the edit
    finally:
        client.close()
        stack.stop()


def test_make_run_restarts_a_dead_service_and_still_stops_everything_on_sigterm(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """``python -m bot run``'s loop: a service that dies is started again instead of the stack being stopped;
    SIGTERM (as Ctrl-C) stops every service and exits 0."""
    caplog.set_level(logging.INFO)
    started: List[Stack] = []
    port = free_port()

    class OneServiceStack(Stack):
        def start(self, *, redis_dir: Path, start_web: bool = True) -> "Stack":
            self.services.append(_http_server(port))
            self.services[0].start()
            started.append(self)
            return self

    monkeypatch.setattr(cli, "Stack", OneServiceStack)
    monkeypatch.setattr(cli, "with_dev_secrets", lambda settings: settings)
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    outcome: List[Optional[str]] = []

    def kill_then_stop() -> None:
        try:
            _until(lambda: bool(started) and started[0].services and started[0].services[0].is_ready(), "the start")
            service = started[0].services[0]
            first = service.process.pid
            os.killpg(first, signal.SIGKILL)
            _until(lambda: service.process.pid != first and service.is_ready(), "the restart")
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            outcome.append(repr(error))
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=kill_then_stop, daemon=True)
    try:
        helper.start()
        code = cli._run(Settings.from_env({}))
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        helper.join(WAIT_SECONDS)
    assert outcome == [None]
    assert code == cli.EXIT_OK
    assert started[0].services == [] and not port_is_open(LOOPBACK, port)  # everything stopped
    messages = [r.getMessage() for r in caplog.records]
    assert any("tiny web exited with code -9 (SIGKILL); restarting it in 1 s" in m for m in messages)
