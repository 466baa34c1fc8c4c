"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
import redis

from bot.settings import RedisAddress
from bot.stack import LOOPBACK, free_port, redis_answers

PROJECT_DIR = Path(__file__).resolve().parent.parent
REDIS_START_SECONDS = 20.0


@pytest.fixture(scope="session")
def project_dir() -> Path:
    """The repository root (tests read the real data files from it)."""
    return PROJECT_DIR


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server of our own on a free port (AOF on, as `make run` starts it), for the store tests.

    Yields its URL. Separate from the integration stack's Redis, so store tests can flush it freely.
    """
    server = shutil.which("redis-server")
    if not server:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server); .ci/run installs it",
                    pytrace=False)
    port = free_port()
    directory = tmp_path_factory.mktemp("store-redis")
    process = subprocess.Popen(
        [server, "--bind", LOOPBACK, "--port", str(port), "--dir", str(directory), "--appendonly", "yes",
         "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    address = RedisAddress(host=LOOPBACK, port=port, db=0, password="")
    deadline = time.monotonic() + REDIS_START_SECONDS
    while not redis_answers(address):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the test Redis server did not start", pytrace=False)
        time.sleep(0.05)
    yield address.url
    process.terminate()
    process.wait(10)


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The store tests' Redis, empty at the start of each test and flushed after it."""
    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    yield redis_server
    client.flushdb()
    client.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the store tests' Redis, to look at what was stored."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()
