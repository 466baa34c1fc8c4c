"""The one way our processes open an asyncio Redis client.

Two things every client needs, learnt the hard way:

- **Fail fast** (2 s timeouts): when Redis hangs, a webhook must still answer and a family still get a calm reply.
- **Survive a Redis restart.** redis-py's asyncio pool does not notice that the server closed a pooled socket, so
  without a retry the first command after a restart (a deploy, a crash with AOF) fails and the family's survey
  answer is refused. One quick retry on a connection error opens a fresh socket; when Redis is really down it
  still gives up within a fraction of a second.

Every command we send is safe to repeat once: SET/SADD/HSET/EXPIRE are idempotent, and our scripts either are, or
(the survey submit script) take their own counts back out.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

TIMEOUT_SECONDS = 2.0
RETRIES = 2


def async_redis(url: str) -> aioredis.Redis:
    """A client for ``url`` returning text, with 2 s timeouts and a retry on a dropped connection.

    No connection is made until the first command, so this is safe to call outside a running event loop.
    """
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
        retry_on_error=[RedisConnectionError],
        retry=Retry(ExponentialBackoff(cap=0.25, base=0.05), RETRIES),
    )
