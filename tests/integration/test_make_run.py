"""`make run`'s promises, through the real command (`python -m bot run`, what the Makefile calls). Issue #2.

This starts a second stack (one more Rasa load, ~20 s) because it has to stop it: Ctrl-C must stop every service
and leave no process behind, and Redis going away must give users a calm error and lose nothing.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import redis

from bot.privacy.hashing import tracker_key
from bot.stack import PROJECT_DIR, free_port, port_is_open, redis_answers
from bot.settings import RedisAddress
from bot.web.session import COOKIE_NAME, web_sender_id

pytestmark = pytest.mark.integration

READY = re.compile(r"The chat is ready: open (http://\S+)")
STARTED = re.compile(r"is up \(pid (\d+)\)")


def _start_redis(port: int, directory: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory), "--appendonly", "yes",
         "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    address = RedisAddress("127.0.0.1", port, 0, "")
    deadline = time.monotonic() + 20
    while not redis_answers(address):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)
    return process


# One browser for the test: its cookie jar keeps the chat session the web app issues.
COOKIES = http.cookiejar.CookieJar()
BROWSER = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(COOKIES))


def _chat(web_url: str, message: str) -> Tuple[int, object]:
    body = json.dumps({"message": message}).encode()
    request = urllib.request.Request(f"{web_url}/api/chat", body, {"Content-Type": "application/json"})
    try:
        with BROWSER.open(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _sender(privacy_key: str) -> str:
    """The sender id the web app derived from our browser's session cookie."""
    [session] = [cookie.value for cookie in COOKIES if cookie.name == COOKIE_NAME]
    return web_sender_id(privacy_key.encode(), session)


@pytest.fixture
def external_redis(tmp_path: Path) -> Iterator[Tuple[int, Path]]:
    """A Redis the supervisor does not own (as in production), so the test can stop and restart it."""
    port = free_port()
    process = _start_redis(port, tmp_path)
    yield port, tmp_path
    process.terminate()
    process.wait(10)


def test_run_serves_survives_redis_restart_and_stops_cleanly_on_ctrl_c(external_redis, tmp_path: Path) -> None:
    """Ready line, an answer, a calm 503 while Redis is down, the conversation intact after, no orphans on Ctrl-C."""
    redis_port, redis_dir = external_redis
    ports = {name: free_port() for name in ("RASA_PORT", "ACTION_PORT", "WEB_PORT")}
    privacy_key = secrets.token_hex(32)
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "PRIVACY_KEY": privacy_key,
           **{k: str(v) for k, v in ports.items()}}
    env.pop("RASA_URL", None)
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        supervisor = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=PROJECT_DIR, env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while not READY.search(log_path.read_text()):
            assert supervisor.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "no ready line"
            time.sleep(0.5)
        output = log_path.read_text()
        web_url = READY.search(output).group(1)
        child_pids = [int(pid) for pid in STARTED.findall(output)]
        assert len(child_pids) == 3  # action server, Rasa, web app (Redis is external here)

        status, reply = _chat(web_url, "what is HAF")
        assert status == 200 and "free" in json.dumps(reply)

        store = redis.Redis(port=redis_port)
        store.shutdown()  # saves the append-only file, like a Redis restart in production
        status, reply = _chat(web_url, "how do I book")
        assert status == 503 and "try again" in reply["error"]
        assert supervisor.poll() is None, "the stack must survive Redis going away"

        restarted = _start_redis(redis_port, redis_dir)
        try:
            status, reply = _chat(web_url, "how do i book a holiday club")
            assert status == 200 and "My Account" in json.dumps(reply)
            key = f"send:tracker:{tracker_key(privacy_key.encode(), _sender(privacy_key))}"
            tracker = redis.Redis(port=redis_port).get(key).decode()
            assert "what is HAF" in tracker, "the conversation from before the restart was lost"
        finally:
            supervisor.send_signal(signal.SIGINT)
            assert supervisor.wait(60) == 0
            restarted.terminate()
            restarted.wait(10)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()

    for pid in child_pids:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # the whole process group of each service is gone
    assert not any(port_is_open("127.0.0.1", port) for port in ports.values())
