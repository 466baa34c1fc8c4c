"""What the SMS and Telegram channels remember between messages, in Redis.

- **Opt-outs** (SMS STOP, Telegram /stop): no expiry, so they survive restarts; kept until the person opts back in.
- **The last numbered SMS menu** per sender, so a reply of "2" means that menu's second button (expires).
- **Seen message ids** (Twilio ``MessageSid``, Telegram ``update_id``): a retried webhook is answered once (expires).
- **Telegram callback ids**: a payload too long for ``callback_data`` travels as a short id (expires).

Phone numbers and chat ids are never stored: every key holds an HMAC-SHA256 of them (``identity_hash``), keyed
with a secret, so a copy of Redis does not list the families who wrote to us. Every key is built by ``state_key``
as ``send:<channel>:<kind>:<id>``: under the project's prefix but never ``send:tracker:`` or ``send:lock:``, which
belong to Rasa.

When Redis is down, reads raise ``ChannelStateUnavailable`` for the channel to turn into a calm reply or a logged
error. An opt-out or opt-in that cannot be written is kept in this process and written as soon as Redis answers
again, so a STOP is never forgotten; nothing is ever deleted because Redis failed.

Errors::

    ChannelStateError
    └── ChannelStateUnavailable     Redis could not be reached or timed out (the cause is chained)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Awaitable, Dict, Mapping, Optional, Sequence, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
_R = TypeVar("_R")

KEY_PREFIX = "send"
CHANNELS = frozenset({"sms", "telegram"})
OPT_OUT = "optout"
MENU = "menu"
SEEN = "seen"
CALLBACK = "callback"
KINDS = frozenset({OPT_OUT, MENU, SEEN, CALLBACK})
# Keys Rasa writes under the same prefix (tracker store, lock store): ours must never start like these.
RASA_KEY_KINDS = frozenset({"tracker", "lock"})

# A parent may answer a menu hours later (after the school run), but not a week later when it is forgotten.
MENU_TTL_SECONDS = 24 * 3600
# Twilio retries a webhook within seconds to minutes and Telegram for up to a day: a day of ids covers both.
SEEN_TTL_SECONDS = 24 * 3600
# A button stays in the chat history; 30 days matches how long a conversation is kept.
CALLBACK_TTL_SECONDS = 30 * 24 * 3600
# Our calls must fail fast when Redis hangs, so the webhook can still answer and the family gets a reply.
REDIS_TIMEOUT_SECONDS = 2.0
HASH_HEX_CHARS = 32  # 128 bits of the HMAC: no collisions, and short enough for a Rasa sender id


class ChannelStateError(RuntimeError):
    """The channel state could not be read or written."""


class ChannelStateUnavailable(ChannelStateError):
    """Redis could not be reached or did not answer in time."""


def state_key(channel: str, kind: str, ident: str) -> str:
    """The Redis key for one piece of channel state: ``send:<channel>:<kind>:<id>``.

    Args:
        channel: ``"sms"`` or ``"telegram"``.
        kind: ``"optout"``, ``"menu"``, ``"seen"`` or ``"callback"``.
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
SENDER_PREFIXES = {"sms": "sms-", "telegram": "tg-"}


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


class ChannelState:
    """The channels' Redis state, for one process (one client, closed with ``close``)."""

    def __init__(self, client: aioredis.Redis, hash_key: bytes) -> None:
        """Wrap a redis-py asyncio client (created with ``decode_responses=True``).

        Args:
            client: the Redis client; this object closes it.
            hash_key: the HMAC key for phone numbers and chat ids.
        """
        self._redis = client
        self._hash_key = hash_key
        # Opt-outs (True) and opt-ins (False) Redis refused, by key: honoured here, written when Redis is back.
        self._unsaved: Dict[str, bool] = {}
        self._saving = False  # True while writing them, so that write does not try to write them again

    @classmethod
    def from_url(cls, url: str, hash_key: bytes) -> "ChannelState":
        """A state backed by the Redis at ``url`` (no connection is made until first use)."""
        client = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        return cls(client, hash_key)

    async def close(self) -> None:
        """Close the Redis client (redis-py 4.x: ``close``, not ``aclose``)."""
        await self._redis.close()

    def identity(self, channel: str, raw_id: str) -> str:
        """The hash that stands for a phone number or chat id (also the Rasa sender id's suffix)."""
        return identity_hash(self._hash_key, channel, raw_id)

    # --- Opt-outs ------------------------------------------------------------------------------------------------

    async def is_opted_out(self, channel: str, raw_id: str) -> bool:
        """True when this person asked for no more messages.

        Raises:
            ChannelStateUnavailable: Redis is down and this process holds no unsaved answer for them.
        """
        key = state_key(channel, OPT_OUT, self.identity(channel, raw_id))
        await self._save_unsaved()
        if key in self._unsaved:
            return self._unsaved[key]
        return bool(await self._call(self._redis.exists(key)))

    async def opt_out(self, channel: str, raw_id: str) -> bool:
        """Record that this person wants no more messages. Never raises: a failed write is kept and retried.

        Returns:
            True when they were not opted out before (so the channel confirms once), or when Redis cannot tell.
        """
        key = state_key(channel, OPT_OUT, self.identity(channel, raw_id))
        try:
            created = await self._call(self._redis.set(key, str(int(time.time())), nx=True))
        except ChannelStateUnavailable:
            logger.error("opt-out could not be saved to Redis; kept in memory until it can be", exc_info=True)
            was_out = self._unsaved.get(key, False)
            self._unsaved[key] = True
            return not was_out
        self._unsaved.pop(key, None)
        return bool(created)

    async def opt_in(self, channel: str, raw_id: str) -> bool:
        """Remove an opt-out. Never raises: a failed write is kept and retried.

        Returns:
            True when they were opted out before (or Redis cannot tell and this process knew they were).
        """
        key = state_key(channel, OPT_OUT, self.identity(channel, raw_id))
        try:
            removed = await self._call(self._redis.delete(key))
        except ChannelStateUnavailable:
            logger.error("opt-in could not be saved to Redis; kept in memory until it can be", exc_info=True)
            was_out = self._unsaved.get(key, True)
            self._unsaved[key] = False
            return was_out
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

    async def _save_unsaved(self) -> None:
        """Write the opt-outs and opt-ins kept during an outage (the latest decision for each person)."""
        if not self._unsaved:
            return
        pending = dict(self._unsaved)
        pipe = self._redis.pipeline(transaction=True)
        for key, opted_out in pending.items():
            if opted_out:
                pipe.set(key, str(int(time.time())), nx=True)
            else:
                pipe.delete(key)
        self._saving = True
        try:
            await self._call(pipe.execute())
        except ChannelStateUnavailable:
            return  # still down: keep them; the caller's own call will report the outage
        finally:
            self._saving = False
        for key, opted_out in pending.items():
            if self._unsaved.get(key) is opted_out:
                del self._unsaved[key]
        logger.info("saved %d opt-out change(s) kept during a Redis outage", len(pending))

    async def _call(self, awaitable: Awaitable[_R]) -> _R:
        """Await one Redis call, first writing anything kept during an outage; Redis errors become ours."""
        if self._unsaved and not self._saving:
            await self._save_unsaved()
        try:
            return await awaitable
        except (RedisError, OSError) as error:
            raise ChannelStateUnavailable("Redis is not available for channel state") from error
