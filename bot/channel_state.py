"""What the SMS, Telegram and web channels remember between messages, in Redis.

- **Opt-outs** (SMS STOP, Telegram /stop): no expiry, so they survive restarts; kept until the person opts back in.
  The value is the time of the latest STOP (Unix seconds, to the millisecond).
- **Opt-in marks**: the time of the latest opt-in (SMS START, Telegram /start), expiring after 30 days. They let a
  STOP replayed late from a spool (below) tell that the person opted back in after it.
- **The last numbered SMS menu** per sender, so a reply of "2" means that menu's second button (expires).
- **Seen message ids** (Twilio ``MessageSid``, Telegram ``update_id``): a retried webhook is answered once (expires).
- **Telegram callback ids**: a payload too long for ``callback_data`` travels as a short id (expires).
- **Rate-limit counters** are ``bot.rate_limit``'s, under the same key shape (kind ``rate``; they expire).

Phone numbers, chat ids and web session ids are never stored: every key holds an HMAC-SHA256 of them
(``identity_hash``), keyed with a secret, so a copy of Redis does not list the families who wrote to us. Every key
is built by ``state_key`` as ``send:<channel>:<kind>:<id>``: under the project's prefix but never ``send:tracker:``
or ``send:lock:``, which belong to Rasa. The Rasa sender ids get a prefix per channel (``SENDER_PREFIXES``: ``sms-``,
``tg-``, ``web-``), so ids from two channels can never collide.

When Redis is down, reads raise ``ChannelStateUnavailable`` for the channel to turn into a calm reply or a logged
error; the callers fail closed (nothing is sent to someone while Redis cannot tell whether they opted out). Nothing
is ever deleted because Redis failed.

An opt-out or opt-in that Redis refused is never lost, nor kept in one process only (issue #10). With a spool
directory (``spool_dir``; the app passes ``var/spool``) each such decision is appended to ``optouts.jsonl`` there,
one JSON line ``{"at": <unix time>, "key": "send:<channel>:optout:<hmac>", "optout": true|false}`` (the key hash,
never a number), flushed and fsynced before ``opt_out``/``opt_in`` returns. Appends and reads hold an ``flock`` on
``optouts.lock``. Before its next Redis call, this process or any process started later with the same directory
replays the spool: under the lock it renames the file to ``optouts.jsonl.replaying`` (lines a failed replay left
there come first), so appends made meanwhile start a new file that is neither replayed twice nor deleted unseen;
it writes the latest decision per key (the last line wins: lines are in the order they happened) in one
transaction, and only then deletes the ``.replaying`` file. A second lock, ``optouts.replay.lock``, keeps two
processes from replaying at once. Without a spool directory (``spool_dir=None``) the decisions are kept in this
process's memory only, as before, and replayed the same way.

The replay rule, so a late replay never undoes a newer decision made directly in Redis (by a process without that
spool, e.g. on another host): a spooled **opt-out** is written (``SET NX``, its own time as the value) unless an
opt-in mark newer than it exists; a spooled **opt-in** deletes the opt-out only if the stored opt-out is older than
it, and then sets the opt-in mark. Ties, and an opt-out value that is not a time, go to the opt-out: the error is
always on the side of not texting, and texting START again undoes it. The comparison uses each host's clock, so
hosts must keep time (NTP). A replay older than the 30-day opt-in mark can re-apply a STOP over a later START, for
the same reason.

While Redis is down, ``is_opted_out`` consults the spool files (and this process's memory), so another process on
the same host honours a STOP received by a different one; a person with nothing spooled raises
``ChannelStateUnavailable``. The limit: the spool is per host (per volume). In production mount ``var/spool`` on a
persistent volume, so a restart or a new container on it replays what was spooled. A STOP spooled on one host is
invisible to the others until Redis returns and it is replayed, but no replica sends to anyone while Redis is down
(they all fail closed), so no replica texts a number whose STOP sits in another host's spool.

Errors::

    ChannelStateError
    └── ChannelStateUnavailable     Redis could not be reached or timed out (the cause is chained)
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, TypeVar, Union

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.redis_client import async_redis

logger = logging.getLogger(__name__)
_R = TypeVar("_R")

KEY_PREFIX = "send"
CHANNELS = frozenset({"sms", "telegram", "web"})
OPT_OUT = "optout"
OPT_IN = "optin"
MENU = "menu"
SEEN = "seen"
CALLBACK = "callback"
RATE = "rate"  # bot.rate_limit's counters
OFFERED = "offered"  # the button payloads offered to one person (Telegram, web chat)
KINDS = frozenset({OPT_OUT, OPT_IN, MENU, SEEN, CALLBACK, RATE, OFFERED})
# Keys Rasa writes under the same prefix (tracker store, lock store): ours must never start like these.
RASA_KEY_KINDS = frozenset({"tracker", "lock"})

# A parent may answer a menu hours later (after the school run), but not a week later when it is forgotten.
MENU_TTL_SECONDS = 24 * 3600
# Twilio retries a webhook within seconds to minutes and Telegram for up to a day: a day of ids covers both.
SEEN_TTL_SECONDS = 24 * 3600
# A button stays in the chat history; 30 days matches how long a conversation is kept.
CALLBACK_TTL_SECONDS = 30 * 24 * 3600
# Buttons stay pressable as long as the conversation is kept (a day of silence deletes it).
OFFERED_TTL_SECONDS = 24 * 3600
# An opt-in mark only matters while a spool somewhere may still hold an older STOP, which is replayed as soon as
# Redis answers again; 30 days (how long a conversation is kept) covers a host that stays down for weeks.
OPT_IN_TTL_SECONDS = 30 * 24 * 3600
HASH_HEX_CHARS = 32  # 128 bits of the HMAC: no collisions, and short enough for a Rasa sender id

SPOOL_FILE = "optouts.jsonl"
SPOOL_REPLAYING_FILE = SPOOL_FILE + ".replaying"
SPOOL_LOCK_FILE = "optouts.lock"
SPOOL_REPLAY_LOCK_FILE = "optouts.replay.lock"

# Replaying a spooled opt-out: KEYS = opt-out key, opt-in mark; ARGV = the opt-out's time. Skipped when the person
# opted in later (a newer mark); a tie goes to the opt-out. SET NX: an existing opt-out is already as strict.
_REPLAY_OPT_OUT = """
local opted_in = tonumber(redis.call('GET', KEYS[2]) or '')
if opted_in and opted_in > tonumber(ARGV[1]) then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 1 end
return 0
"""
# Replaying a spooled opt-in: KEYS = opt-out key, opt-in mark; ARGV = the opt-in's time, the mark's TTL. Skipped
# when the stored opt-out is as new or newer, or is not a time; otherwise the opt-out goes and the mark is set.
_REPLAY_OPT_IN = """
local stored = redis.call('GET', KEYS[1])
if stored then
  local opted_out = tonumber(stored)
  if (not opted_out) or opted_out >= tonumber(ARGV[1]) then return 0 end
  redis.call('DEL', KEYS[1])
end
local mark = tonumber(redis.call('GET', KEYS[2]) or '')
if (not mark) or mark < tonumber(ARGV[1]) then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2]) end
return 1
"""


class ChannelStateError(RuntimeError):
    """The channel state could not be read or written."""


class ChannelStateUnavailable(ChannelStateError):
    """Redis could not be reached or did not answer in time."""


def state_key(channel: str, kind: str, ident: str) -> str:
    """The Redis key for one piece of channel state: ``send:<channel>:<kind>:<id>``.

    Args:
        channel: ``"sms"``, ``"telegram"`` or ``"web"``.
        kind: ``"optout"``, ``"optin"``, ``"menu"``, ``"seen"``, ``"callback"`` or ``"rate"``.
        ident: an identity hash, a message id or a callback id; never a phone number.

    Raises:
        ValueError: an unknown channel or kind, or an id that could break the key's shape.
    """
    if channel not in CHANNELS or kind not in KINDS:
        raise ValueError(f"unknown channel state {channel!r}/{kind!r}")
    if not ident or any(ch.isspace() for ch in ident):
        raise ValueError("a state id must be non-empty and without spaces")
    return f"{KEY_PREFIX}:{channel}:{kind}:{ident}"


# The Rasa sender id of a person on a channel is this prefix and their identity hash (``sender_id``).
# Distinct prefixes keep web, SMS and Telegram ids from ever colliding (the web chat's server-issued session ids are
# hashed the same way).
SENDER_PREFIXES = {"sms": "sms-", "telegram": "tg-", "web": "web-"}


def sender_id(key: bytes, channel: str, raw_id: str) -> str:
    """The id Rasa knows a phone or chat by: the channel's prefix and the keyed hash, never the number.

    Kept here (not in ``channels/``) because the survey update needs it too: from a panel member's contact it finds
    whether they answered the survey, without anything storing that link.
    """
    return SENDER_PREFIXES[channel] + identity_hash(key, channel, raw_id)


def identity_hash(key: bytes, channel: str, raw_id: str) -> str:
    """The stable stand-in for a phone number or chat id: HMAC-SHA256 under ``key``, hex, 128 bits.

    The channel is part of the message, so the same digits on SMS and on Telegram give different hashes.
    """
    message = f"{channel}:{raw_id.strip()}".encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]




# --- Opt-out decisions Redis refused ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """One opt-out (``opted_out=True``) or opt-in that Redis refused: the key (a hash, never a number) and when."""

    key: str  # send:<channel>:optout:<hmac>
    opted_out: bool
    at: float  # Unix time of the decision


_SPOOL_KEY = re.compile(rf"{KEY_PREFIX}:(?:{'|'.join(sorted(CHANNELS))}):{OPT_OUT}:[0-9a-f]+")


def _stamp(at: float) -> str:
    """A decision's time as stored in Redis: Unix seconds to the millisecond."""
    return f"{at:.3f}"


def _opt_in_key(opt_out_key: str) -> str:
    """The opt-in mark's key beside an opt-out key."""
    _prefix, channel, _kind, ident = opt_out_key.split(":", 3)
    return state_key(channel, OPT_IN, ident)


def _latest(decisions: Iterable[Decision]) -> Dict[str, Decision]:
    """The last decision for each key (decisions come in the order they were made)."""
    latest: Dict[str, Decision] = {}
    for decision in decisions:
        latest.pop(decision.key, None)  # keep the dict in the order of each key's latest decision
        latest[decision.key] = decision
    return latest


class OptOutSpool:
    """The append-only file of opt-out decisions Redis refused, shared by every process using the same directory.

    Blocking file calls (``fsync``, ``flock``): ``ChannelState`` runs them in a worker thread.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.file = self.directory / SPOOL_FILE
        self.replaying = self.directory / SPOOL_REPLAYING_FILE
        self._lock_path = self.directory / SPOOL_LOCK_FILE
        self._replay_lock_path = self.directory / SPOOL_REPLAY_LOCK_FILE

    def has_pending(self) -> bool:
        """True when a spooled decision may still wait for Redis (one ``stat`` or two: cheap)."""
        return self.file.exists() or self.replaying.exists()

    def append(self, decision: Decision) -> None:
        """Add one decision, durably: written, flushed and fsynced (the file and its directory) before returning.

        Raises:
            OSError: the directory or the file cannot be written.
        """
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        line = json.dumps({"at": round(decision.at, 3), "key": decision.key, "optout": decision.opted_out},
                          separators=(",", ":")) + "\n"
        with self._locked(fcntl.LOCK_EX):
            fd = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                _write_all(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_directory(self.directory)

    def pending(self) -> Dict[str, Decision]:
        """The latest spooled decision per key, from the file being replayed and the file appended to.

        Raises:
            OSError: the spool cannot be read.
        """
        if not self.has_pending():
            return {}
        with self._locked(fcntl.LOCK_SH):
            return _latest(self._read(self.replaying) + self._read(self.file))

    @contextmanager
    def replay_lock(self) -> Iterator[bool]:
        """Yields True when this caller is the one replayer; False when another process is replaying right now."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._replay_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def take(self) -> List[Decision]:
        """Move the spool aside to the ``.replaying`` file and return everything in it, oldest first.

        Call it holding ``replay_lock``. New appends start a fresh spool file, so nothing appended while the
        replay writes to Redis is replayed twice or deleted unseen. A ``.replaying`` file left by a replay that
        failed keeps its lines first, the newer ones after.
        """
        with self._locked(fcntl.LOCK_EX):
            if self.file.exists():
                if self.replaying.exists():
                    newer = self.file.read_bytes()
                    with open(self.replaying, "ab+") as out:
                        out.seek(0, os.SEEK_END)
                        if out.tell():  # a torn last line (a crash while appending) must not swallow the next
                            out.seek(-1, os.SEEK_END)
                            if out.read(1) != b"\n":
                                out.write(b"\n")
                        out.write(newer)
                        out.flush()
                        os.fsync(out.fileno())
                    self.file.unlink()
                else:
                    os.rename(self.file, self.replaying)
                _fsync_directory(self.directory)
            return self._read(self.replaying)

    def done(self) -> None:
        """Delete the ``.replaying`` file once Redis holds its decisions (call it holding ``replay_lock``)."""
        self.replaying.unlink(missing_ok=True)
        _fsync_directory(self.directory)

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, mode)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @staticmethod
    def _read(path: Path) -> List[Decision]:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        decisions = []
        for line in text.splitlines():
            decision = _parse_line(line)
            if decision is not None:
                decisions.append(decision)
            elif line.strip():
                logger.warning("skipping a malformed line in the opt-out spool %s", path)
        return decisions


def _parse_line(line: str) -> Optional[Decision]:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    key, opted_out, at = entry.get("key"), entry.get("optout"), entry.get("at")
    if not isinstance(key, str) or not _SPOOL_KEY.fullmatch(key) or not isinstance(opted_out, bool):
        return None
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        return None
    return Decision(key=key, opted_out=opted_out, at=float(at))


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _fsync_directory(directory: Path) -> None:
    """Make a file's creation, rename or removal durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- The state -------------------------------------------------------------------------------------------------------


class ChannelState:
    """The channels' Redis state, for one process (one client, closed with ``close``)."""

    def __init__(self, client: aioredis.Redis, hash_key: bytes,
                 spool_dir: Optional[Union[Path, str]] = None) -> None:
        """Wrap a redis-py asyncio client (created with ``decode_responses=True``).

        Args:
            client: the Redis client; this object closes it.
            hash_key: the HMAC key for phone numbers and chat ids.
            spool_dir: where opt-outs and opt-ins Redis refused are spooled for any process to replay (created on
                first use); None keeps them in this process's memory only.
        """
        self._redis = client
        self._hash_key = hash_key
        self._spool = OptOutSpool(Path(spool_dir)) if spool_dir is not None else None
        # Decisions Redis refused and the spool could not take (or there is no spool), by key: honoured here,
        # written when Redis is back.
        self._unsaved: Dict[str, Decision] = {}
        self._replaying = False  # True while writing what was kept, so that write does not replay again

    @classmethod
    def from_url(cls, url: str, hash_key: bytes, spool_dir: Optional[Union[Path, str]] = None) -> "ChannelState":
        """A state backed by the Redis at ``url`` (no connection is made until first use)."""
        client = async_redis(url)
        return cls(client, hash_key, spool_dir=spool_dir)

    async def close(self) -> None:
        """Close the Redis client (redis-py 4.x: ``close``, not ``aclose``). The spool needs no closing."""
        await self._redis.close()

    def identity(self, channel: str, raw_id: str) -> str:
        """The hash that stands for a phone number or chat id (also the Rasa sender id's suffix)."""
        return identity_hash(self._hash_key, channel, raw_id)

    # --- Opt-outs ------------------------------------------------------------------------------------------------

    async def is_opted_out(self, channel: str, raw_id: str) -> bool:
        """True when this person asked for no more messages.

        While Redis is down, a decision spooled by any process on this host (or kept in this one) answers.

        Raises:
            ChannelStateUnavailable: Redis is down and nothing spooled or kept here tells about them.
        """
        key = state_key(channel, OPT_OUT, self.identity(channel, raw_id))
        try:
            opted_out = bool(await self._call(self._redis.exists(key)))
        except ChannelStateUnavailable:
            kept = await self._kept(key)
            if kept is None:
                raise
            return kept.opted_out
        if not opted_out and self._spool is not None and self._spool.has_pending():
            # Another process is replaying right now, or spooled after our replay: its STOP counts already.
            try:
                kept = await self._kept(key, strict=True)
            except OSError as error:
                raise ChannelStateUnavailable("the opt-out spool cannot be read") from error
            return kept is not None and kept.opted_out
        return opted_out

    async def opt_out(self, channel: str, raw_id: str) -> bool:
        """Record that this person wants no more messages. Never raises: a failed write is spooled and replayed.

        Returns:
            True when they were not opted out before (so the channel confirms once), or when Redis cannot tell.
        """
        key = state_key(channel, OPT_OUT, self.identity(channel, raw_id))
        at = time.time()
        # The value is the latest STOP's time, so a late replay of an older START cannot undo this one.
        pipe = self._redis.pipeline(transaction=True)
        pipe.exists(key)
        pipe.set(key, _stamp(at))
        try:
            existed, _ = await self._call(pipe.execute())
        except ChannelStateUnavailable:
            before = await self._kept(key)
            await self._keep(Decision(key, True, at), "opt-out")
            return not (before is not None and before.opted_out)
        self._unsaved.pop(key, None)
        return not existed

    async def opt_in(self, channel: str, raw_id: str) -> bool:
        """Remove an opt-out and mark the time of the opt-in. Never raises: a failed write is spooled and replayed.

        Returns:
            True when they were opted out before (or Redis cannot tell and nothing kept says they were not).
        """
        key = state_key(channel, OPT_OUT, self.identity(channel, raw_id))
        at = time.time()
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.set(_opt_in_key(key), _stamp(at), ex=OPT_IN_TTL_SECONDS)
        try:
            removed, _ = await self._call(pipe.execute())
        except ChannelStateUnavailable:
            before = await self._kept(key)
            await self._keep(Decision(key, False, at), "opt-in")
            return before is None or before.opted_out
        self._unsaved.pop(key, None)
        return bool(removed)

    # --- SMS menus -----------------------------------------------------------------------------------------------

    async def save_menu(self, channel: str, raw_id: str, payloads: Sequence[str]) -> None:
        """Remember the payloads of the numbered menu just sent; an empty menu forgets the last one.

        Raises:
            ChannelStateUnavailable: Redis is down.
        """
        key = state_key(channel, MENU, self.identity(channel, raw_id))
        if payloads:
            await self._call(self._redis.set(key, json.dumps(list(payloads)), ex=MENU_TTL_SECONDS))
        else:
            await self._call(self._redis.delete(key))

    async def menu(self, channel: str, raw_id: str) -> Sequence[str]:
        """The payloads of the last menu sent to this person (empty when none, or it expired).

        Raises:
            ChannelStateUnavailable: Redis is down.
        """
        raw = await self._call(self._redis.get(state_key(channel, MENU, self.identity(channel, raw_id))))
        if not raw:
            return ()
        try:
            payloads = json.loads(raw)
        except ValueError:
            logger.warning("a stored menu is not JSON; ignoring it")
            return ()
        return tuple(str(p) for p in payloads) if isinstance(payloads, list) else ()

    # --- Idempotency ---------------------------------------------------------------------------------------------

    async def first_delivery(self, channel: str, message_id: str) -> bool:
        """True the first time a message id is seen, False for a retry of it (``SET NX`` with expiry).

        Raises:
            ChannelStateUnavailable: Redis is down (the channel decides whether to answer anyway).
        """
        key = state_key(channel, SEEN, message_id)
        return bool(await self._call(self._redis.set(key, "1", nx=True, ex=SEEN_TTL_SECONDS)))

    # --- Buttons offered -----------------------------------------------------------------------------------------

    async def save_offered(self, channel: str, raw_id: str, payloads: Sequence[str]) -> None:
        """Remember that these payloads were offered to this person as buttons (kept a day after the last offer).

        A message carrying a payload is only passed to Rasa as one if it was offered: Rasa reads "/intent{...}"
        as an intent with slots, so a forged button press or a typed payload could otherwise steer a conversation.

        Raises:
            ChannelStateUnavailable: Redis is down.
        """
        if not payloads:
            return
        key = state_key(channel, OFFERED, self.identity(channel, raw_id))
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(key, *payloads)
        pipe.expire(key, OFFERED_TTL_SECONDS)
        await self._call(pipe.execute())

    async def was_offered(self, channel: str, raw_id: str, payload: str) -> bool:
        """True when ``payload`` was offered to this person as a button in the last day.

        Raises:
            ChannelStateUnavailable: Redis is down.
        """
        key = state_key(channel, OFFERED, self.identity(channel, raw_id))
        return bool(await self._call(self._redis.sismember(key, payload)))

    async def ping(self) -> bool:
        """True when Redis answers (for the web app's /readyz).

        Raises:
            ChannelStateUnavailable: Redis is down.
        """
        return bool(await self._call(self._redis.ping()))

    # --- Telegram callbacks --------------------------------------------------------------------------------------

    async def save_callbacks(self, channel: str, callbacks: Mapping[str, str]) -> None:
        """Remember what each short callback id stands for (one transaction).

        Raises:
            ChannelStateUnavailable: Redis is down.
        """
        if not callbacks:
            return
        pipe = self._redis.pipeline(transaction=True)
        for short_id, payload in callbacks.items():
            pipe.set(state_key(channel, CALLBACK, short_id), payload, ex=CALLBACK_TTL_SECONDS)
        await self._call(pipe.execute())

    async def callback_payload(self, channel: str, short_id: str) -> Optional[str]:
        """The payload a short callback id stands for, or None when unknown or expired.

        Raises:
            ChannelStateUnavailable: Redis is down.
        """
        return await self._call(self._redis.get(state_key(channel, CALLBACK, short_id)))

    # --- Internals -----------------------------------------------------------------------------------------------

    async def _keep(self, decision: Decision, what: str) -> None:
        """Spool a decision Redis refused (durably), or keep it in memory when there is no spool or it fails."""
        if self._spool is not None:
            try:
                await asyncio.to_thread(self._spool.append, decision)
            except OSError:
                logger.error("%s could not be saved to Redis nor to the spool in %s; kept in memory until Redis "
                             "answers", what, self._spool.directory, exc_info=True)
            else:
                logger.error("%s could not be saved to Redis; spooled in %s until it can be", what,
                             self._spool.directory, exc_info=True)
                self._unsaved.pop(decision.key, None)
                return
        else:
            logger.error("%s could not be saved to Redis; kept in memory until it can be", what, exc_info=True)
        self._unsaved[decision.key] = decision

    async def _kept(self, key: str, strict: bool = False) -> Optional[Decision]:
        """The latest decision not yet in Redis for ``key``: spooled by any process here, or kept in memory.

        Raises:
            OSError: only with ``strict``, when the spool cannot be read (otherwise that is logged).
        """
        found = [self._unsaved[key]] if key in self._unsaved else []
        if self._spool is not None:
            try:
                spooled = (await asyncio.to_thread(self._spool.pending)).get(key)
            except OSError:
                if strict:
                    raise
                logger.error("cannot read the opt-out spool in %s", self._spool.directory, exc_info=True)
                spooled = None
            if spooled is not None:
                found.append(spooled)
        return max(found, key=lambda decision: decision.at) if found else None

    def _has_kept(self) -> bool:
        return bool(self._unsaved) or (self._spool is not None and self._spool.has_pending())

    async def _replay(self) -> None:
        """Write the decisions kept during an outage: the spool's (any process's), then this process's memory.

        Raises:
            ChannelStateUnavailable: Redis refused them (they stay kept for the next call).
        """
        self._replaying = True
        try:
            if self._spool is not None and self._spool.has_pending():
                await self._replay_spool(self._spool)
            if self._unsaved:
                pending = dict(self._unsaved)
                await self._write(pending.values())
                for key, decision in pending.items():
                    if self._unsaved.get(key) is decision:
                        del self._unsaved[key]
                logger.info("saved %d opt-out change(s) kept in memory during a Redis outage", len(pending))
        finally:
            self._replaying = False

    async def _replay_spool(self, spool: OptOutSpool) -> None:
        try:
            with spool.replay_lock() as mine:
                if not mine:
                    return  # another process on this host is replaying it right now
                decisions = _latest(await asyncio.to_thread(spool.take))
                if decisions:
                    await self._write(decisions.values())  # on failure the .replaying file stays for next time
                await asyncio.to_thread(spool.done)
        except OSError:
            logger.error("cannot replay the opt-out spool in %s", spool.directory, exc_info=True)
            return
        if decisions:
            logger.info("replayed %d opt-out change(s) from the spool in %s", len(decisions), spool.directory)

    async def _write(self, decisions: Iterable[Decision]) -> None:
        """Write kept decisions in one transaction, each by the replay rule (module docstring)."""
        pipe = self._redis.pipeline(transaction=True)
        for decision in decisions:
            if decision.opted_out:
                pipe.eval(_REPLAY_OPT_OUT, 2, decision.key, _opt_in_key(decision.key), _stamp(decision.at))
            else:
                pipe.eval(_REPLAY_OPT_IN, 2, decision.key, _opt_in_key(decision.key), _stamp(decision.at),
                          OPT_IN_TTL_SECONDS)
        await self._call(pipe.execute())

    async def _call(self, awaitable: Awaitable[_R]) -> _R:
        """Await one Redis call, first writing anything kept during an outage; Redis errors become ours."""
        try:
            if not self._replaying and self._has_kept():
                await self._replay()
            return await awaitable
        except (RedisError, OSError) as error:
            raise ChannelStateUnavailable("Redis is not available for channel state") from error
        finally:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # a no-op once awaited; when the replay failed first, no "never awaited" warning
