"""Who exported or downloaded what, and when: a Redis stream and one log line per event, never the data itself.

The forum's results are anonymised, but an export is still a copy of a year's answers leaving the system, so the
partnership must be able to say who took which copy. An entry records the member (or ``cli:<os user>``), the
action, the survey, the format and the filter (dates, threshold): never a figure, an answer or a quote. The
parameters are checked to be short scalars, so a caller cannot slip results into the log by mistake.

Entries older than ``AUDIT_RETENTION_DAYS`` are trimmed at every write, and the stream itself expires that long
after its latest entry, like every other key.

==========================  ======  ==================================================================
key                         type    holds (expiry)
==========================  ======  ==================================================================
``send:forum:audit``        stream  ``at``, ``who``, ``action``, ``survey``, ``format``, ``params`` (JSON)
                                    (``AUDIT_RETENTION_DAYS`` after the latest entry)
==========================  ======  ==================================================================

Errors: ``ValueError`` for an entry that is not what an audit entry may hold; ``SurveyStoreUnavailable`` when
Redis is down.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Union

import redis.asyncio as aioredis

from bot.surveys.store import DAY_SECONDS, KEY_PREFIX, check_id, redis_call, redis_client

logger = logging.getLogger("bot.forum.audit")

AUDIT_RETENTION_DAYS = 365
# Also a hard cap, so a runaway script cannot grow the stream without end (about 100 exports a day for 3 years).
AUDIT_MAX_ENTRIES = 100_000
WHO_PATTERN = re.compile(r"[A-Za-z0-9._:@-]{1,80}")
ACTION_PATTERN = re.compile(r"[a-z][a-z_]{0,31}")
FORMAT_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,23}")
PARAM_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_PARAMS = 10
MAX_PARAM_CHARS = 64

Scalar = Union[str, int, float, bool, None]


@dataclass(frozen=True)
class AuditEntry:
    """One recorded event."""

    at: datetime  # when (UTC, to the second)
    who: str  # the forum member's user name, or "cli:<os user>"
    action: str  # "download", "export", "update", ...
    survey_id: Optional[str]
    fmt: Optional[str]  # "xlsx", "summary.csv", ...; None when no file was made
    params: Dict[str, Scalar]  # the filter asked for: from, to, closed_only, threshold


def _checked_params(params: Optional[Mapping[str, Any]]) -> Dict[str, Scalar]:
    if not params:
        return {}
    if len(params) > MAX_PARAMS:
        raise ValueError(f"an audit entry takes at most {MAX_PARAMS} parameters")
    checked: Dict[str, Scalar] = {}
    for name, value in params.items():
        if not isinstance(name, str) or not PARAM_NAME_PATTERN.fullmatch(name):
            raise ValueError(f"an audit parameter name must be a short lower_case word, got {name!r}")
        if hasattr(value, "isoformat"):  # a date: the filter's from/to
            value = value.isoformat()
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"audit parameter {name!r} must be a date, text, a number or true/false")
        if isinstance(value, str) and (len(value) > MAX_PARAM_CHARS or not value.isprintable()):
            raise ValueError(f"audit parameter {name!r} must be at most {MAX_PARAM_CHARS} printable characters")
        checked[name] = value
    return checked


class AuditLog:
    """The export and download log in Redis (plus the ``bot.forum.audit`` logger)."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = KEY_PREFIX,
                 retention_days: int = AUDIT_RETENTION_DAYS) -> None:
        """Wrap a redis-py asyncio client made with ``decode_responses=True`` (the caller closes it)."""
        self._redis = client
        self._key = f"{check_id(prefix, 'a key prefix')}:forum:audit"
        self._retention_days = retention_days

    async def record(self, who: str, action: str, survey_id: Optional[str], fmt: Optional[str] = None,
                     params: Optional[Mapping[str, Any]] = None) -> AuditEntry:
        """Record one event: in the stream first, then the log line (so a logged event is always in Redis too).

        Args:
            who: the forum member's user name, or ``"cli:<os user>"``.
            action: what was done, a lower_case word ("download", "export", "update").
            survey_id: the survey, or None for an event about no one survey.
            fmt: the format written, if a file was made.
            params: the filter asked for (dates, closed_only, threshold): short scalars only, never results.

        Returns:
            The entry as recorded.

        Raises:
            ValueError: a field that an audit entry may not hold (too long, not a scalar, odd characters).
            SurveyStoreUnavailable: Redis is down; nothing was recorded (the caller should not hand the file out).
        """
        if not isinstance(who, str) or not WHO_PATTERN.fullmatch(who):
            raise ValueError("who must be a user name or cli:<os user> (letters, digits, . _ : @ -; up to 80)")
        if not isinstance(action, str) or not ACTION_PATTERN.fullmatch(action):
            raise ValueError("action must be a short lower_case word")
        if survey_id is not None:
            check_id(survey_id, "a survey id")
        if fmt is not None and (not isinstance(fmt, str) or not FORMAT_PATTERN.fullmatch(fmt)):
            raise ValueError("fmt must be a format name such as xlsx or summary.csv")
        checked = _checked_params(params)
        at = datetime.now(timezone.utc).replace(microsecond=0)
        fields = {"at": at.isoformat(), "who": who, "action": action, "survey": survey_id or "",
                  "format": fmt or "", "params": json.dumps(checked, sort_keys=True, separators=(",", ":"))}
        oldest_ms = int((time.time() - self._retention_days * DAY_SECONDS) * 1000)
        pipe = self._redis.pipeline(transaction=True)
        pipe.xadd(self._key, fields, minid=str(oldest_ms), approximate=True)
        pipe.xtrim(self._key, maxlen=AUDIT_MAX_ENTRIES, approximate=True)
        pipe.expire(self._key, self._retention_days * DAY_SECONDS)
        await redis_call(pipe.execute(), "the forum's audit log")
        logger.info("%s %s survey=%s format=%s params=%s", who, action, survey_id or "-", fmt or "-",
                    fields["params"])
        return AuditEntry(at=at, who=who, action=action, survey_id=survey_id, fmt=fmt, params=checked)

    async def recent(self, count: int = 100) -> List[AuditEntry]:
        """The latest entries, newest first.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        rows = await redis_call(self._redis.xrevrange(self._key, count=count), "the forum's audit log")
        entries = []
        for _, fields in rows:
            try:
                params = json.loads(fields.get("params") or "{}")
                entries.append(AuditEntry(
                    at=datetime.fromisoformat(fields["at"]), who=fields["who"], action=fields["action"],
                    survey_id=fields.get("survey") or None, fmt=fields.get("format") or None,
                    params=params if isinstance(params, dict) else {},
                ))
            except (KeyError, ValueError):
                logger.warning("skipping a malformed entry in the forum's audit log")
        return entries


async def record(settings: Any, who: str, action: str, survey_id: Optional[str], fmt: Optional[str] = None,
                 params: Optional[Mapping[str, Any]] = None) -> AuditEntry:
    """``AuditLog.record`` on the Redis of ``settings``, with a client of its own; for the CLI's export.

    Raises:
        ValueError, SurveyStoreUnavailable: see ``AuditLog.record``.
    """
    client = redis_client(settings.redis_url)
    try:
        return await AuditLog(client).record(who, action, survey_id, fmt, params)
    finally:
        await client.close()
