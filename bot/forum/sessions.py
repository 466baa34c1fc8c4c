"""Dashboard sessions and the login's rate limit, in Redis.

A session is a random id (``secrets.token_urlsafe(32)``). The browser holds it sealed with Fernet under
FORUM_SESSION_KEY (so a cookie made or altered by anyone without the key is refused before Redis is asked, and one
older than the session's lifetime is refused even if Redis still had it). Redis holds the session under the SHA-256
of the id, never the id itself, so a copy of Redis cannot be turned into a working cookie. Logging out deletes the
record: a copied cookie stops working at once.

Failed logins are counted per user name typed and per client address, for ``LOGIN_WINDOW_SECONDS`` from the first
failure; after ``LOGIN_ATTEMPTS`` failures either count blocks further tries until its window ends. Both are kept
under a keyed hash: what someone typed as a user name (sometimes a password, by mistake) and their address are
never stored.

============================================  ======  ===============================================
key                                           type    holds (expiry)
============================================  ======  ===============================================
``send:forum:session:<sha256 of id>``         string  JSON: user, csrf, created, epoch (session hours)
``send:forum:login-failures:user:<hmac>``     string  failures for one typed user name (the window)
``send:forum:login-failures:address:<hmac>``  string  failures from one client address (the window)
============================================  ======  ===============================================

Errors: ``bot.surveys.store.SurveyStoreUnavailable`` when Redis is down; ``ValueError`` for a key that is not a
Fernet key (when the store is made).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, Tuple

import redis.asyncio as aioredis
from cryptography.fernet import Fernet, InvalidToken

from bot.surveys.store import KEY_PREFIX, check_id, redis_call

logger = logging.getLogger(__name__)

FORUM = "forum"
SESSION = "session"
FAILURES = "login-failures"
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_SECONDS = 15 * 60
# A sealed id is ~140 characters; anything much longer is not ours and is not worth decrypting.
MAX_COOKIE_CHARS = 512
# What a typed user name is cut to before it is hashed: bounds the work of a huge form field.
MAX_COUNTED_NAME_CHARS = 200

# KEYS: the counters. ARGV: window seconds. Counts one failure in each; a new counter's window starts now.
_FAILED_LUA = """
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""


@dataclass(frozen=True)
class Session:
    """One logged-in forum member's session, as Redis holds it."""

    ref: str  # SHA-256 of the session id (hex): the Redis key's last part
    user: str  # the forum member's user name
    csrf: str  # the token every state-changing form of this session must carry
    created: datetime  # when the member logged in (UTC)
    epoch: str  # the account's epoch at login; a new password changes it and so ends the session

    def csrf_matches(self, token: object) -> bool:
        """True when a form's token is this session's (compared in constant time)."""
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.csrf.encode())


def _ref(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


class SessionStore:
    """Sessions in Redis, sealed into cookies with Fernet."""

    def __init__(self, client: aioredis.Redis, key: bytes, *, hours: int, prefix: str = KEY_PREFIX) -> None:
        """Wrap a redis-py asyncio client made with ``decode_responses=True`` (the caller closes it).

        Args:
            client: the Redis client.
            key: FORUM_SESSION_KEY (a Fernet key).
            hours: how long a session lasts after login.
            prefix: the first part of every key.

        Raises:
            ValueError: ``key`` is not a Fernet key.
        """
        self._redis = client
        self._fernet = Fernet(key)
        self._seconds = int(hours * 3600)
        self._prefix = check_id(prefix, "a key prefix")

    @property
    def lifetime_seconds(self) -> int:
        """How long a session (and its cookie) lasts."""
        return self._seconds

    def _key(self, ref: str) -> str:
        return f"{self._prefix}:{FORUM}:{SESSION}:{ref}"

    async def _call(self, awaitable):
        return await redis_call(awaitable, "dashboard sessions")

    async def create(self, user: str, epoch: str) -> Tuple[str, Session]:
        """Start a session for a member who has just given the right password.

        Returns:
            The cookie value (the sealed id) and the session.

        Raises:
            SurveyStoreUnavailable: Redis is down; no session was made.
        """
        session_id = secrets.token_urlsafe(32)
        session = Session(ref=_ref(session_id), user=user, csrf=secrets.token_urlsafe(32),
                          created=datetime.now(timezone.utc).replace(microsecond=0), epoch=epoch)
        record = {"user": session.user, "csrf": session.csrf, "created": session.created.isoformat(),
                  "epoch": session.epoch}
        await self._call(self._redis.set(self._key(session.ref), json.dumps(record), ex=self._seconds))
        return self._fernet.encrypt(session_id.encode("ascii")).decode("ascii"), session

    async def load(self, cookie: Optional[str]) -> Optional[Session]:
        """The session a cookie stands for, or None when it is missing, forged, altered, too old or logged out.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        if not cookie or len(cookie) > MAX_COOKIE_CHARS:
            return None
        try:
            session_id = self._fernet.decrypt(cookie.encode("ascii"), ttl=self._seconds).decode("ascii")
        except (InvalidToken, UnicodeError, ValueError):
            return None
        ref = _ref(session_id)
        raw = await self._call(self._redis.get(self._key(ref)))
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            return Session(ref=ref, user=str(record["user"]), csrf=str(record["csrf"]),
                           created=datetime.fromisoformat(record["created"]), epoch=str(record.get("epoch", "")))
        except (ValueError, KeyError, TypeError):
            logger.warning("a dashboard session record is malformed; treating it as logged out")
            return None

    async def end(self, session: Session) -> None:
        """Log out: delete the session, so its cookie (and any copy of it) no longer works.

        Raises:
            SurveyStoreUnavailable: Redis is down; the session still stands.
        """
        await self._call(self._redis.delete(self._key(session.ref)))


class LoginLimiter:
    """Counts failed logins per typed user name and per client address, and says when to try again."""

    def __init__(self, client: aioredis.Redis, key: bytes, *, prefix: str = KEY_PREFIX,
                 attempts: int = LOGIN_ATTEMPTS, window_seconds: int = LOGIN_WINDOW_SECONDS) -> None:
        """Wrap a redis-py asyncio client made with ``decode_responses=True`` (the caller closes it).

        Args:
            client: the Redis client.
            key: a secret for the keyed hashes of names and addresses (FORUM_SESSION_KEY is fine).
            prefix: the first part of every key.
            attempts: failures allowed in a window; the next try is refused.
            window_seconds: how long failures are counted from the first one.
        """
        self._redis = client
        self._secret = hashlib.sha256(b"forum-login-failures\0" + key).digest()
        self._prefix = check_id(prefix, "a key prefix")
        self._attempts = attempts
        self._window = window_seconds
        self._failed = client.register_script(_FAILED_LUA)

    def _key(self, kind: str, value: str) -> str:
        digest = hmac.new(self._secret, f"{kind}\0{value}".encode("utf-8", "replace"), hashlib.sha256).hexdigest()
        return f"{self._prefix}:{FORUM}:{FAILURES}:{kind}:{digest[:32]}"

    def _keys(self, name: str, address: Optional[str]) -> Tuple[str, str]:
        typed = (name if isinstance(name, str) else "").strip().lower()[:MAX_COUNTED_NAME_CHARS]
        return self._key("user", typed), self._key("address", address or "unknown")

    async def _call(self, awaitable):
        return await redis_call(awaitable, "login attempts")

    async def retry_after(self, name: str, address: Optional[str]) -> Optional[int]:
        """Seconds until a login for ``name`` from ``address`` may be tried again, or None if it may be now.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        keys = self._keys(name, address)
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            pipe.ttl(key)
        user_count, user_ttl, address_count, address_ttl = await self._call(pipe.execute())
        waits = [max(int(ttl), 1) for count, ttl in ((user_count, user_ttl), (address_count, address_ttl))
                 if count is not None and int(count) >= self._attempts]
        return max(waits) if waits else None

    async def failed(self, name: str, address: Optional[str]) -> None:
        """Count one failed login for the typed name and the address.

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        await self._call(self._failed(keys=list(self._keys(name, address)), args=[self._window]))

    async def succeeded(self, name: str) -> None:
        """Forget the failures for this user name (not for the address: one member's success must not let a
        guesser at the same address go on).

        Raises:
            SurveyStoreUnavailable: Redis is down.
        """
        await self._call(self._redis.delete(self._keys(name, None)[0]))
