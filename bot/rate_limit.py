"""Per-sender rate limiting, kept in Redis so it holds across replicas (issue #10).

Each channel (SMS, Telegram, the web chat) asks ``RateLimiter.check`` before a message reaches the assistant. A
sender may send ``limit_per_minute`` messages in a fixed 60-second window; the next one is refused with
``first_refusal`` set, so the channel sends ONE polite reply, and every later one in the window is refused
silently (no reply: a flood must not make us text back a flood).

The count lives in Redis under ``send:<channel>:rate:<identity>:<window>`` (``bot.channel_state.state_key``, kind
``rate``), where ``<window>`` is the Unix time divided by 60, so every replica sharing the Redis counts into the
same key; replicas must keep time (NTP), or a skewed one counts into a neighbouring window. ``INCR`` and
``EXPIRE`` run in one ``MULTI`` transaction, so no key is ever left without an expiry: nothing is kept beyond two
windows. ``identity`` is the keyed hash of the phone number, chat id or web session (``ChannelState.identity``),
never a raw id.

When Redis is down the message is allowed (fail open). A limiter that failed closed would silence every family
exactly when something else is already wrong, and buys nothing: the rest of the turn needs Redis too (the opt-out
check fails closed, Rasa's tracker store is in the same Redis), so the message is then answered calmly or not at
all, never sent on unchecked. The outage is logged once, and again when Redis answers.

Errors: ``check`` raises ``ValueError`` for an unknown channel or an identity that is not a hash-like id; it never
raises for Redis.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.channel_state import RATE, state_key
from bot.redis_client import async_redis

logger = logging.getLogger(__name__)

RATE_CHANNELS = frozenset({"sms", "telegram", "web"})
WINDOW_SECONDS = 60
# A window's key must outlive its window (a count read at 59 s), and no more: two windows.
KEY_TTL_SECONDS = 2 * WINDOW_SECONDS


@dataclass(frozen=True)
class Verdict:
    """Whether one message may go on, and whether it is the first refused in its window (reply once, then not)."""

    allowed: bool
    first_refusal: bool = False


ALLOWED = Verdict(allowed=True)


class RateLimiter:
    """Counts each sender's messages per minute in Redis, shared by every replica (one client, ``close`` it)."""

    def __init__(self, client: aioredis.Redis, limit_per_minute: int,
                 clock: Callable[[], float] = time.time) -> None:
        """Wrap a redis-py asyncio client (``decode_responses=True``); this object closes it.

        Args:
            client: the Redis client.
            limit_per_minute: messages a sender may send in one 60-second window (at least 1).
            clock: the Unix time (tests fix it, so a test never straddles two windows).

        Raises:
            ValueError: the limit is below 1.
        """
        self._redis = client
        self._limit = _checked_limit(limit_per_minute)
        self._clock = clock
        self._redis_down = False  # so an outage is logged once, not once per message

    @classmethod
    def from_url(cls, url: str, limit_per_minute: int, clock: Callable[[], float] = time.time) -> "RateLimiter":
        """A limiter on the Redis at ``url`` (no connection is made until first use; 2 s timeouts).

        Raises:
            ValueError: the limit is below 1.
        """
        _checked_limit(limit_per_minute)
        client = async_redis(url)
        return cls(client, limit_per_minute, clock=clock)

    @property
    def limit_per_minute(self) -> int:
        """Messages a sender may send in one window."""
        return self._limit

    async def close(self) -> None:
        """Close the Redis client (redis-py 4.x: ``close``, not ``aclose``)."""
        await self._redis.close()

    async def check(self, channel: str, identity: str) -> Verdict:
        """Count one message from ``identity`` on ``channel`` and say whether it may go on.

        Args:
            channel: ``"sms"``, ``"telegram"`` or ``"web"``.
            identity: the sender's keyed hash (``ChannelState.identity``), never a phone number or chat id.

        Returns:
            ``Verdict(allowed=True)`` within the limit, or when Redis is down; ``Verdict(False, True)`` for the
            first message over it in this window; ``Verdict(False, False)`` for every later one.

        Raises:
            ValueError: an unknown channel, or an identity that is empty or holds a space or a colon.
        """
        if channel not in RATE_CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(sorted(RATE_CHANNELS))}")
        if not identity or ":" in identity or any(ch.isspace() for ch in identity):
            raise ValueError("a rate-limit identity must be a keyed hash: non-empty, without spaces or colons")
        window = int(self._clock() // WINDOW_SECONDS)
        key = state_key(channel, RATE, f"{identity}:{window}")
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, KEY_TTL_SECONDS)
        try:
            count, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            if not self._redis_down:
                logger.warning("rate limit not checked: Redis is not available (%s); allowing messages until it "
                               "answers", type(error).__name__)
                self._redis_down = True
            return ALLOWED
        if self._redis_down:
            logger.info("rate limit checked again: Redis answers")
            self._redis_down = False
        if count <= self._limit:
            return ALLOWED
        if count == self._limit + 1:
            logger.info("a %s sender went over %d messages a minute; replying once, then silence", channel,
                        self._limit)
            return Verdict(allowed=False, first_refusal=True)
        return Verdict(allowed=False, first_refusal=False)


def _checked_limit(limit_per_minute: int) -> int:
    if isinstance(limit_per_minute, bool) or not isinstance(limit_per_minute, int) or limit_per_minute < 1:
        raise ValueError(f"limit_per_minute must be a whole number of at least 1, not {limit_per_minute!r}")
    return limit_per_minute
