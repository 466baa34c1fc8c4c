"""Survey answers in Redis: anonymised, counted, kept for a fixed time, and stored whole or not at all.

Who answered is never stored. The caller passes ``respondent``, a keyed hash of the sender id made for this one
survey (``bot.privacy.hashing.respondent_id``), so a copy of Redis links no answer to a phone number, a chat or the
same person's answers to another survey; this module refuses anything that does not look like such a hash. The day
an answer was given is kept without a time of day, which would make a respondent easier to pick out.

Every key of a survey is built by ``survey_key`` as ``<prefix>:survey:<survey_id>:<kind>[:<ident>]``:

========================================  ==========  ===========================================================
key                                       type        holds (expiry)
========================================  ==========  ===========================================================
``…:survey:<id>:response:<respondent>``   string      JSON: answers, submitted day, the counter fields it added
                                                      (retention after it was given)
``…:survey:<id>:index``                   sorted set  respondent -> submitted day as epoch seconds, for the
                                                      export (retention after the latest answer)
``…:survey:<id>:counts``                  hash        ``<question>=<value>`` -> how many answered so
                                                      (retention after the latest answer)
``…:survey:<id>:draft:<respondent>``      string      JSON: an answer in progress (the draft expiry, never more
                                                      than a day past the survey's last day)
``…:survey:<id>:invited``                 set         panel member ids invited (written by ``panel.PanelStore``)
``…:survey:<id>:updated``                 set         ``<member id>:<update version>`` sent a "you said, we did"
                                                      update (``panel.PanelStore``; retention after the close)
========================================  ==========  ===========================================================

A response is written by one Lua script: it takes the old response's counts back, adds the new ones, stores the
response, indexes it and drops the draft. Redis runs a script alone, so a response is never half-stored and two
retakes racing cannot count twice. Redis does not roll a failed script back, so the scripts check every key's type
and every counter before their first write. Deleting ("delete my data") is a script too.

Counts are an aggregate kept as long as the newest answer: an answer that expires on its own (a year after it was
given) cannot be taken back out of them, so for a survey whose answers span weeks the counts can include answers
expired in the last weeks. ``responses`` and ``response_count`` read the answers themselves and are exact.

Errors::

    SurveyStoreError                Redis refused a command (a key of the wrong type, a corrupt counter)
    ├── SurveyStoreUnavailable      Redis could not be reached, timed out or is read-only (the cause is chained);
    │                               nothing was written, or everything was
    └── SurveyClosed                a draft for a survey whose last day has passed
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import date, datetime, timedelta
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.redis_client import async_redis

logger = logging.getLogger(__name__)
_R = TypeVar("_R")

KEY_PREFIX = "send"
SURVEY = "survey"
RESPONSE = "response"
INDEX = "index"
COUNTS = "counts"
DRAFT = "draft"
INVITED = "invited"
UPDATED = "updated"
KINDS = frozenset({RESPONSE, INDEX, COUNTS, DRAFT, INVITED, UPDATED})
KINDS_WITH_IDENT = frozenset({RESPONSE, DRAFT})

# Ids that go into keys: no spaces, colons or SCAN glob characters, so a key always splits back into its parts.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# A respondent is a keyed hash (bot.privacy.hashing, 128 bits in hex): anything else may be a raw sender id.
RESPONDENT_PATTERN = re.compile(r"[0-9a-f]{32}")

LIKERT = "likert"
SINGLE_CHOICE = "single_choice"
MULTIPLE_CHOICE = "multiple_choice"
YES_NO = "yes_no"
NPS = "nps"
STATEMENT = "statement"
FREE_TEXT = "free_text"
YES_NO_VALUES = frozenset({"yes", "no"})
STATEMENT_VALUES = frozenset({"agree", "disagree", "pass"})
# What a free-text answer adds to the counts: that it was answered, never its words.
FREE_TEXT_COUNTED = "answered"

DAY_SECONDS = 24 * 3600
# Responses read per MGET by ``responses``: few round trips, and no reply too big for the 2 s timeout.
EXPORT_BATCH = 100

# KEYS: response, index, counts, draft. ARGV: response JSON, retention seconds, respondent, day epoch, fields...
_SUBMIT_LUA = """
local function check_type(key, wanted)
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'none' and kind ~= wanted then
    return redis.error_reply('WRONGTYPE ' .. key .. ' is a ' .. kind .. ', not a ' .. wanted)
  end
end
local refused = check_type(KEYS[1], 'string') or check_type(KEYS[2], 'zset') or check_type(KEYS[3], 'hash')
  or check_type(KEYS[4], 'string')
if refused then return refused end
local old = redis.call('GET', KEYS[1])
local old_fields = {}
if old then
  local ok, decoded = pcall(cjson.decode, old)
  if ok and type(decoded) == 'table' and type(decoded['fields']) == 'table' then old_fields = decoded['fields'] end
end
local touched = {}
for _, field in ipairs(old_fields) do touched[#touched + 1] = field end
for i = 5, #ARGV do touched[#touched + 1] = ARGV[i] end
if #touched > 0 then
  local current = redis.call('HMGET', KEYS[3], unpack(touched))
  for i, value in ipairs(current) do
    if value and not string.match(value, '^%-?%d+$') then
      return redis.error_reply('counter ' .. touched[i] .. ' is not a number')
    end
  end
end
for _, field in ipairs(old_fields) do
  if redis.call('HINCRBY', KEYS[3], field, -1) <= 0 then redis.call('HDEL', KEYS[3], field) end
end
for i = 5, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('DEL', KEYS[4])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
if old then return 0 end
return 1
"""

# KEYS: response, index, counts, draft. ARGV: respondent. Returns 1 when a response or a draft was deleted.
_DELETE_LUA = """
local kind = redis.call('TYPE', KEYS[3])['ok']
if kind ~= 'none' and kind ~= 'hash' then return redis.error_reply('WRONGTYPE ' .. KEYS[3]) end
local old = false
if redis.call('TYPE', KEYS[1])['ok'] == 'string' then old = redis.call('GET', KEYS[1]) end
if old then
  local ok, decoded = pcall(cjson.decode, old)
  if ok and type(decoded) == 'table' and type(decoded['fields']) == 'table' then
    for _, field in ipairs(decoded['fields']) do
      local value = redis.call('HGET', KEYS[3], field)
      if value and string.match(value, '^%-?%d+$') then
        if redis.call('HINCRBY', KEYS[3], field, -1) <= 0 then redis.call('HDEL', KEYS[3], field) end
      end
    end
  end
end
local removed = redis.call('DEL', KEYS[1], KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
if removed > 0 then return 1 end
return 0
"""

# KEYS: index, then one response key per ARGV member. Drops index entries whose response has expired; checking and
# removing in one script means a respondent who answers again meanwhile is never dropped.
_PRUNE_LUA = """
local removed = 0
for i, member in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then removed = removed + redis.call('ZREM', KEYS[1], member) end
end
return removed
"""


class SurveyStoreError(RuntimeError):
    """Survey answers could not be read or written."""


class SurveyStoreUnavailable(SurveyStoreError):
    """Redis could not be reached, did not answer in time, or cannot take writes."""


class SurveyClosed(SurveyStoreError):
    """The survey's last day has passed, so nothing more can be kept for it."""


def check_id(value: str, what: str) -> str:
    """Return ``value`` if it can be part of a key: 1-64 letters, digits, ``_``, ``.`` or ``-``.

    Raises:
        ValueError: it is empty, too long, or has a space, a colon or a glob character (the message names ``what``).
    """
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ValueError(f"{what} must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return value


def survey_key(prefix: str, survey_id: str, kind: str, ident: Optional[str] = None) -> str:
    """The Redis key for one piece of a survey: ``<prefix>:survey:<survey_id>:<kind>[:<ident>]``.

    Args:
        prefix: the project's key prefix (``"send"``).
        survey_id: the survey's id.
        kind: ``"response"`` or ``"draft"`` (with ``ident``), ``"index"``, ``"counts"`` or ``"invited"`` (without).
        ident: the respondent hash, for responses and drafts.

    Raises:
        ValueError: an unknown kind, an ident missing or given where it does not belong, or a part that could
            break the key's shape.
    """
    check_id(prefix, "a key prefix")
    check_id(survey_id, "a survey id")
    if kind not in KINDS:
        raise ValueError(f"unknown survey key kind {kind!r}")
    if kind in KINDS_WITH_IDENT:
        if ident is None:
            raise ValueError(f"a survey {kind} key needs an id")
        return f"{prefix}:{SURVEY}:{survey_id}:{kind}:{check_id(ident, 'a key id')}"
    if ident is not None:
        raise ValueError(f"a survey {kind} key takes no id")
    return f"{prefix}:{SURVEY}:{survey_id}:{kind}"


def counter_fields(survey: Any, answers: Mapping[str, Any]) -> List[str]:
    """The counter fields a response adds: ``<question>=<value>``, in question order.

    A multiple-choice answer adds one field per value chosen, a free-text answer only ``<question>=answered`` (its
    words are not counted), and a question left unanswered (missing or None) adds none.

    Args:
        survey: the survey (``id`` and ``questions``, each with ``id`` and ``kind``).
        answers: question id -> answer value.

    Returns:
        The fields, each at most once.

    Raises:
        ValueError: an answer to a question the survey does not have, or a value that does not fit its question.
    """
    questions = {question.id: question for question in survey.questions}
    unknown = sorted(set(answers) - set(questions))
    if unknown:
        raise ValueError(f"answers to questions survey {survey.id!r} does not have: {', '.join(unknown)}")
    fields: List[str] = []
    for question in survey.questions:
        value = answers.get(question.id)
        if value is not None:
            fields.extend(f"{question.id}={counted}" for counted in _counted_values(question, value))
    return fields


def _counted_values(question: Any, value: Any) -> List[str]:
    """The values one answer adds to the counts (checked against the question's kind)."""
    kind = question.kind
    if kind in (LIKERT, NPS):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"question {question.id!r} ({kind}) takes a whole number")
        return [str(value)]
    if kind == YES_NO:
        return [_one_of(question, value, YES_NO_VALUES)]
    if kind == STATEMENT:
        return [_one_of(question, value, STATEMENT_VALUES)]
    if kind == SINGLE_CHOICE:
        return [_option(question, value)]
    if kind == MULTIPLE_CHOICE:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(f"question {question.id!r} (multiple_choice) takes a list of option values")
        return list(dict.fromkeys(_option(question, option) for option in value))
    if kind == FREE_TEXT:
        if not isinstance(value, str):
            raise ValueError(f"question {question.id!r} (free_text) takes text")
        return [FREE_TEXT_COUNTED] if value.strip() else []
    raise ValueError(f"question {question.id!r} has an unknown kind {kind!r}")


def _one_of(question: Any, value: Any, allowed: frozenset) -> str:
    if value not in allowed:
        raise ValueError(f"question {question.id!r} ({question.kind}) takes one of {', '.join(sorted(allowed))}")
    return str(value)


def _option(question: Any, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"question {question.id!r} ({question.kind}) takes option values")
    return value


def _stored_answers(survey: Any, answers: Mapping[str, Any]) -> Dict[str, Any]:
    """The answers as stored: questions in survey order, unanswered ones left out, lists as lists."""
    stored: Dict[str, Any] = {}
    for question in survey.questions:
        value = answers.get(question.id)
        if value is None:
            continue
        stored[question.id] = list(dict.fromkeys(value)) if question.kind == MULTIPLE_CHOICE else value
    return stored


def as_day(value: date) -> date:
    """The day alone: a ``datetime`` passed by mistake loses its time of day, which would help identify someone."""
    return value.date() if isinstance(value, datetime) else value


def day_epoch(day: date) -> int:
    """Midnight UTC of ``day`` as epoch seconds: the index's score, a day with no time of day."""
    return (as_day(day) - date(1970, 1, 1)).days * DAY_SECONDS


def _respondent(respondent: str) -> str:
    if not isinstance(respondent, str) or not RESPONDENT_PATTERN.fullmatch(respondent):
        raise ValueError("respondent must be bot.privacy.hashing.respondent_id(...), never a sender id")
    return respondent


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a whole number of seconds greater than 0")
    return value


async def redis_call(awaitable: Awaitable[_R], what: str) -> _R:
    """Await one Redis call; its errors become ours.

    Args:
        awaitable: the redis-py call.
        what: what the data is, for the message ("survey answers").

    Raises:
        SurveyStoreUnavailable: Redis is unreachable, timed out or read-only.
        SurveyStoreError: Redis refused the command.
    """
    try:
        return await awaitable
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError, asyncio.TimeoutError) as error:
        raise SurveyStoreUnavailable(f"Redis is not available for {what}") from error
    except RedisError as error:
        raise SurveyStoreError(f"Redis refused a command on {what}: {error}") from error


def redis_client(url: str) -> aioredis.Redis:
    """A client for the survey stores: text replies, and 2 s timeouts so an outage fails fast (like channel state)."""
    return async_redis(url)


class SurveyStore:
    """Survey responses, drafts and counts in Redis, for one process (one client, closed with ``close``)."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = KEY_PREFIX, retention_seconds: int,
                 draft_seconds: int) -> None:
        """Wrap a redis-py asyncio client created with ``decode_responses=True``.

        Args:
            client: the Redis client; this object closes it.
            prefix: the first part of every key.
            retention_seconds: how long a response, the index and the counts are kept after the latest answer.
            draft_seconds: how long an answer in progress is kept (never past the survey's close, nor retention).

        Raises:
            ValueError: a bad prefix or a period that is not a positive whole number of seconds.
        """
        self._redis = client
        self._prefix = check_id(prefix, "a key prefix")
        self._retention = _positive(retention_seconds, "retention_seconds")
        self._draft_seconds = min(_positive(draft_seconds, "draft_seconds"), self._retention)
        # Registered once: redis-py sends EVALSHA and loads the script again only if Redis lost it (a restart).
        self._submit = client.register_script(_SUBMIT_LUA)
        self._delete = client.register_script(_DELETE_LUA)
        self._prune = client.register_script(_PRUNE_LUA)

    @classmethod
    def from_settings(cls, settings: Any) -> "SurveyStore":
        """A store on ``settings.redis_url`` with the configured retention and draft expiry (no connection yet)."""
        return cls(
            redis_client(settings.redis_url),
            retention_seconds=settings.response_retention_days * DAY_SECONDS,
            draft_seconds=settings.draft_expiry_days * DAY_SECONDS,
        )

    async def close(self) -> None:
        """Close the Redis client (redis-py 4.x: ``close``, not ``aclose``)."""
        await self._redis.close()

    def _key(self, survey_id: str, kind: str, respondent: Optional[str] = None) -> str:
        return survey_key(self._prefix, survey_id, kind, None if respondent is None else _respondent(respondent))

    async def _call(self, awaitable: Awaitable[_R]) -> _R:
        return await redis_call(awaitable, "survey answers")

    # --- Drafts --------------------------------------------------------------------------------------------------

    async def save_draft(self, survey: Any, respondent: str, progress: Mapping[str, Any], *, today: date) -> None:
        """Keep an answer in progress, so a respondent can finish later (after the school run).

        It expires after the draft period, and at the latest a day after ``today`` on the survey's last day, so a
        half-answered survey never outlives the survey.

        Args:
            survey: the survey (``id``, ``closes``).
            respondent: the respondent hash.
            progress: JSON-serialisable state of the answer so far.
            today: the date now (Europe/London).

        Raises:
            SurveyClosed: the survey's last day is before ``today``.
            SurveyStoreUnavailable: Redis is down; the previous draft, if any, is unchanged.
        """
        key = self._key(survey.id, DRAFT, respondent)
        until_close = ((as_day(survey.closes) - as_day(today)).days + 1) * DAY_SECONDS
        if until_close <= 0:
            raise SurveyClosed(f"survey {survey.id!r} closed on {survey.closes.isoformat()}")
        payload = json.dumps(dict(progress), ensure_ascii=False, separators=(",", ":"))
        await self._call(self._redis.set(key, payload, ex=min(self._draft_seconds, until_close)))

    async def load_draft(self, survey_id: str, respondent: str) -> Optional[dict]:
        """The answer in progress, or None when there is none (or it expired).

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        raw = await self._call(self._redis.get(self._key(survey_id, DRAFT, respondent)))
        if raw is None:
            return None
        try:
            progress = json.loads(raw)
        except ValueError:
            logger.warning("a draft of survey %s is not JSON; ignoring it", survey_id)
            return None
        return progress if isinstance(progress, dict) else None

    async def delete_draft(self, survey_id: str, respondent: str) -> None:
        """Forget the answer in progress (the respondent started again or gave up).

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        await self._call(self._redis.delete(self._key(survey_id, DRAFT, respondent)))

    # --- Responses -----------------------------------------------------------------------------------------------

    async def submit(self, survey: Any, respondent: str, answers: Mapping[str, Any], *, submitted: date) -> bool:
        """Store a response, replacing the respondent's earlier one (a retake), and count it; drops the draft.

        Args:
            survey: the survey (``id`` and ``questions``).
            respondent: the respondent hash.
            answers: question id -> answer (free text already redacted by the caller).
            submitted: the day it was given (no time of day is kept).

        Returns:
            True for a new response, False when it replaced an earlier one.

        Raises:
            ValueError: an answer that does not fit the survey (nothing is written).
            SurveyStoreUnavailable: Redis is down; nothing was written, or all of it.
        """
        fields = counter_fields(survey, answers)
        submitted = as_day(submitted)
        document = {
            "answers": _stored_answers(survey, answers),  # question id -> value
            "submitted": submitted.isoformat(),  # YYYY-MM-DD
            "fields": fields,  # the counter fields this response added, so a retake or deletion takes them back
        }
        keys = [self._key(survey.id, RESPONSE, respondent), self._key(survey.id, INDEX),
                self._key(survey.id, COUNTS), self._key(survey.id, DRAFT, respondent)]
        args = [json.dumps(document, ensure_ascii=False, separators=(",", ":")), self._retention, respondent,
                day_epoch(submitted), *fields]
        return bool(await self._call(self._submit(keys=keys, args=args)))

    async def delete_response(self, survey_id: str, respondent: str) -> bool:
        """Delete my data: the response, its index entry, its counts and any draft, in one script.

        Returns:
            True when a response or a draft was deleted, False when nothing was held.

        Raises:
            SurveyStoreUnavailable: Redis is down; nothing was deleted.
        """
        keys = [self._key(survey_id, RESPONSE, respondent), self._key(survey_id, INDEX),
                self._key(survey_id, COUNTS), self._key(survey_id, DRAFT, respondent)]
        return bool(await self._call(self._delete(keys=keys, args=[respondent])))

    async def response(self, survey_id: str, respondent: str) -> Optional[dict]:
        """The respondent's response: ``{"answers": {...}, "submitted": "YYYY-MM-DD"}``, or None.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        raw = await self._call(self._redis.get(self._key(survey_id, RESPONSE, respondent)))
        return None if raw is None else _public(raw, survey_id)

    async def responses(self, survey_id: str, *, since: Optional[date] = None, until: Optional[date] = None,
                        progress: Optional[Callable[[int, int], None]] = None) -> AsyncIterator[dict]:
        """Every response kept for a survey, oldest day first, read through the index (for the export).

        Index entries whose response has expired are skipped and removed from the index.

        Args:
            survey_id: the survey.
            since: only responses given on or after this day.
            until: only responses given on or before this day.
            progress: called with (read so far, how many there are) after each batch, for a progress bar.

        Yields:
            ``{"answers": {...}, "submitted": "YYYY-MM-DD"}`` (no respondent: the export needs none).

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        index = self._key(survey_id, INDEX)
        low = "-inf" if since is None else day_epoch(since)
        high = "+inf" if until is None else day_epoch(until)
        members: Sequence[str] = await self._call(self._redis.zrangebyscore(index, low, high))
        expired: List[str] = []
        for start in range(0, len(members), EXPORT_BATCH):
            batch = members[start:start + EXPORT_BATCH]
            raws = await self._call(self._redis.mget([self._key(survey_id, RESPONSE, m) for m in batch]))
            for member, raw in zip(batch, raws):
                if raw is None:
                    expired.append(member)
                    continue
                document = _public(raw, survey_id)
                if document is not None:
                    yield document
            if progress is not None:
                progress(min(start + EXPORT_BATCH, len(members)), len(members))
        await self._prune_index(survey_id, expired)

    async def response_count(self, survey_id: str) -> int:
        """How many responses are kept for a survey (after dropping index entries whose response expired).

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        index = self._key(survey_id, INDEX)
        # Only entries given a retention period ago or more can have expired: check just those.
        cutoff = day_epoch(date.today() + timedelta(days=1)) - self._retention
        candidates = await self._call(self._redis.zrangebyscore(index, "-inf", cutoff))
        await self._prune_index(survey_id, candidates)
        return int(await self._call(self._redis.zcard(index)))

    async def counts(self, survey_id: str) -> Dict[str, int]:
        """``<question>=<value>`` -> how many responses answered so.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        raw = await self._call(self._redis.hgetall(self._key(survey_id, COUNTS)))
        return {field: int(value) for field, value in raw.items()}

    async def _prune_index(self, survey_id: str, members: Sequence[str]) -> None:
        """Remove index entries whose response is gone, in batches (each one script)."""
        for start in range(0, len(members), EXPORT_BATCH):
            batch = list(members[start:start + EXPORT_BATCH])
            keys = [self._key(survey_id, INDEX)] + [self._key(survey_id, RESPONSE, m) for m in batch]
            removed = await self._call(self._prune(keys=keys, args=batch))
            if removed:
                logger.info("dropped %d expired response(s) from the index of survey %s", removed, survey_id)


def _public(raw: str, survey_id: str) -> Optional[dict]:
    """A stored response as callers see it: answers and day, without the counter fields."""
    try:
        document = json.loads(raw)
    except ValueError:
        logger.warning("a response to survey %s is not JSON; skipping it", survey_id)
        return None
    if not isinstance(document, dict):
        return None
    return {"answers": document.get("answers") or {}, "submitted": document.get("submitted")}
