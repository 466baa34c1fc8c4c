"""The panels: people who agreed to be invited to new surveys, and which of them each survey has invited.

A member is stored under ``bot.privacy.hashing.panel_member_id`` (a keyed hash of panel and sender id), so "delete
my data" and "LEAVE" can find them from the sender id alone, while a copy of Redis lists no one. To invite them we
need their phone number or Telegram chat id: that is stored only encrypted with Fernet (``PANEL_ENCRYPTION_KEY``),
never in clear and never in a log line. Panel member ids and survey respondents are hashes with different purposes,
so nothing here can be joined with anyone's answers.

Keys (built by ``panel_key``, and ``store.survey_key`` for the invitations):

===============================================  ======  ======================================================
key                                              type    holds (expiry)
===============================================  ======  ======================================================
``<prefix>:panel:<panel_id>:member:<member_id>``  string  Fernet token of ``{"channel", "contact"}`` (retention
                                                          after joining; joining again refreshes it)
``<prefix>:panel:<panel_id>:members``             set     member ids (retention after the latest join)
``<prefix>:survey:<survey_id>:invited``           set     member ids already invited (retention after the
                                                          survey's last day)
===============================================  ======  ======================================================

Errors are the survey store's (``bot.surveys.store``)::

    SurveyStoreError                Redis refused a command
    └── SurveyStoreUnavailable      Redis could not be reached or timed out (the cause is chained)

plus ``ValueError`` for a channel, contact or id that cannot be right, and ``cryptography``'s ``ValueError`` for a
malformed Fernet key (``from_settings`` turns it into ``SettingsError``).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, AsyncIterator, Awaitable, Iterable, List, Optional, Set, TypeVar

import redis.asyncio as aioredis
from cryptography.fernet import Fernet, InvalidToken

from bot.privacy.hashing import panel_member_id
from bot.settings import SettingsError
from bot.surveys.store import (
    DAY_SECONDS,
    INVITED,
    UPDATED,
    KEY_PREFIX,
    SURVEY,
    check_id,
    day_epoch,
    redis_call,
    redis_client,
    survey_key,
)

logger = logging.getLogger(__name__)
_R = TypeVar("_R")

PANEL = "panel"
MEMBER = "member"
MEMBERS = "members"
SMS = "sms"
TELEGRAM = "telegram"
CHANNELS = frozenset({SMS, TELEGRAM})
# What a contact must look like, per channel: an E.164 phone number, or a Telegram chat id.
CONTACT_PATTERNS = {SMS: re.compile(r"\+[1-9]\d{6,14}"), TELEGRAM: re.compile(r"-?\d{1,20}")}
MEMBER_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
SCAN_COUNT = 100  # keys or members per SCAN/SSCAN step: few round trips, short replies

# KEYS: the members set, then one member key per ARGV member id. Drops ids whose member key has expired; checking
# and removing in one script means a member who joins again meanwhile is never dropped.
_PRUNE_LUA = """
local removed = 0
for i, member in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then removed = removed + redis.call('SREM', KEYS[1], member) end
end
return removed
"""


@dataclass(frozen=True)
class Member:
    """One panel member, decrypted for sending an invitation."""

    member_id: str  # panel_member_id(...): safe to log
    channel: str  # "sms" or "telegram"
    contact: str = field(repr=False)  # E.164 number or Telegram chat id: never logged, hence kept out of repr


def panel_key(prefix: str, panel_id: str, kind: str, member_id: Optional[str] = None) -> str:
    """The Redis key for a panel: ``<prefix>:panel:<panel_id>:members`` or ``…:member:<member_id>``.

    Raises:
        ValueError: an unknown kind, a member id missing or out of place, or a part that could break the key.
    """
    check_id(prefix, "a key prefix")
    check_id(panel_id, "a panel id")
    if kind == MEMBERS and member_id is None:
        return f"{prefix}:{PANEL}:{panel_id}:{MEMBERS}"
    if kind == MEMBER and member_id is not None:
        return f"{prefix}:{PANEL}:{panel_id}:{MEMBER}:{_member_id(member_id)}"
    raise ValueError(f"a panel key is 'members' (no member id) or 'member' (with one), not {kind!r}")


def _member_id(member_id: str) -> str:
    if not isinstance(member_id, str) or not MEMBER_ID_PATTERN.fullmatch(member_id):
        raise ValueError("a member id must be bot.privacy.hashing.panel_member_id(...)")
    return member_id


def _check_contact(channel: str, contact: str) -> str:
    """The contact, stripped, if it fits its channel (the message never repeats it: it may be a phone number)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(sorted(CHANNELS))}")
    contact = contact.strip() if isinstance(contact, str) else ""
    if not CONTACT_PATTERNS[channel].fullmatch(contact):
        expected = "an E.164 phone number (+447...)" if channel == SMS else "a Telegram chat id"
        raise ValueError(f"a {channel} contact must be {expected}")
    return contact


class PanelStore:
    """Panel members and survey invitations in Redis, for one process (one client, closed with ``close``)."""

    def __init__(self, client: aioredis.Redis, *, fernet_key: bytes, hash_key: bytes, prefix: str = KEY_PREFIX,
                 retention_seconds: int, panels: Iterable[str] = ()) -> None:
        """Wrap a redis-py asyncio client created with ``decode_responses=True``.

        Args:
            client: the Redis client; this object closes it.
            fernet_key: encrypts contacts (``PANEL_ENCRYPTION_KEY``).
            hash_key: keys member ids (``PRIVACY_KEY``).
            prefix: the first part of every key.
            retention_seconds: how long a member is kept after joining, and invitations after a survey closes.
            panels: panel ids ``leave_all`` always tries, besides those it finds in Redis.

        Raises:
            ValueError: a malformed Fernet key, a bad prefix or panel id, or a retention that is not positive.
        """
        if isinstance(retention_seconds, bool) or not isinstance(retention_seconds, int) or retention_seconds <= 0:
            raise ValueError("retention_seconds must be a whole number of seconds greater than 0")
        self._redis = client
        self._fernet = Fernet(fernet_key)
        self._hash_key = hash_key
        self._prefix = check_id(prefix, "a key prefix")
        self._retention = retention_seconds
        self._panels = frozenset(check_id(panel, "a panel id") for panel in panels)
        self._prune = client.register_script(_PRUNE_LUA)

    @classmethod
    def from_settings(cls, settings: Any, panels: Iterable[str] = ()) -> "PanelStore":
        """A store on ``settings.redis_url`` with the configured keys and retention (no connection yet).

        Raises:
            SettingsError: PRIVACY_KEY or PANEL_ENCRYPTION_KEY is unset, or the latter is not a Fernet key.
        """
        fernet_key = settings.require_panel_key()
        hash_key = settings.require_privacy_key()
        try:
            Fernet(fernet_key)
        except ValueError as error:
            raise SettingsError("PANEL_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded bytes); make "
                                "one with: python -c 'from cryptography.fernet import Fernet; "
                                "print(Fernet.generate_key().decode())'") from error
        return cls(redis_client(settings.redis_url), fernet_key=fernet_key, hash_key=hash_key,
                   retention_seconds=settings.panel_retention_days * DAY_SECONDS, panels=panels)

    async def close(self) -> None:
        """Close the Redis client (redis-py 4.x: ``close``, not ``aclose``)."""
        await self._redis.close()

    def member_id(self, panel_id: str, sender_id: str) -> str:
        """The id a sender has on one panel (a keyed hash, different on every panel)."""
        return panel_member_id(self._hash_key, check_id(panel_id, "a panel id"), sender_id)

    async def _call(self, awaitable: Awaitable[_R]) -> _R:
        return await redis_call(awaitable, "the survey panel")

    # --- Membership ----------------------------------------------------------------------------------------------

    async def join(self, panel_id: str, sender_id: str, channel: str, contact: str) -> bool:
        """Add a sender to a panel, or refresh their contact and its expiry if they are on it already.

        Args:
            panel_id: the panel, e.g. ``"strong_voices"``.
            sender_id: the conversation's sender id (only its keyed hash is stored).
            channel: ``"sms"`` or ``"telegram"``: how to invite them.
            contact: their E.164 phone number or Telegram chat id (stored encrypted).

        Returns:
            True when they were not on the panel before.

        Raises:
            ValueError: an unknown channel or a contact that does not fit it.
            SurveyStoreUnavailable: Redis is down; nothing was written.
        """
        contact = _check_contact(channel, contact)
        member_id = self.member_id(panel_id, sender_id)
        token = self._fernet.encrypt(json.dumps({"channel": channel, "contact": contact}).encode("utf-8"))
        members = panel_key(self._prefix, panel_id, MEMBERS)
        pipe = self._redis.pipeline(transaction=True)
        # GET returns the token this replaces: None means new, even when an expired id is still in the set.
        pipe.set(panel_key(self._prefix, panel_id, MEMBER, member_id), token.decode("ascii"), ex=self._retention,
                 get=True)
        pipe.sadd(members, member_id)
        pipe.expire(members, self._retention)
        previous, _, _ = await self._call(pipe.execute())
        return previous is None

    async def leave(self, panel_id: str, sender_id: str) -> bool:
        """Take a sender off a panel (LEAVE).

        Returns:
            True when they were on it.

        Raises:
            SurveyStoreUnavailable: Redis is down; nothing was removed.
        """
        member_id = self.member_id(panel_id, sender_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(panel_key(self._prefix, panel_id, MEMBER, member_id))
        pipe.srem(panel_key(self._prefix, panel_id, MEMBERS), member_id)
        deleted, removed = await self._call(pipe.execute())
        return bool(deleted or removed)

    async def leave_all(self, sender_id: str) -> int:
        """Take a sender off every panel and forget which surveys invited or updated them ("delete my data").

        Panels are those given to ``__init__`` and every ``<prefix>:panel:*:members`` key in Redis, so a panel
        dropped from the survey definitions is still emptied.

        Returns:
            How many panels they were on.

        Raises:
            SurveyStoreUnavailable: Redis is down (some panels may already be left; calling again finishes).
        """
        panels = set(self._panels)
        members_suffix = f":{MEMBERS}"
        panel_start = f"{self._prefix}:{PANEL}:"
        for key in await self._scan(f"{panel_start}*{members_suffix}"):
            panel_id = key[len(panel_start):-len(members_suffix)]
            if ":" not in panel_id:
                panels.add(panel_id)
        left = 0
        for panel_id in sorted(panels):
            left += await self.leave(panel_id, sender_id)
        member_ids = [self.member_id(panel_id, sender_id) for panel_id in sorted(panels)]
        invited = await self._scan(f"{self._prefix}:{SURVEY}:*:{INVITED}")
        if member_ids and invited:
            pipe = self._redis.pipeline(transaction=True)
            for key in invited:
                pipe.srem(key, *member_ids)
            await self._call(pipe.execute())
        for key in await self._scan(f"{self._prefix}:{SURVEY}:*:{UPDATED}") if member_ids else []:
            for member_id in member_ids:  # items are "<member id>:<update version>"
                sent = await self._call(self._members_matching(key, f"{member_id}:*"))
                if sent:
                    await self._call(self._redis.srem(key, *sent))
        return left

    async def is_member(self, panel_id: str, sender_id: str) -> bool:
        """True when the sender is on the panel (and their entry has not expired).

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        key = panel_key(self._prefix, panel_id, MEMBER, self.member_id(panel_id, sender_id))
        return bool(await self._call(self._redis.exists(key)))

    async def members(self, panel_id: str) -> AsyncIterator[Member]:
        """Every member of a panel, decrypted, each once.

        An entry that cannot be decrypted (written under another PANEL_ENCRYPTION_KEY, or damaged) is skipped with
        a log line naming only its member id; ids whose entry has expired are removed from the set.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        members_key = panel_key(self._prefix, panel_id, MEMBERS)
        seen: Set[str] = set()
        expired: List[str] = []
        cursor = 0
        while True:
            cursor, batch = await self._call(self._redis.sscan(members_key, cursor, count=SCAN_COUNT))
            batch = [m for m in batch if m not in seen and MEMBER_ID_PATTERN.fullmatch(m)]  # SSCAN may repeat
            seen.update(batch)
            if batch:
                keys = [panel_key(self._prefix, panel_id, MEMBER, m) for m in batch]
                tokens = await self._call(self._redis.mget(keys))
                for member_id, token in zip(batch, tokens):
                    if token is None:
                        expired.append(member_id)
                        continue
                    member = self._decrypt(panel_id, member_id, token)
                    if member is not None:
                        yield member
            if cursor == 0:
                break
        for start in range(0, len(expired), SCAN_COUNT):
            batch = expired[start:start + SCAN_COUNT]
            keys = [members_key] + [panel_key(self._prefix, panel_id, MEMBER, m) for m in batch]
            await self._call(self._prune(keys=keys, args=batch))

    def _decrypt(self, panel_id: str, member_id: str, token: str) -> Optional[Member]:
        try:
            entry = json.loads(self._fernet.decrypt(token.encode("ascii")))
            channel, contact = entry["channel"], entry["contact"]
            _check_contact(channel, contact)
        except (InvalidToken, UnicodeError, ValueError, TypeError, KeyError):
            logger.warning("panel %s: member %s could not be decrypted (another PANEL_ENCRYPTION_KEY?); skipped",
                           panel_id, member_id)
            return None
        return Member(member_id=member_id, channel=channel, contact=contact)

    # --- Invitations ---------------------------------------------------------------------------------------------

    async def claim_invitation(self, survey_id: str, member_id: str, *, until: date) -> bool:
        """Mark a member as invited to a survey before sending, so a second run of the invite sends nothing.

        Args:
            survey_id: the survey.
            member_id: the member's id on the survey's panel.
            until: the survey's last day; the marks are kept for the retention period after it.

        Returns:
            True the first time (send the invitation), False when it was claimed already.

        Raises:
            SurveyStoreUnavailable: Redis is down; nothing was claimed.
        """
        return await self.claim(survey_id, INVITED, _member_id(member_id), until=until)

    async def release_invitation(self, survey_id: str, member_id: str) -> None:
        """Undo a claim whose sending failed, so a later run tries this member again.

        Raises:
            SurveyStoreUnavailable: Redis is down; the claim stays (the member is not retried).
        """
        await self.release(survey_id, INVITED, _member_id(member_id))

    async def is_invited(self, survey_id: str, member_id: str) -> bool:
        """True when the member was invited to the survey already (for a dry run, which claims nothing).

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        return await self.is_claimed(survey_id, INVITED, _member_id(member_id))

    # --- Claims: one message of a kind per member (invitations, "you said, we did" updates) ---------------------

    async def claim(self, survey_id: str, kind: str, item: str, *, until: date) -> bool:
        """Add ``item`` to the survey's ``kind`` set before sending; True the first time, False if it was there.

        The set is kept for the retention period after ``until`` (the survey's last day), then expires.

        Raises:
            SurveyStoreUnavailable: Redis is down; nothing was claimed.
        """
        key = survey_key(self._prefix, survey_id, kind)
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(key, item)
        pipe.expireat(key, day_epoch(until + timedelta(days=1)) + self._retention)
        added, _ = await self._call(pipe.execute())
        return bool(added)

    async def release(self, survey_id: str, kind: str, item: str) -> None:
        """Undo a claim whose sending failed, so a later run tries again."""
        await self._call(self._redis.srem(survey_key(self._prefix, survey_id, kind), item))

    async def is_claimed(self, survey_id: str, kind: str, item: str) -> bool:
        """True when ``item`` was claimed already (for a dry run, which claims nothing)."""
        return bool(await self._call(self._redis.sismember(survey_key(self._prefix, survey_id, kind), item)))

    # --- Internals -----------------------------------------------------------------------------------------------

    async def _members_matching(self, key: str, pattern: str) -> List[str]:
        """The members of a set that match ``pattern``, walked with SSCAN."""
        return [item async for item in self._redis.sscan_iter(key, match=pattern, count=SCAN_COUNT)]

    async def _scan(self, pattern: str) -> List[str]:
        """Every key matching ``pattern``, walked with SCAN (never KEYS, which blocks Redis)."""
        found: Set[str] = set()
        cursor = 0
        while True:
            cursor, keys = await self._call(self._redis.scan(cursor, match=pattern, count=SCAN_COUNT))
            found.update(keys)
            if cursor == 0:
                return sorted(found)
