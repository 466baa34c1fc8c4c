"""The forum's stores against a real Redis (issue #8): accounts, sessions, the login limit, the audit log and the
"you said, we did" updates. What a forum member or an attacker would notice, and what a copy of Redis would show.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import date
from typing import AsyncIterator

import pytest
import redis
import redis.asyncio as aioredis
from argon2 import PasswordHasher
from cryptography.fernet import Fernet

from bot.forum.accounts import (
    ACCOUNT_IDLE_DAYS,
    AccountStore,
    InvalidUserName,
    UnknownUser,
    UserExists,
    WeakPassword,
    add_user,
)
from bot.forum.audit import AuditLog, record
from bot.forum.results import Update
from bot.forum.sessions import LOGIN_WINDOW_SECONDS, LoginLimiter, SessionStore
from bot.forum.updates import MAX_UPDATE_CHARS, UpdateError, UpdateStore
from bot.settings import Settings
from bot.stack import free_port
from bot.surveys.store import DAY_SECONDS, SurveyStoreUnavailable, redis_client

PASSWORD = "correct horse battery"
# Cheap Argon2id parameters, so tests that only need "some hash" do not spend 0.2 s on each.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SESSION_KEY = Fernet.generate_key()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = redis_client(redis_url)
    yield connection
    await connection.close()


@pytest.fixture
def accounts(client: aioredis.Redis) -> AccountStore:
    return AccountStore(client, hasher=FAST)


def _everything(raw: redis.Redis) -> str:
    """Every key and every stored value, as one text, to look for what must never be stored."""
    parts = []
    for key in raw.scan_iter("*"):
        parts.append(key)
        kind = raw.type(key)
        if kind == "string":
            parts.append(raw.get(key) or "")
        elif kind == "hash":
            parts.extend(f"{k} {v}" for k, v in raw.hgetall(key).items())
        elif kind == "stream":
            parts.extend(str(entry) for entry in raw.xrange(key))
    return "\n".join(parts)


# --- Accounts ------------------------------------------------------------------------------------------------------

async def test_password_is_stored_only_as_an_argon2id_hash(client: aioredis.Redis, raw: redis.Redis) -> None:
    """With the real parameters: the hash is Argon2id, salted, and the password is nowhere in Redis."""
    store = AccountStore(client)

    assert await store.add("Sam.Jones", PASSWORD) == "sam.jones"

    stored = raw.hgetall("send:forum:user:sam.jones")
    assert stored["hash"].startswith("$argon2id$")
    assert stored["created"] == date.today().isoformat()
    assert PASSWORD not in _everything(raw)
    assert await store.verify("sam.jones", PASSWORD)


async def test_right_password_accepted_wrong_refused(accounts: AccountStore) -> None:
    await accounts.add("sam", PASSWORD)

    assert await accounts.verify("sam", PASSWORD)
    assert await accounts.verify(" SAM ", PASSWORD)  # the name is not case-sensitive
    assert not await accounts.verify("sam", PASSWORD + "!")
    assert not await accounts.verify("sam", PASSWORD.upper())
    assert not await accounts.verify("sam", "")
    assert not await accounts.verify("sam", "x" * 5000)
    assert not await accounts.verify("nobody", PASSWORD)
    assert not await accounts.verify("not a valid name!", PASSWORD)


async def test_unknown_names_cost_a_verification_too(client: aioredis.Redis) -> None:
    """A login for a name with no account verifies a dummy hash, so its timing gives nothing away."""

    class Counting(PasswordHasher):
        verified = 0

        def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
            Counting.verified += 1
            return super().verify(hash, password)

    store = AccountStore(client, hasher=Counting(time_cost=1, memory_cost=1024, parallelism=1))
    await store.add("sam", PASSWORD)

    for name in ("nobody", "NOT VALID", "sam"):
        before = Counting.verified
        await store.verify(name, "wrong password here")
        assert Counting.verified == before + 1, name


@pytest.mark.parametrize("name", ["a", "x" * 41, "sam jones", "sam:jones", "sam*", "", "søren"])
async def test_bad_user_names_refused(accounts: AccountStore, name: str) -> None:
    with pytest.raises(InvalidUserName):
        await accounts.add(name, PASSWORD)


@pytest.mark.parametrize("password", ["short", "123456789", "sam.jones1", "SAM.JONES1 ", "x" * 1025])
async def test_weak_passwords_refused(accounts: AccountStore, password: str, raw: redis.Redis) -> None:
    with pytest.raises(WeakPassword):
        await accounts.add("sam.jones1", password)
    assert raw.exists("send:forum:user:sam.jones1") == 0


async def test_an_existing_account_is_only_replaced_when_asked(accounts: AccountStore, raw: redis.Redis) -> None:
    await accounts.add("sam", PASSWORD)
    first_epoch = await accounts.epoch("sam")
    raw.hset("send:forum:user:sam", "created", "2026-01-02")

    with pytest.raises(UserExists):
        await accounts.add("SAM", "another long password")
    assert await accounts.verify("sam", PASSWORD)

    await accounts.add("sam", "another long password", replace=True)
    assert await accounts.verify("sam", "another long password")
    assert not await accounts.verify("sam", PASSWORD)
    assert await accounts.epoch("sam") != first_epoch  # open sessions end
    assert raw.hget("send:forum:user:sam", "created") == "2026-01-02"


async def test_hash_is_upgraded_when_the_parameters_change(client: aioredis.Redis, raw: redis.Redis) -> None:
    await AccountStore(client, hasher=FAST).add("sam", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)

    assert await AccountStore(client, hasher=stronger).verify("sam", PASSWORD)

    stored = raw.hget("send:forum:user:sam", "hash")
    assert "m=2048,t=2,p=1" in stored
    assert not stronger.check_needs_rehash(stored)
    assert await AccountStore(client, hasher=stronger).verify("sam", PASSWORD)


async def test_remove_and_names(accounts: AccountStore) -> None:
    await accounts.add("sam", PASSWORD)
    await accounts.add("alex-b", PASSWORD)
    assert await accounts.names() == ["alex-b", "sam"]

    await accounts.remove("SAM")

    assert await accounts.names() == ["alex-b"]
    assert not await accounts.verify("sam", PASSWORD)
    assert await accounts.epoch("sam") is None
    with pytest.raises(UnknownUser):
        await accounts.remove("sam")


async def test_accounts_expire_when_unused_and_a_login_renews_them(accounts: AccountStore, raw: redis.Redis) -> None:
    await accounts.add("sam", PASSWORD)
    assert ACCOUNT_IDLE_DAYS * DAY_SECONDS - 60 < raw.ttl("send:forum:user:sam") <= ACCOUNT_IDLE_DAYS * DAY_SECONDS
    raw.expire("send:forum:user:sam", 100)

    assert await accounts.verify("sam", PASSWORD)

    assert raw.ttl("send:forum:user:sam") > 100


async def test_add_user_for_the_cli(redis_url: str, raw: redis.Redis) -> None:
    settings = Settings(redis_url=redis_url)

    assert await add_user(settings, "Forum.Chair", PASSWORD) == "forum.chair"
    with pytest.raises(UserExists):
        await add_user(settings, "forum.chair", PASSWORD)
    assert await add_user(settings, "forum.chair", "a different password", replace=True) == "forum.chair"

    assert raw.hget("send:forum:user:forum.chair", "hash").startswith("$argon2id$")


async def test_redis_down_is_unavailable_not_a_crash() -> None:
    client = redis_client(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(SurveyStoreUnavailable):
            await AccountStore(client, hasher=FAST).verify("sam", PASSWORD)
        with pytest.raises(SurveyStoreUnavailable):
            await SessionStore(client, SESSION_KEY, hours=8).create("sam", "epoch")
        with pytest.raises(SurveyStoreUnavailable):
            await AuditLog(client).record("sam", "download", "parent_carer_forum", "csv")
    finally:
        await client.close()


# --- Sessions ------------------------------------------------------------------------------------------------------

async def test_session_round_trip_keeps_no_usable_id_in_redis(client: aioredis.Redis, raw: redis.Redis) -> None:
    sessions = SessionStore(client, SESSION_KEY, hours=8)

    cookie, session = await sessions.create("sam", "epoch-1")

    loaded = await sessions.load(cookie)
    assert loaded == session
    assert loaded.user == "sam" and loaded.epoch == "epoch-1" and len(loaded.csrf) >= 40
    session_id = Fernet(SESSION_KEY).decrypt(cookie.encode()).decode()
    stored = _everything(raw)
    assert session_id not in stored and cookie not in stored
    key = f"send:forum:session:{hashlib.sha256(session_id.encode()).hexdigest()}"
    assert 8 * 3600 - 60 < raw.ttl(key) <= 8 * 3600


async def test_forged_tampered_and_old_cookies_are_refused(client: aioredis.Redis) -> None:
    sessions = SessionStore(client, SESSION_KEY, hours=8)
    cookie, session = await sessions.create("sam", "epoch-1")
    session_id = Fernet(SESSION_KEY).decrypt(cookie.encode()).decode()

    tampered = cookie[:-6] + ("A" if cookie[-6] != "A" else "B") + cookie[-5:]
    other_key = Fernet(Fernet.generate_key()).encrypt(session_id.encode()).decode()
    too_old = Fernet(SESSION_KEY).encrypt_at_time(session_id.encode(), int(time.time()) - 9 * 3600).decode()
    unknown = Fernet(SESSION_KEY).encrypt(b"an-id-that-was-never-made").decode()
    for refused in (tampered, other_key, too_old, unknown, "", None, "not base64 !!", "x" * 5000):
        assert await sessions.load(refused) is None, refused

    assert await sessions.load(cookie) == session


async def test_ending_a_session_stops_its_cookie(client: aioredis.Redis) -> None:
    sessions = SessionStore(client, SESSION_KEY, hours=8)
    cookie, session = await sessions.create("sam", "epoch-1")

    await sessions.end(session)

    assert await sessions.load(cookie) is None


async def test_csrf_token_compare(client: aioredis.Redis) -> None:
    _, session = await SessionStore(client, SESSION_KEY, hours=8).create("sam", "e")
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(session.csrf[:-1])
    assert not session.csrf_matches("")
    assert not session.csrf_matches(None)


def test_a_key_that_is_not_a_fernet_key_is_refused() -> None:
    with pytest.raises(ValueError):
        SessionStore(redis_client("redis://127.0.0.1:1/0"), b"not a key", hours=8)


# --- Login limit ---------------------------------------------------------------------------------------------------

async def test_five_failures_for_a_name_block_it(client: aioredis.Redis) -> None:
    limiter = LoginLimiter(client, SESSION_KEY)
    for attempt in range(5):
        assert await limiter.retry_after("sam", f"10.0.0.{attempt}") is None
        await limiter.failed("sam", f"10.0.0.{attempt}")

    wait = await limiter.retry_after("SAM", "10.0.0.99")

    assert wait is not None and LOGIN_WINDOW_SECONDS - 5 <= wait <= LOGIN_WINDOW_SECONDS
    assert await limiter.retry_after("alex", "10.0.0.99") is None


async def test_five_failures_from_an_address_block_it(client: aioredis.Redis) -> None:
    limiter = LoginLimiter(client, SESSION_KEY)
    for attempt in range(5):
        await limiter.failed(f"guess{attempt}", "10.0.0.1")

    assert await limiter.retry_after("sam", "10.0.0.1") is not None
    assert await limiter.retry_after("sam", "10.0.0.2") is None


async def test_success_forgets_the_names_failures_only(client: aioredis.Redis) -> None:
    limiter = LoginLimiter(client, SESSION_KEY)
    for _ in range(4):
        await limiter.failed("sam", "10.0.0.1")
    await limiter.succeeded("sam")
    for _ in range(4):
        await limiter.failed("sam", "10.0.0.2")
    assert await limiter.retry_after("sam", "10.0.0.3") is None  # 4 since the success

    await limiter.failed("alex", "10.0.0.1")
    assert await limiter.retry_after("someone", "10.0.0.1") is not None  # the address still counts 5


async def test_counters_expire_and_hold_neither_name_nor_address(client: aioredis.Redis, raw: redis.Redis) -> None:
    limiter = LoginLimiter(client, SESSION_KEY)
    await limiter.failed("my secret password typed as a name", "203.0.113.7")

    keys = list(raw.scan_iter("send:forum:login-failures:*"))
    assert len(keys) == 2
    assert all(0 < raw.ttl(key) <= LOGIN_WINDOW_SECONDS for key in keys)
    stored = _everything(raw)
    assert "secret" not in stored and "203.0.113.7" not in stored


# --- Audit log -----------------------------------------------------------------------------------------------------

async def test_audit_records_who_what_when_in_redis_and_the_log(client: aioredis.Redis, raw: redis.Redis,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    audit = AuditLog(client)
    with caplog.at_level(logging.INFO, logger="bot.forum.audit"):
        entry = await audit.record("sam", "download", "parent_carer_forum", "xlsx",
                                   {"from": date(2026, 11, 1), "to": None, "threshold": 5})

    (stream_id, fields), = raw.xrange("send:forum:audit")
    assert fields["who"] == "sam" and fields["action"] == "download" and fields["survey"] == "parent_carer_forum"
    assert fields["format"] == "xlsx"
    assert fields["params"] == '{"from":"2026-11-01","threshold":5,"to":null}'
    assert fields["at"] == entry.at.isoformat()
    assert 0 < raw.ttl("send:forum:audit") <= 365 * DAY_SECONDS
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.forum.audit"]
    assert lines == ['sam download survey=parent_carer_forum format=xlsx '
                     'params={"from":"2026-11-01","threshold":5,"to":null}']
    assert (await audit.recent())[0] == entry


@pytest.mark.parametrize("params", [
    {"figures": [12, 3, 4]},
    {"answers": {"q1": "agree"}},
    {"quote": "x" * 65},
    {"Bad Name": 1},
    {f"p{i}": i for i in range(11)},
    {"text": "line\nbreak"},
])
async def test_audit_refuses_anything_but_short_scalar_parameters(client: aioredis.Redis, raw: redis.Redis,
                                                                  params: dict) -> None:
    with pytest.raises(ValueError):
        await AuditLog(client).record("sam", "download", "parent_carer_forum", "csv", params)
    assert raw.exists("send:forum:audit") == 0


@pytest.mark.parametrize("who, action, survey_id, fmt", [
    ("sam jones", "download", "parent_carer_forum", "csv"),
    ("sam", "Download!", "parent_carer_forum", "csv"),
    ("sam", "download", "bad survey:id", "csv"),
    ("sam", "download", "parent_carer_forum", "../etc/passwd"),
])
async def test_audit_refuses_malformed_fields(client: aioredis.Redis, who: str, action: str, survey_id: str,
                                              fmt: str) -> None:
    with pytest.raises(ValueError):
        await AuditLog(client).record(who, action, survey_id, fmt)


async def test_audit_record_for_the_cli(redis_url: str, raw: redis.Redis) -> None:
    await record(Settings(redis_url=redis_url), "cli:root", "export", "strong_voices", "json", {"closed_only": True})

    (_, fields), = raw.xrange("send:forum:audit")
    assert fields["who"] == "cli:root" and fields["action"] == "export" and fields["params"] == '{"closed_only":true}'


# --- "You said, we did" updates ------------------------------------------------------------------------------------

async def test_update_round_trip(client: aioredis.Redis, raw: redis.Redis) -> None:
    updates = UpdateStore(client)
    assert await updates.get("parent_carer_forum") is None

    stored = await updates.set("parent_carer_forum", "  You said waiting was too long.\r\nWe added two staff.  ",
                               "sam", date(2026, 12, 1))

    assert stored == Update(text="You said waiting was too long.\nWe added two staff.", author="sam",
                            written=date(2026, 12, 1))
    assert await updates.get("parent_carer_forum") == stored
    assert 0 < raw.ttl("send:forum:update:parent_carer_forum") <= 365 * DAY_SECONDS

    await updates.set("parent_carer_forum", "A newer update.", "alex", date(2026, 12, 2))
    assert (await updates.get("parent_carer_forum")).text == "A newer update."


@pytest.mark.parametrize("text", [
    "", "   \n  ", "x" * (MAX_UPDATE_CHARS + 1), "We <b>did</b> it", "Fish &amp; chips", "bell\x07",
    "tab\there", "right-to-left \u202e override", "zero\u200bwidth", None, 42,
])
async def test_updates_that_cannot_be_sent_by_sms_are_refused(client: aioredis.Redis, raw: redis.Redis,
                                                              text: object) -> None:
    with pytest.raises(UpdateError):
        await UpdateStore(client).set("parent_carer_forum", text, "sam", date(2026, 12, 1))
    assert raw.exists("send:forum:update:parent_carer_forum") == 0


async def test_an_update_of_exactly_the_limit_is_kept(client: aioredis.Redis) -> None:
    text = "We listened. " * 36 + "x" * (MAX_UPDATE_CHARS - 13 * 36)
    assert len(text) == MAX_UPDATE_CHARS

    stored = await UpdateStore(client).set("parent_carer_forum", text, "sam", date(2026, 12, 1))

    assert stored.text == text.strip()


async def test_malformed_stored_update_reads_as_none(client: aioredis.Redis, raw: redis.Redis) -> None:
    raw.set("send:forum:update:parent_carer_forum", "{not json")
    assert await UpdateStore(client).get("parent_carer_forum") is None
