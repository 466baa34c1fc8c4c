"""The channels' Redis state: opt-outs that survive restarts and outages, menus, idempotency, callback ids, and no
phone number ever stored. Against a real redis-server started for each test (no mocks). Issue #4.

An opt-out Redis refused is spooled to a directory any later process replays, and honoured meanwhile by every
process on the host (issue #10)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Iterator, List, Optional

import pytest
import redis

from bot.channel_state import (
    CALLBACK_TTL_SECONDS,
    MENU_TTL_SECONDS,
    OPT_IN_TTL_SECONDS,
    RASA_KEY_KINDS,
    SEEN_TTL_SECONDS,
    SENDER_PREFIXES,
    SPOOL_FILE,
    SPOOL_REPLAYING_FILE,
    ChannelState,
    ChannelStateUnavailable,
    OptOutSpool,
    identity_hash,
    sender_id,
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

    def _make(spool_dir: Optional[Path] = None) -> ChannelState:
        made.append(ChannelState.from_url(redis_server.url, HASH_KEY, spool_dir=spool_dir))
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


def test_web_sessions_have_their_own_channel_and_prefix() -> None:
    """Web, SMS and Telegram ids never collide: each channel has its own prefix, and keys accept "web"."""
    assert len(set(SENDER_PREFIXES.values())) == len(SENDER_PREFIXES) == 3
    web = sender_id(HASH_KEY, "web", "session-1")
    assert web.startswith("web-") and web != sender_id(HASH_KEY, "sms", "session-1")[len("sms-"):]
    assert state_key("web", "rate", "abc:1") == "send:web:rate:abc:1"


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


# --- The opt-out spool: never lost, never in one process only (issue #10) ----------------------------------------

OTHER = "+447700900456"
CHAT = "987654321"


def _spool_files(spool: Path) -> List[Path]:
    """The spool's files in replay order: the one being replayed (older lines), then the one appended to."""
    return [p for p in (spool / SPOOL_REPLAYING_FILE, spool / SPOOL_FILE) if p.exists()]


def _spool_lines(spool: Path) -> List[dict]:
    return [json.loads(line) for path in _spool_files(spool) for line in path.read_text().splitlines()]


def _opt_out_key(state: ChannelState, number: str = NUMBER, channel: str = "sms") -> str:
    return state_key(channel, "optout", state.identity(channel, number))


async def test_an_opt_out_redis_refused_is_replayed_by_a_later_process(redis_server: RedisServer, new_state,
                                                                      peek: redis.Redis, tmp_path: Path) -> None:
    """STOP while Redis is down, then the process dies: a new process with the same spool writes it to Redis and
    removes the spool."""
    spool = tmp_path / "spool"
    redis_server.stop()
    first = new_state(spool)
    assert await first.opt_out("sms", NUMBER) is True
    await first.close()  # the process ends before Redis is back: its memory is gone
    assert [line["optout"] for line in _spool_lines(spool)] == [True]
    redis_server.start()
    later = new_state(spool)
    assert await later.is_opted_out("sms", NUMBER)
    key = _opt_out_key(later)
    assert peek.exists(key) and peek.ttl(key) == -1  # in Redis now, and never expires
    assert _spool_files(spool) == []
    assert await new_state().is_opted_out("sms", NUMBER)  # any process, even without the spool


async def test_another_process_honours_a_spooled_opt_out_while_redis_is_down(redis_server: RedisServer, new_state,
                                                                           tmp_path: Path,
                                                                           project_dir: Path) -> None:
    """A STOP spooled by one process is seen by another (a real second process) while Redis is still down; someone
    with nothing spooled still cannot be answered (fail closed)."""
    spool = tmp_path / "spool"
    redis_server.stop()
    assert await new_state(spool).opt_out("sms", NUMBER) is True
    assert await new_state(spool).is_opted_out("sms", NUMBER)  # another instance in this process
    with pytest.raises(ChannelStateUnavailable):
        await new_state(spool).is_opted_out("sms", OTHER)
    script = (
        "import asyncio, sys\n"
        "from bot.channel_state import ChannelState, ChannelStateUnavailable\n"
        "async def main():\n"
        "    state = ChannelState.from_url(sys.argv[1], sys.argv[2].encode(), spool_dir=sys.argv[3])\n"
        "    seen = []\n"
        "    for number in sys.argv[4:]:\n"
        "        try:\n"
        "            seen.append(str(await state.is_opted_out('sms', number)))\n"
        "        except ChannelStateUnavailable:\n"
        "            seen.append('unavailable')\n"
        "    await state.close()\n"
        "    print(' '.join(seen))\n"
        "asyncio.run(main())\n"
    )
    other = subprocess.run([sys.executable, "-c", script, redis_server.url, HASH_KEY.decode(), str(spool), NUMBER,
                            OTHER], cwd=project_dir, capture_output=True, text=True, timeout=60)
    assert other.returncode == 0, other.stderr
    assert other.stdout.split() == ["True", "unavailable"]


async def test_an_opt_in_after_an_opt_out_both_spooled_is_opted_in(redis_server: RedisServer, new_state,
                                                                   peek: redis.Redis, tmp_path: Path) -> None:
    """Opted out in Redis, then STOP and START during an outage: the latest decision wins once replayed."""
    spool = tmp_path / "spool"
    state = new_state(spool)
    await state.opt_out("sms", NUMBER)
    redis_server.stop()
    assert await state.opt_out("sms", NUMBER) is True  # Redis cannot tell it is a repeat
    assert await state.opt_in("sms", NUMBER) is True
    assert not await new_state(spool).is_opted_out("sms", NUMBER)  # the spool's latest word, while Redis is down
    assert [line["optout"] for line in _spool_lines(spool)] == [True, False]
    redis_server.start()
    assert not await new_state(spool).is_opted_out("sms", NUMBER)
    assert not peek.exists(_opt_out_key(state))
    mark = state_key("sms", "optin", state.identity("sms", NUMBER))
    assert 0 < peek.ttl(mark) <= OPT_IN_TTL_SECONDS
    assert _spool_files(spool) == []


async def test_the_spool_holds_no_raw_number(redis_server: RedisServer, new_state, tmp_path: Path) -> None:
    """Privacy: a spooled line holds the key's hash, a time and the decision; never a number or chat id."""
    spool = tmp_path / "spool"
    redis_server.stop()
    state = new_state(spool)
    await state.opt_out("sms", NUMBER)
    await state.opt_in("sms", OTHER)
    await state.opt_out("telegram", CHAT)
    stored = "\n".join(p.read_text() for p in spool.iterdir() if p.is_file())
    assert NUMBER not in stored and "7700900123" not in stored and "7700900456" not in stored
    assert CHAT not in stored
    assert [line["key"] for line in _spool_lines(spool)] == [
        _opt_out_key(state), _opt_out_key(state, OTHER), _opt_out_key(state, CHAT, "telegram")]
    assert all(set(line) == {"at", "key", "optout"} for line in _spool_lines(spool))
    assert all(oct(p.stat().st_mode & 0o777) == oct(0o600) for p in _spool_files(spool))


async def test_a_late_spooled_stop_does_not_undo_a_newer_direct_start(redis_server: RedisServer, new_state,
                                                                      peek: redis.Redis, tmp_path: Path) -> None:
    """A STOP spooled on one host, a /start made directly in Redis by another after it: the replay leaves them
    opted in (the opt-in mark is newer)."""
    redis_server.stop()
    host_a = new_state(tmp_path / "a")
    await host_a.opt_out("telegram", CHAT)
    redis_server.start()
    host_b = new_state(tmp_path / "b")
    await host_b.opt_in("telegram", CHAT)
    await host_a.first_delivery("telegram", "update-1")  # any call replays host A's spool
    assert _spool_files(tmp_path / "a") == []
    assert not peek.exists(_opt_out_key(host_a, CHAT, "telegram"))


async def test_a_late_spooled_start_does_not_undo_a_newer_direct_stop(redis_server: RedisServer, new_state,
                                                                      peek: redis.Redis, tmp_path: Path) -> None:
    """Opted out, START spooled on one host, STOP again directly on another after it: still opted out."""
    await new_state().opt_out("sms", NUMBER)
    redis_server.stop()
    host_a = new_state(tmp_path / "a")
    await host_a.opt_in("sms", NUMBER)
    redis_server.start()
    host_b = new_state(tmp_path / "b")
    assert await host_b.opt_out("sms", NUMBER) is False  # already opted out: no second confirmation
    assert await host_a.is_opted_out("sms", NUMBER)  # replays host A's START first: older, so skipped
    assert _spool_files(tmp_path / "a") == []
    assert peek.exists(_opt_out_key(host_a))


async def test_a_replay_that_was_interrupted_is_finished_in_order(redis_server: RedisServer, new_state,
                                                                  peek: redis.Redis, tmp_path: Path) -> None:
    """A replay that died after moving the spool aside leaves a .replaying file: its lines are replayed first,
    then the ones spooled after it."""
    spool = tmp_path / "spool"
    redis_server.stop()
    state = new_state(spool)
    await state.opt_out("sms", NUMBER)
    OptOutSpool(spool).take()  # a replayer moved it aside, then died before Redis answered
    assert (spool / SPOOL_REPLAYING_FILE).exists()
    await state.opt_in("sms", NUMBER)  # newer: in a fresh spool file
    await state.opt_out("sms", OTHER)
    assert not await new_state(spool).is_opted_out("sms", NUMBER)  # both files are read while Redis is down
    assert await new_state(spool).is_opted_out("sms", OTHER)
    redis_server.start()
    later = new_state(spool)
    assert not await later.is_opted_out("sms", NUMBER)
    assert await later.is_opted_out("sms", OTHER)
    assert not peek.exists(_opt_out_key(later)) and peek.exists(_opt_out_key(later, OTHER))
    assert _spool_files(spool) == []


async def test_a_stop_being_replayed_elsewhere_is_honoured(redis_server: RedisServer, new_state,
                                                          tmp_path: Path) -> None:
    """Redis is back but another process holds the replay lock (its write still on the way): a STOP in the
    spool counts already, so nobody texts that number meanwhile."""
    spool = tmp_path / "spool"
    redis_server.stop()
    await new_state(spool).opt_out("sms", NUMBER)
    redis_server.start()
    with OptOutSpool(spool).replay_lock() as mine:
        assert mine
        state = new_state(spool)
        assert await state.is_opted_out("sms", NUMBER)
        assert not await state.is_opted_out("sms", OTHER)
        assert _spool_files(spool)  # left for its replayer
    assert await state.is_opted_out("sms", NUMBER)
    assert _spool_files(spool) == []


async def test_without_a_spool_dir_decisions_stay_in_memory(redis_server: RedisServer, new_state) -> None:
    """spool_dir=None: as before, kept in this process only (another process cannot tell)."""
    state = new_state()
    redis_server.stop()
    await state.opt_out("sms", NUMBER)
    assert await state.is_opted_out("sms", NUMBER)
    with pytest.raises(ChannelStateUnavailable):
        await new_state().is_opted_out("sms", NUMBER)
    redis_server.start()
    assert await state.is_opted_out("sms", NUMBER)
    assert await new_state().is_opted_out("sms", NUMBER)
