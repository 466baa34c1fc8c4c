"""After the whole session: nothing in Redis and nothing in a service log holds a raw id or a personal detail that
a test typed, and every key but an opt-out expires (issue #7).

The audit runs last (``privacy_audit`` marker; see conftest): it reads what every other test left behind. The
``sensitive`` set holds each phone number, chat id and Rasa sender id the tests used, and the names, numbers,
emails, addresses and schools they typed into free-text answers and messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Set, Tuple

import pytest
import redis

from bot.stack import VAR_DIR

pytestmark = [pytest.mark.integration, pytest.mark.privacy_audit]

LOG_DIR = VAR_DIR / "test-logs"
# An opt-out (SMS STOP, Telegram /stop) is kept until the person opts back in: forgetting it would text them again.
NO_EXPIRY_BY_DESIGN = ("send:sms:optout:", "send:telegram:optout:")


def _everything(client: redis.Redis) -> Iterator[Tuple[str, str]]:
    """Every key with all of its content as one text, whatever its type."""
    for key in client.scan_iter("*"):
        kind = client.type(key)
        if kind == "string":
            content = client.get(key) or ""
        elif kind == "hash":
            content = " ".join(f"{k} {v}" for k, v in client.hgetall(key).items())
        elif kind == "set":
            content = " ".join(client.smembers(key))
        elif kind == "zset":
            content = " ".join(client.zrange(key, 0, -1))
        elif kind == "list":
            content = " ".join(client.lrange(key, 0, -1))
        elif kind == "stream":
            content = " ".join(str(entry) for entry in client.xrange(key))
        else:
            content = ""
        yield key, content


def test_redis_holds_no_raw_id_or_personal_detail(redis_client: redis.Redis, sensitive: Set[str]) -> None:
    """Scan every key and every value for every phone number, chat id, sender id and typed personal detail."""
    assert sensitive, "the session's tests registered nothing to look for"
    found = [(key, item) for key, content in _everything(redis_client) for item in sensitive
             if item in key or item in content]
    assert not found, found[:10]


def test_every_key_expires_except_opt_outs(redis_client: redis.Redis) -> None:
    """Retention: every key has an expiry, except the opt-outs that must outlive everything."""
    keys = list(redis_client.scan_iter("*"))
    assert any(key.startswith("send:survey:") for key in keys)
    forever = [key for key in keys if redis_client.ttl(key) < 0 and not key.startswith(NO_EXPIRY_BY_DESIGN)]
    assert not forever, forever[:10]


def test_service_logs_hold_no_raw_id_or_personal_detail(sensitive: Set[str], typed: Set[str]) -> None:
    """Scan every line of every service's log (Redis, action server, Rasa, web app) of this session, run at DEBUG
    (LOG_LEVEL=DEBUG: the libraries' own debug lines included), for every id and every message typed."""
    logs = sorted(Path(LOG_DIR).glob("*.log"))
    assert logs, f"no service logs in {LOG_DIR}"
    assert typed, "the session's tests registered no typed messages to look for"
    looked_for = sensitive | typed
    found = []
    lines = 0
    for log in logs:
        for number, line in enumerate(log.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            lines += 1
            found += [(log.name, number, item) for item in looked_for if item in line]
    assert lines > 100, "the services logged almost nothing: was the session really run at DEBUG?"
    assert not found, found[:10]
