"""Settings read once from the environment.

Every process (the supervisor, the web app, the action server) builds one ``Settings`` at start-up and passes it
down; nothing else reads ``os.environ``. Defaults are named constants so a reader sees them in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlsplit

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
DEFAULT_ACTION_PORT = 5055
DEFAULT_RASA_PORT = 5005
DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8080
# A conversation is deleted after a day without a message: long enough to finish a question after the school run,
# short enough that what a family typed is not kept for nothing (issue #7).
DEFAULT_TRACKER_EXPIRY_SECONDS = 24 * 3600
# Survey answers are kept a year after they are given: long enough for the forum to compare one year with the next.
DEFAULT_RESPONSE_RETENTION_DAYS = 365
# A survey left half-way can be finished within this many days (never after the survey closes).
DEFAULT_DRAFT_EXPIRY_DAYS = 14
# A panel member's contact is kept this long after they joined or last took part, unless they leave first.
DEFAULT_PANEL_RETENTION_DAYS = 365
# Invitations sent per second: well under Twilio's and Telegram's limits for one number or bot.
DEFAULT_INVITE_RATE_PER_SECOND = 1.0
# Counts below this are never published ("fewer than 5"): the usual threshold for public-sector statistics.
DEFAULT_SUPPRESSION_THRESHOLD = 5
# A forum member stays logged in to the dashboard this long (a working session), then logs in again.
DEFAULT_FORUM_SESSION_HOURS = 8
DEFAULT_RASA_TIMEOUT_SECONDS = 30.0
# The web chat refuses longer messages: no family question needs more, and it bounds the work one request can cause.
DEFAULT_MAX_MESSAGE_CHARS = 2000
# Request bodies larger than this are refused with 413 before they are read: a chat message is at most a few KB,
# and Twilio's and Telegram's webhooks are well under it.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Messages one sender may send in a minute before getting one polite "slow down": a person typing never gets near it.
DEFAULT_RATE_LIMIT_PER_MINUTE = 20
# How long a stopping server waits for the turns it has already accepted (Sanic's own graceful timeout is 15 s).
DEFAULT_SHUTDOWN_GRACE_SECONDS = 20.0
DEFAULT_RASA_WORKERS = 1
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")


class SettingsError(ValueError):
    """An environment variable holds a value we cannot use."""


@dataclass(frozen=True)
class RedisAddress:
    """Where Redis is, split into the parts Rasa's ``endpoints.yml`` takes (it has no URL option)."""

    host: str
    port: int
    db: int
    password: str

    @classmethod
    def from_url(cls, url: str) -> "RedisAddress":
        """Parse ``redis://[:password@]host[:port][/db]``.

        Raises:
            SettingsError: the URL is not a ``redis://`` URL or its port or db is not a number.
        """
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise SettingsError(f"REDIS_URL must look like redis://host:port/db, got {url!r}")
        try:
            port = parts.port or 6379
            db = int(parts.path.lstrip("/") or 0)
        except ValueError as error:
            raise SettingsError(f"REDIS_URL has a bad port or db number: {url!r}") from error
        return cls(host=parts.hostname, port=port, db=db, password=parts.password or "")

    @property
    def where(self) -> str:
        """``host:port``, for messages: never the password."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The address as a URL again, for redis-py's ``from_url``."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db}"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the environment variable that sets it."""

    redis_url: str = DEFAULT_REDIS_URL  # REDIS_URL
    rasa_url: str = DEFAULT_RASA_URL  # RASA_URL: where the web app finds the Rasa server (default: RASA_PORT here)
    rasa_port: int = DEFAULT_RASA_PORT  # RASA_PORT
    action_port: int = DEFAULT_ACTION_PORT  # ACTION_PORT
    action_server_url: Optional[str] = None  # ACTION_SERVER_URL: for /readyz (default: ACTION_PORT on loopback)
    web_host: str = DEFAULT_WEB_HOST  # WEB_HOST
    web_port: int = DEFAULT_WEB_PORT  # WEB_PORT
    tracker_expiry_seconds: int = DEFAULT_TRACKER_EXPIRY_SECONDS  # TRACKER_EXPIRY_SECONDS
    rasa_timeout_seconds: float = DEFAULT_RASA_TIMEOUT_SECONDS  # RASA_TIMEOUT_SECONDS
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS  # MAX_MESSAGE_CHARS
    rasa_token: Optional[str] = None  # RASA_TOKEN: if set, Rasa's HTTP API is on and needs this token
    privacy_key: Optional[str] = None  # PRIVACY_KEY: keys the hashes of sender ids, respondents and panel members
    panel_key: Optional[str] = None  # PANEL_ENCRYPTION_KEY: Fernet key for panel members' contact details
    response_retention_days: int = DEFAULT_RESPONSE_RETENTION_DAYS  # RESPONSE_RETENTION_DAYS
    draft_expiry_days: int = DEFAULT_DRAFT_EXPIRY_DAYS  # DRAFT_EXPIRY_DAYS
    panel_retention_days: int = DEFAULT_PANEL_RETENTION_DAYS  # PANEL_RETENTION_DAYS
    invite_rate_per_second: float = DEFAULT_INVITE_RATE_PER_SECOND  # INVITE_RATE_PER_SECOND
    school_names_file: Optional[str] = None  # SCHOOL_NAMES_FILE: extra school names to redact (default: data/privacy)
    forum_session_key: Optional[str] = None  # FORUM_SESSION_KEY: Fernet key that seals the dashboard's session cookie
    forum_session_hours: int = DEFAULT_FORUM_SESSION_HOURS  # FORUM_SESSION_HOURS
    suppression_threshold: int = DEFAULT_SUPPRESSION_THRESHOLD  # SUPPRESSION_THRESHOLD: smallest count published
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # MAX_BODY_BYTES: larger request bodies get 413 unread
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE  # RATE_LIMIT_PER_MINUTE: messages per sender
    shutdown_grace_seconds: float = DEFAULT_SHUTDOWN_GRACE_SECONDS  # SHUTDOWN_GRACE_SECONDS
    cookie_secure: bool = False  # COOKIE_SECURE=1 behind TLS: the chat's session cookie is then sent over HTTPS only
    log_level: str = "INFO"  # LOG_LEVEL: DEBUG, INFO, WARNING or ERROR (our code; libraries never below INFO)
    spool_dir: str = "var/spool"  # SPOOL_DIR: opt-outs Redis refused wait here (a persistent volume in production)
    channel_hash_key: Optional[str] = None  # CHANNEL_HASH_KEY: keys the hashes of phone numbers and chat ids
    log_format: str = "json"  # LOG_FORMAT: json (one object per line, for log collectors) or text (for people)
    rasa_workers: int = DEFAULT_RASA_WORKERS  # RASA_WORKERS: Rasa server processes (Sanic workers), one per core

    @property
    def action_url(self) -> str:
        """Where the action server is (its /health answers when it is up)."""
        return self.action_server_url or f"http://127.0.0.1:{self.action_port}"

    @property
    def redis(self) -> RedisAddress:
        """The Redis address in the parts Rasa needs."""
        return RedisAddress.from_url(self.redis_url)

    def require_privacy_key(self) -> bytes:
        """The key for every hash we store (tracker keys, respondents, panel members).

        Raises:
            SettingsError: PRIVACY_KEY is unset; without it nothing could be stored without the raw ids.
        """
        if not self.privacy_key:
            raise SettingsError("PRIVACY_KEY must be set (any long random string; `make run` makes one in var/)")
        return self.privacy_key.encode("utf-8")

    def require_panel_key(self) -> bytes:
        """The Fernet key for panel contacts.

        Raises:
            SettingsError: PANEL_ENCRYPTION_KEY is unset.
        """
        if not self.panel_key:
            raise SettingsError("PANEL_ENCRYPTION_KEY must be set (a Fernet key; `make run` makes one in var/)")
        return self.panel_key.encode("ascii")

    def require_forum_session_key(self) -> bytes:
        """The Fernet key for the dashboard's session cookie.

        Raises:
            SettingsError: FORUM_SESSION_KEY is unset (the dashboard is then off; the chat still works).
        """
        if not self.forum_session_key:
            raise SettingsError("FORUM_SESSION_KEY must be set (a Fernet key; `make run` makes one in var/)")
        return self.forum_session_key.encode("ascii")

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "Settings":
        """Read settings from the environment (or a given mapping, for tests).

        Raises:
            SettingsError: a variable is set to something unusable; the message names it.
        """
        env = os.environ if environ is None else environ
        rasa_port = _int(env, "RASA_PORT", DEFAULT_RASA_PORT)
        action_port = _int(env, "ACTION_PORT", DEFAULT_ACTION_PORT)
        settings = cls(
            redis_url=env.get("REDIS_URL") or DEFAULT_REDIS_URL,
            rasa_url=(env.get("RASA_URL") or f"http://127.0.0.1:{rasa_port}").rstrip("/"),
            rasa_port=rasa_port,
            action_port=action_port,
            action_server_url=(env.get("ACTION_SERVER_URL") or "").rstrip("/") or None,
            web_host=env.get("WEB_HOST") or DEFAULT_WEB_HOST,
            web_port=_int(env, "WEB_PORT", DEFAULT_WEB_PORT),
            tracker_expiry_seconds=_int(env, "TRACKER_EXPIRY_SECONDS", DEFAULT_TRACKER_EXPIRY_SECONDS),
            rasa_timeout_seconds=float(_int(env, "RASA_TIMEOUT_SECONDS", int(DEFAULT_RASA_TIMEOUT_SECONDS))),
            max_message_chars=_int(env, "MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS),
            rasa_token=env.get("RASA_TOKEN") or None,
            privacy_key=env.get("PRIVACY_KEY") or None,
            panel_key=env.get("PANEL_ENCRYPTION_KEY") or None,
            response_retention_days=_int(env, "RESPONSE_RETENTION_DAYS", DEFAULT_RESPONSE_RETENTION_DAYS),
            draft_expiry_days=_int(env, "DRAFT_EXPIRY_DAYS", DEFAULT_DRAFT_EXPIRY_DAYS),
            panel_retention_days=_int(env, "PANEL_RETENTION_DAYS", DEFAULT_PANEL_RETENTION_DAYS),
            invite_rate_per_second=_float(env, "INVITE_RATE_PER_SECOND", DEFAULT_INVITE_RATE_PER_SECOND),
            school_names_file=env.get("SCHOOL_NAMES_FILE") or None,
            forum_session_key=env.get("FORUM_SESSION_KEY") or None,
            forum_session_hours=_int(env, "FORUM_SESSION_HOURS", DEFAULT_FORUM_SESSION_HOURS),
            suppression_threshold=_int(env, "SUPPRESSION_THRESHOLD", DEFAULT_SUPPRESSION_THRESHOLD),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE),
            shutdown_grace_seconds=_float(env, "SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE_SECONDS),
            cookie_secure=_flag(env, "COOKIE_SECURE"),
            spool_dir=env.get("SPOOL_DIR") or "var/spool",
            channel_hash_key=env.get("CHANNEL_HASH_KEY") or None,
            log_level=_choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO"),
            log_format=_choice(env, "LOG_FORMAT", LOG_FORMATS, "json"),
            rasa_workers=_int(env, "RASA_WORKERS", DEFAULT_RASA_WORKERS),
        )
        if settings.suppression_threshold < 2:
            raise SettingsError("SUPPRESSION_THRESHOLD must be 2 or more: 1 would publish counts of one person")
        settings.redis  # parse now, so a bad REDIS_URL stops start-up with its name in the message
        return settings


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from error
    if not value > 0:
        raise SettingsError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from error
    if value <= 0:
        raise SettingsError(f"{name} must be greater than 0, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, choices: tuple, default: str) -> str:
    """One of ``choices``, spelt in any case; ``default`` when unset."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
