"""Forum members' dashboard accounts: a user name and an Argon2id password hash in Redis, nothing else.

``python -m bot forum add-user NAME`` makes an account (``add_user``); the dashboard's login checks a password
(``AccountStore.verify``). Only the hash is stored (salted, memory-hard), so a copy of Redis gives nobody a
password. Checking a name that has no account costs the same as checking a real one (a dummy hash is verified),
so the login's timing does not tell an attacker which names exist.

An account that nobody logs in to for ``ACCOUNT_IDLE_DAYS`` expires on its own (every login renews it): like
everything else in Redis it has a retention period, and an account left over from a member who moved on should
not stay usable for ever.

======================================  ====  ==============================================================
key                                     type  holds (expiry)
======================================  ====  ==============================================================
``send:forum:user:<name>``              hash  ``hash`` (Argon2id), ``created`` (YYYY-MM-DD), ``epoch``
                                              (random; changes with the password, ending old sessions)
                                              (``ACCOUNT_IDLE_DAYS`` after the last login or change)
======================================  ====  ==============================================================

Errors::

    AccountError (ValueError)    an account cannot be made or changed as asked (the message says why)
    ├── InvalidUserName          not 2-40 of a-z, 0-9, '.', '_', '-'
    ├── WeakPassword             shorter than 10 characters, the user name itself, or too long
    ├── UserExists               ``add`` without ``replace`` for a name that has an account
    └── UnknownUser              ``remove`` of a name with no account

plus ``bot.surveys.store.SurveyStoreUnavailable`` when Redis is down.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from datetime import date
from typing import List, Optional

import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.surveys.store import DAY_SECONDS, KEY_PREFIX, check_id, redis_call, redis_client

logger = logging.getLogger(__name__)

USER_NAME_PATTERN = re.compile(r"[a-z0-9._-]{2,40}")
MIN_PASSWORD_CHARS = 10
# Long enough for any passphrase or password manager; bounds the work one login form can ask of Argon2.
MAX_PASSWORD_CHARS = 1024
ACCOUNT_IDLE_DAYS = 365
FORUM = "forum"
USER = "user"

# KEYS: the user key. ARGV: hash, created day, epoch, replace ("1"/"0"), ttl seconds. Returns 1 if written.
_ADD_LUA = """
if ARGV[4] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local created = false
if redis.call('TYPE', KEYS[1])['ok'] == 'hash' then created = redis.call('HGET', KEYS[1], 'created') end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'hash', ARGV[1], 'created', created or ARGV[2], 'epoch', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class AccountError(ValueError):
    """An account cannot be made or changed as asked; the message is a sentence for the person at the keyboard."""


class InvalidUserName(AccountError):
    """The user name is not 2-40 lower-case letters, digits, '.', '_' or '-'."""


class WeakPassword(AccountError):
    """The password is too short, too long, or the user name itself."""


class UserExists(AccountError):
    """An account with this name exists and ``replace`` was not asked for."""


class UnknownUser(AccountError):
    """No account has this name."""


def normalise_name(name: str) -> str:
    """The user name as stored: stripped and lower-cased, so "Sam.Jones" and "sam.jones" are one account.

    Raises:
        InvalidUserName: it is not 2-40 of a-z, 0-9, '.', '_' and '-' once lower-cased.
    """
    if not isinstance(name, str):
        raise InvalidUserName("The user name must be text.")
    cleaned = name.strip().lower()
    if not USER_NAME_PATTERN.fullmatch(cleaned):
        raise InvalidUserName("A user name is 2 to 40 letters, digits, dots, hyphens or underscores.")
    return cleaned


def check_password(name: str, password: str) -> None:
    """Refuse a password a guesser would try first.

    Raises:
        WeakPassword: shorter than ``MIN_PASSWORD_CHARS``, longer than ``MAX_PASSWORD_CHARS``, or the user name.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"A password must be at least {MIN_PASSWORD_CHARS} characters long.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"A password must be at most {MAX_PASSWORD_CHARS} characters long.")
    if password.strip().lower() == name.strip().lower():
        raise WeakPassword("A password must not be the user name.")


def user_key(name: str, prefix: str = KEY_PREFIX) -> str:
    """``send:forum:user:<name>`` for an already normalised name."""
    return f"{check_id(prefix, 'a key prefix')}:{FORUM}:{USER}:{name}"


class AccountStore:
    """Forum members' accounts in Redis. Hashing runs in a worker thread: Argon2 takes ~0.2 s of CPU on purpose,
    and the dashboard's other requests must not wait for it."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = KEY_PREFIX,
                 hasher: Optional[PasswordHasher] = None, idle_seconds: int = ACCOUNT_IDLE_DAYS * DAY_SECONDS) -> None:
        """Wrap a redis-py asyncio client made with ``decode_responses=True`` (the caller closes it).

        Args:
            client: the Redis client.
            prefix: the first part of every key.
            hasher: Argon2id parameters; the default is argon2-cffi's (RFC 9106 low-memory profile). Hashes made
                with other parameters are re-made at the next successful login.
            idle_seconds: how long an account lasts without a login or a change.
        """
        self._redis = client
        self._prefix = check_id(prefix, "a key prefix")
        self._hasher = hasher or PasswordHasher()
        self._idle_seconds = idle_seconds
        self._add = client.register_script(_ADD_LUA)
        self._dummy_hash: Optional[str] = None

    async def _call(self, awaitable):
        return await redis_call(awaitable, "forum accounts")

    async def add(self, name: str, password: str, *, replace: bool = False) -> str:
        """Make an account, or with ``replace`` set a new password (which ends the account's open sessions).

        Returns:
            The user name as stored (lower-case).

        Raises:
            InvalidUserName, WeakPassword: the name or password does not meet the rules.
            UserExists: the name has an account and ``replace`` is False.
            SurveyStoreUnavailable: Redis is down; nothing was written.
        """
        name = normalise_name(name)
        check_password(name, password)
        hashed = await asyncio.to_thread(self._hasher.hash, password)
        written = await self._call(self._add(
            keys=[user_key(name, self._prefix)],
            args=[hashed, date.today().isoformat(), secrets.token_urlsafe(16), "1" if replace else "0",
                  self._idle_seconds],
        ))
        if not written:
            raise UserExists(f"There is already an account called {name}. Use --replace to set a new password.")
        logger.info("forum account %s %s", name, "password replaced" if replace else "made")
        return name

    async def verify(self, name: str, password: str) -> bool:
        """True when ``password`` is the account's password; renews the account and upgrades its hash if needed.

        Unknown and malformed names, and passwords of the wrong length, cost one Argon2 verification too, so the
        answer takes about as long whatever was wrong.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        try:
            name = normalise_name(name)
        except InvalidUserName:
            name = ""
        stored = None
        if name:
            stored = await self._call(self._redis.hget(user_key(name, self._prefix), "hash"))
        usable = isinstance(password, str) and 0 < len(password) <= MAX_PASSWORD_CHARS
        if not stored or not usable:
            await asyncio.to_thread(self._verify_hash, await self._dummy(), "not the password" if not usable
                                    else password)
            return False
        if not await asyncio.to_thread(self._verify_hash, stored, password):
            return False
        key = user_key(name, self._prefix)
        if self._hasher.check_needs_rehash(stored):
            rehashed = await asyncio.to_thread(self._hasher.hash, password)
            await self._call(self._redis.hset(key, "hash", rehashed))
            logger.info("forum account %s: password hash upgraded to the current parameters", name)
        await self._call(self._redis.expire(key, self._idle_seconds))
        return True

    def _verify_hash(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            logger.warning("a forum account's stored password hash is not a valid Argon2 hash")
            return False

    async def _dummy(self) -> str:
        """A hash of a random password with our parameters, made once, to verify against for unknown names."""
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, secrets.token_urlsafe(16))
        return self._dummy_hash

    async def epoch(self, name: str) -> Optional[str]:
        """The account's current epoch (changes with every new password), or None when there is no account.

        A session made under an older epoch, or for a removed account, is no longer valid.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        try:
            name = normalise_name(name)
        except InvalidUserName:
            return None
        return await self._call(self._redis.hget(user_key(name, self._prefix), "epoch"))

    async def remove(self, name: str) -> None:
        """Delete an account (its sessions stop working at their next request).

        Raises:
            InvalidUserName: the name is malformed.
            UnknownUser: there is no such account.
            SurveyStoreUnavailable: Redis is down.
        """
        name = normalise_name(name)
        if not await self._call(self._redis.delete(user_key(name, self._prefix))):
            raise UnknownUser(f"There is no account called {name}.")
        logger.info("forum account %s removed", name)

    async def names(self) -> List[str]:
        """Every account's user name, sorted.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        start = len(user_key("", self._prefix))
        found: List[str] = []
        cursor = 0
        while True:
            cursor, keys = await self._call(self._redis.scan(cursor, match=user_key("*", self._prefix), count=500))
            found.extend(key[start:] for key in keys)
            if not cursor:
                return sorted(set(found))


async def add_user(settings, name: str, password: str, replace: bool = False) -> str:
    """Make (or with ``replace`` re-password) an account in the Redis of ``settings``; for the CLI.

    Returns:
        The user name as stored (lower-case).

    Raises:
        AccountError: see ``AccountStore.add``.
        SurveyStoreUnavailable: Redis is down.
    """
    client = redis_client(settings.redis_url)
    try:
        return await AccountStore(client).add(name, password, replace=replace)
    finally:
        await client.close()


async def remove_user(settings, name: str) -> str:
    """Delete an account in the Redis of ``settings`` (a member who leaves the forum); for the CLI.

    Returns:
        The user name as it was stored.

    Raises:
        AccountError: a malformed name, or no such account.
        SurveyStoreUnavailable: Redis is down.
    """
    client = redis_client(settings.redis_url)
    try:
        await AccountStore(client).remove(name)
    finally:
        await client.close()
    return normalise_name(name)
