"""Per-sender rate limiting in Redis, shared by replicas: 20 a minute, one polite refusal, then silence; keys that
expire; and messages allowed when Redis is down. Against the real test Redis (no mocks). Issue #10."""

from __future__ import annotations

import time
from typing import AsyncIterator, Callable, List

import pytest
import redis

from bot.channel_state import identity_hash
from bot.rate_limit import KEY_TTL_SECONDS, WINDOW_SECONDS, RateLimiter, Verdict
from bot.stack import LOOPBACK, free_port

LIMIT = 20
NOW = 1_750_000_020.0  # a fixed moment, mid-window, so no test straddles two windows
SENDER = identity_hash(b"test-hash-key", "sms", "+447700900123")
OTHER = identity_hash(b"test-hash-key", "sms", "+447700900456")


@pytest.fixture
async def new_limiter(redis_url: str) -> AsyncIterator[Callable[..., RateLimiter]]:
    """Makes RateLimiters on the test Redis (each like another replica) and closes them afterwards."""
    made: List[RateLimiter] = []

    def _make(clock: Callable[[], float] = lambda: NOW) -> RateLimiter:
        made.append(RateLimiter.from_url(redis_url, LIMIT, clock=clock))
        return made[-1]

    yield _make
    for limiter in made:
        await limiter.close()


async def test_the_limit_then_one_polite_refusal_then_silence(new_limiter) -> None:
    """20 allowed; the 21st refused with first_refusal (one reply); the 22nd and later refused silently."""
    limiter = new_limiter()
    verdicts = [await limiter.check("sms", SENDER) for _ in range(LIMIT + 3)]
    assert verdicts[:LIMIT] == [Verdict(allowed=True, first_refusal=False)] * LIMIT
    assert verdicts[LIMIT] == Verdict(allowed=False, first_refusal=True)
    assert verdicts[LIMIT + 1:] == [Verdict(allowed=False, first_refusal=False)] * 2


async def test_senders_and_channels_are_counted_apart(new_limiter) -> None:
    """One sender over the limit does not slow another, nor the same hash on another channel."""
    limiter = new_limiter()
    for _ in range(LIMIT + 1):
        await limiter.check("sms", SENDER)
    assert not (await limiter.check("sms", SENDER)).allowed
    assert (await limiter.check("sms", OTHER)).allowed
    assert (await limiter.check("telegram", SENDER)).allowed
    assert (await limiter.check("web", SENDER)).allowed


async def test_replicas_share_the_count(new_limiter) -> None:
    """Two limiters (two replicas) on one Redis: 10 + 10 allowed, the 21st refused wherever it lands."""
    first, second = new_limiter(), new_limiter()
    for _ in range(LIMIT // 2):
        assert (await first.check("web", SENDER)).allowed
        assert (await second.check("web", SENDER)).allowed
    assert await second.check("web", SENDER) == Verdict(allowed=False, first_refusal=True)
    assert await first.check("web", SENDER) == Verdict(allowed=False, first_refusal=False)


async def test_a_new_window_allows_again(new_limiter) -> None:
    """The count is per 60-second window: the next window starts from nothing."""
    now = [NOW]
    limiter = new_limiter(clock=lambda: now[0])
    for _ in range(LIMIT + 1):
        await limiter.check("sms", SENDER)
    assert not (await limiter.check("sms", SENDER)).allowed
    now[0] += WINDOW_SECONDS
    assert (await limiter.check("sms", SENDER)).allowed


async def test_counts_expire_and_hold_no_raw_id(new_limiter, raw: redis.Redis) -> None:
    """Every counter has a TTL of at most two windows (120 s), and its key holds only the hash."""
    limiter = new_limiter()
    await limiter.check("sms", SENDER)
    await limiter.check("telegram", OTHER)
    keys = sorted(raw.scan_iter("send:*"))
    assert keys == sorted([f"send:sms:rate:{SENDER}:{int(NOW // 60)}", f"send:telegram:rate:{OTHER}:{int(NOW // 60)}"])
    assert all(0 < raw.ttl(key) <= KEY_TTL_SECONDS <= 120 for key in keys)
    assert not any("7700900" in key for key in keys)


async def test_redis_down_allows(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listening: allowed (fail open), quickly, and the outage logged once."""
    limiter = RateLimiter.from_url(f"redis://{LOOPBACK}:{free_port()}/0", LIMIT)
    try:
        started = time.monotonic()
        verdicts = [await limiter.check("telegram", SENDER) for _ in range(LIMIT + 2)]
        assert time.monotonic() - started < 10
    finally:
        await limiter.close()
    assert verdicts == [Verdict(allowed=True)] * (LIMIT + 2)
    assert len([r for r in caplog.records if r.name == "bot.rate_limit" and "not available" in r.getMessage()]) == 1


@pytest.mark.parametrize(("channel", "identity"), [("email", SENDER), ("sms", ""), ("sms", "a b"),
                                                   ("sms", "abc:1"), ("tracker", SENDER)],
                         ids=["unknown-channel", "empty", "space", "colon", "rasa-prefix"])
async def test_bad_channels_and_identities_are_refused(new_limiter, channel: str, identity: str) -> None:
    """A raw id with spaces, or one that could reshape the key, is a programming error."""
    with pytest.raises(ValueError):
        await new_limiter().check(channel, identity)


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_a_limit_below_one_is_refused(limit: object) -> None:
    with pytest.raises(ValueError):
        RateLimiter.from_url("redis://127.0.0.1:1/0", limit)  # type: ignore[arg-type]
