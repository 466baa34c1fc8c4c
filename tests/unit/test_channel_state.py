"""The channels' Redis state: opt-outs that survive restarts and outages, menus, idempotency, callback ids, and no
phone number ever stored. Against a real redis-server started for each test (no mocks). Issue #4."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Iterator, List

import pytest
import redis

from bot.channel_state import (
    CALLBACK_TTL_SECONDS,
    MENU_TTL_SECONDS,
    RASA_KEY_KINDS,
    SEEN_TTL_SECONDS,
    ChannelState,
    ChannelStateUnavailable,
    identity_hash,
    state_key,
)
from bot.settings import RedisAddress
from bot.stack import LOOPBACK, free_port, redis_answers

NUMBER = "+447700900123"
HASH_KEY = b"test-hash-key"


@dataclass
class RedisServer:
    """A redis-server of this test's own, which the test may stop and start again (same port, same data)."""

    port: int
    directory: Path
    process: "subprocess.Popen[bytes] | None" = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", LOOPBACK, "--port", str(self.port), "--dir", str(self.directory),
             "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not redis_answers(RedisAddress(LOOPBACK, self.port, 0, "")):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh Redis with persistence on, as in production."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server)", pytrace=False)
    server = RedisServer(port=free_port(), directory=tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def new_state(redis_server: RedisServer) -> AsyncIterator:
    """Makes ChannelStates on the test's Redis (each like a new process) and closes them all afterwards."""
    made: List[ChannelState] = []

    def _make() -> ChannelState:
        made.append(ChannelState.from_url(redis_server.url, HASH_KEY))
        return made[-1]

    yield _make
    for state in made:
        await state.close()


@pytest.fixture
def peek(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain client to look at what was stored."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


def _everything(client: redis.Redis) -> str:
    """Every key and string value in Redis, as one text."""
    found = []
    for key in client.scan_iter("*"):
        found.append(key)
        if client.type(key) == "string":
            found.append(client.get(key) or "")
    return "\n".join(found)


# --- Keys and hashes --------------------------------------------------------------------------------------------


def test_keys_are_ours_and_never_rasas() -> None:
    """send:<channel>:<kind>:<id>, never send:tracker: or send:lock: (Rasa's)."""
    key = state_key("sms", "optout", "abc")
    assert key == "send:sms:optout:abc"
    assert not any(key.startswith(f"send:{kind}:") for kind in RASA_KEY_KINDS)


@pytest.mark.parametrize(
    ("channel", "kind", "ident"),
    [("tracker", "optout", "a"), ("sms", "lock", "a"), ("sms", "menu", ""), ("sms", "menu", "a b")],
    ids=["rasa-tracker-channel", "unknown-kind", "empty-id", "id-with-space"],
)
def test_bad_keys_are_refused(channel: str, kind: str, ident: str) -> None:
    """A key that could clash with Rasa or break the key's shape is a programming error."""
    with pytest.raises(ValueError):
        state_key(channel, kind, ident)


def test_a_phone_number_hash_is_stable_keyed_and_per_channel() -> None:
    """Same number, same key: same hash; another key or channel: another hash; the digits never show."""
    first = identity_hash(HASH_KEY, "sms", NUMBER)
    assert first == identity_hash(HASH_KEY, "sms", f" {NUMBER} ")
    assert first != identity_hash(b"other-key", "sms", NUMBER)
    assert first != identity_hash(HASH_KEY, "telegram", NUMBER)
    assert "7700900123" not in first and len(first) == 32


# --- Opt-outs ---------------------------------------------------------------------------------------------------


async def test_opt_out_is_confirmed_once_and_undone_by_opt_in(new_state) -> None:
    """The first STOP says True (confirm), a second says False; START removes it."""
    state = new_state()
    assert not await state.is_opted_out("sms", NUMBER)
    assert await state.opt_out("sms", NUMBER) is True
    assert await state.opt_out("sms", NUMBER) is False
    assert await state.is_opted_out("sms", NUMBER)
    assert not await state.is_opted_out("telegram", NUMBER)
    assert await state.opt_in("sms", NUMBER) is True
    assert await state.opt_in("sms", NUMBER) is False
    assert not await state.is_opted_out("sms", NUMBER)


async def test_no_phone_number_is_stored(new_state, peek: redis.Redis) -> None:
    """Privacy: after every kind of write, neither the number nor its digits appear in any key or value."""
    state = new_state()
    await state.opt_out("sms", NUMBER)
    await state.save_menu("sms", NUMBER, ["/greet"])
    await state.first_delivery("sms", "SM123")
    stored = _everything(peek)
    assert stored and NUMBER not in stored and "7700900123" not in stored


async def test_an_opt_out_survives_a_restart_of_redis_and_of_the_channel(redis_server: RedisServer, new_state) -> None:
    """Opt-outs have no expiry and are on disk: a new process after a Redis restart still sees them."""
    await new_state().opt_out("sms", NUMBER)
    redis_server.stop()
    redis_server.start()
    assert await new_state().is_opted_out("sms", NUMBER)


async def test_an_opt_out_during_an_outage_is_kept_and_saved_later(redis_server: RedisServer, new_state) -> None:
    """Redis down: reads fail fast with ChannelStateUnavailable, a STOP is still honoured and written on return."""
    state = new_state()
    await state.opt_out("sms", "+447700900001")
    redis_server.stop()
    started = time.monotonic()
    with pytest.raises(ChannelStateUnavailable):
        await state.is_opted_out("sms", NUMBER)
    assert time.monotonic() - started < 5
    assert await state.opt_out("sms", NUMBER) is True  # confirm: we cannot tell it was a repeat
    assert await state.is_opted_out("sms", NUMBER)  # honoured from memory meanwhile
    redis_server.start()
    assert await state.is_opted_out("sms", "+447700900001")  # nothing stored before the outage was lost
    assert await new_state().is_opted_out("sms", NUMBER)  # written as soon as Redis answered


async def test_an_opt_in_during_an_outage_is_kept_too(redis_server: RedisServer, new_state) -> None:
    """START while Redis is down also takes effect, and reaches Redis later."""
    state = new_state()
    await state.opt_out("sms", NUMBER)
    redis_server.stop()
    assert await state.opt_in("sms", NUMBER) is True
    assert not await state.is_opted_out("sms", NUMBER)
    redis_server.start()
    await state.first_delivery("sms", "SM-any")  # any call writes what was kept
    assert not await new_state().is_opted_out("sms", NUMBER)


# --- Menus, idempotency, callbacks --------------------------------------------------------------------------------


async def test_the_last_menu_is_remembered_with_an_expiry(new_state, peek: redis.Redis) -> None:
    """A reply of "2" needs the last menu; it expires, and an answer without buttons forgets it."""
    state = new_state()
    await state.save_menu("sms", NUMBER, ["/funding_overview", "not sure"])
    assert await state.menu("sms", NUMBER) == ("/funding_overview", "not sure")
    key = state_key("sms", "menu", state.identity("sms", NUMBER))
    assert 0 < peek.ttl(key) <= MENU_TTL_SECONDS
    await state.save_menu("sms", NUMBER, [])
    assert await state.menu("sms", NUMBER) == ()


async def test_a_message_id_is_first_delivered_once(new_state, peek: redis.Redis) -> None:
    """SET NX with an expiry: a retried webhook is recognised, and the ids do not pile up."""
    state = new_state()
    assert await state.first_delivery("sms", "SM0001") is True
    assert await state.first_delivery("sms", "SM0001") is False
    assert await state.first_delivery("telegram", "SM0001") is True
    assert 0 < peek.ttl("send:sms:seen:SM0001") <= SEEN_TTL_SECONDS


async def test_callback_ids_map_back_to_payloads(new_state, peek: redis.Redis) -> None:
    """A short callback id gives its long payload back until it expires."""
    state = new_state()
    await state.save_callbacks("telegram", {"cb:abc": "/inform" + "x" * 80})
    assert await state.callback_payload("telegram", "cb:abc") == "/inform" + "x" * 80
    assert await state.callback_payload("telegram", "cb:unknown") is None
    assert 0 < peek.ttl("send:telegram:callback:cb:abc") <= CALLBACK_TTL_SECONDS


async def test_rasas_keys_are_left_alone(new_state, peek: redis.Redis) -> None:
    """Channel state never touches Rasa's tracker and lock keys under the same prefix."""
    peek.set("send:tracker:someone", "{}")
    state = new_state()
    await state.opt_out("sms", NUMBER)
    await state.save_menu("sms", NUMBER, [])
    assert peek.get("send:tracker:someone") == "{}"
    assert all(k.startswith(("send:sms:", "send:tracker:")) for k in peek.scan_iter("*"))
