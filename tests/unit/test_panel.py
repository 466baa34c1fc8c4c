"""The survey panel against a real Redis (issue #7, part 7): contacts encrypted, every key expiring, claims once."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, timedelta
from typing import AsyncIterator

import pytest
import redis
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.privacy.hashing import panel_member_id, respondent_id
from bot.settings import Settings, SettingsError
from bot.surveys.panel import Member, PanelStore, panel_key
from bot.surveys.store import DAY_SECONDS, day_epoch, survey_key

HASH_KEY = b"test-privacy-key-" + b"p" * 32
FERNET_KEY = Fernet.generate_key()
RETENTION_SECONDS = 60 * DAY_SECONDS
PANEL = "strong_voices"
SENDER = "sms:+447700900123"  # a sender id as the channel makes it
NUMBER = "+447700900123"
CLOSES = date.today() + timedelta(days=20)


def _store(url: str, fernet_key: bytes = FERNET_KEY) -> PanelStore:
    return PanelStore(aioredis.Redis.from_url(url, decode_responses=True), fernet_key=fernet_key, hash_key=HASH_KEY,
                      retention_seconds=RETENTION_SECONDS)


@pytest.fixture
async def panel(redis_url: str) -> AsyncIterator[PanelStore]:
    """A panel store on the test Redis, closed after the test."""
    store = _store(redis_url)
    yield store
    await store.close()


def _values(client: redis.Redis) -> str:
    """Every key and value in Redis, as one text."""
    out = []
    for key in client.scan_iter(count=100):
        kind = client.type(key)
        value = client.get(key) if kind == "string" else client.smembers(key) if kind == "set" else kind
        out.append(f"{key} {value}")
    return "\n".join(out)


async def test_join_and_leave(panel: PanelStore) -> None:
    """Joining twice is one membership; leaving removes it (issue #7)."""
    assert await panel.join(PANEL, SENDER, "sms", NUMBER) is True
    assert await panel.join(PANEL, SENDER, "sms", NUMBER) is False
    assert await panel.is_member(PANEL, SENDER)
    assert not await panel.is_member("parent_carer_forum", SENDER)
    assert await panel.leave(PANEL, SENDER) is True
    assert await panel.leave(PANEL, SENDER) is False
    assert not await panel.is_member(PANEL, SENDER)
    assert [m async for m in panel.members(PANEL)] == []


async def test_leave_all_leaves_every_panel_and_forgets_invitations(panel: PanelStore, raw: redis.Redis) -> None:
    """Delete my data takes a sender off every panel found in Redis and drops their invitation marks, and
    leaves everyone else alone (issue #7)."""
    await panel.join(PANEL, SENDER, "sms", NUMBER)
    await panel.join("parent_carer_forum", SENDER, "sms", NUMBER)
    await panel.join(PANEL, "telegram:555", "telegram", "555")
    await panel.claim_invitation("pulse_one", panel.member_id(PANEL, SENDER), until=CLOSES)
    await panel.claim_invitation("pulse_one", panel.member_id(PANEL, "telegram:555"), until=CLOSES)
    assert await panel.leave_all(SENDER) == 2
    assert not await panel.is_member(PANEL, SENDER)
    assert not await panel.is_member("parent_carer_forum", SENDER)
    assert await panel.is_member(PANEL, "telegram:555")
    assert raw.smembers(survey_key("send", "pulse_one", "invited")) == {panel.member_id(PANEL, "telegram:555")}
    assert await panel.leave_all(SENDER) == 0


async def test_contact_is_stored_encrypted(panel: PanelStore, raw: redis.Redis) -> None:
    """The stored value is a Fernet token that decrypts back to the contact; the number, the sender id and the
    Telegram chat id appear nowhere in Redis (issue #7)."""
    await panel.join(PANEL, SENDER, "sms", NUMBER)
    await panel.join(PANEL, "telegram:987654321", "telegram", "987654321")
    member_id = panel_member_id(HASH_KEY, PANEL, SENDER)
    token = raw.get(panel_key("send", PANEL, "member", member_id))
    assert token and NUMBER not in token
    assert json.loads(Fernet(FERNET_KEY).decrypt(token.encode())) == {"channel": "sms", "contact": NUMBER}
    stored = _values(raw)
    for secret in (NUMBER, "447700900123", SENDER, "987654321"):
        assert secret not in stored
    # Panel ids are not respondent ids: nothing here joins up with answers.
    assert respondent_id(HASH_KEY, PANEL, SENDER) not in stored
    members = sorted([m async for m in panel.members(PANEL)], key=lambda m: m.channel)
    assert [(m.channel, m.contact) for m in members] == [("sms", NUMBER), ("telegram", "987654321")]
    assert NUMBER not in repr(members[0])  # a Member logged by mistake shows no contact


async def test_every_key_expires(panel: PanelStore, raw: redis.Redis) -> None:
    """Members and the member set expire after the retention; invitation marks after the survey closes plus the
    retention (issue #7)."""
    await panel.join(PANEL, SENDER, "sms", NUMBER)
    await panel.claim_invitation("pulse_one", panel.member_id(PANEL, SENDER), until=CLOSES)
    invited_key = survey_key("send", "pulse_one", "invited")
    latest_invited = day_epoch(CLOSES + timedelta(days=1)) + RETENTION_SECONDS
    keys = sorted(raw.scan_iter(count=100))
    assert len(keys) == 3
    for key in keys:
        ttl = raw.ttl(key)
        assert ttl > 0, key
        if key == invited_key:
            assert raw.expiretime(key) == latest_invited
        else:
            assert ttl <= RETENTION_SECONDS, key


async def test_joining_again_refreshes_expiry(panel: PanelStore, raw: redis.Redis) -> None:
    """Joining again refreshes the member's expiry and counts as new once the old entry has expired (issue #7)."""
    await panel.join(PANEL, SENDER, "sms", NUMBER)
    key = panel_key("send", PANEL, "member", panel.member_id(PANEL, SENDER))
    raw.expire(key, 100)
    assert await panel.join(PANEL, SENDER, "sms", NUMBER) is False
    assert raw.ttl(key) > RETENTION_SECONDS - 10
    raw.delete(key)  # as if it had expired; the id is still in the set
    assert await panel.join(PANEL, SENDER, "sms", NUMBER) is True


async def test_claim_twice_is_one_invitation(panel: PanelStore) -> None:
    """A claim succeeds once; releasing it lets a later run claim again (issue #7)."""
    member_id = panel.member_id(PANEL, SENDER)
    assert await panel.claim_invitation("pulse_one", member_id, until=CLOSES) is True
    assert await panel.claim_invitation("pulse_one", member_id, until=CLOSES) is False
    assert await panel.is_invited("pulse_one", member_id)
    assert await panel.claim_invitation("pulse_two", member_id, until=CLOSES) is True
    await panel.release_invitation("pulse_one", member_id)
    assert not await panel.is_invited("pulse_one", member_id)
    assert await panel.claim_invitation("pulse_one", member_id, until=CLOSES) is True


async def test_members_skip_undecryptable_entries(redis_url: str, panel: PanelStore,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """An entry written under another key is skipped with a log line naming its id, never a contact (issue #7)."""
    await panel.join(PANEL, "sms:+447700900001", "sms", "+447700900001")
    await panel.join(PANEL, "sms:+447700900002", "sms", "+447700900002")
    other = _store(redis_url, Fernet.generate_key())
    await other.join(PANEL, "sms:+447700900003", "sms", "+447700900003")
    await other.close()
    with caplog.at_level(logging.WARNING, logger="bot.surveys.panel"):
        members = [m async for m in panel.members(PANEL)]
    assert sorted(m.contact for m in members) == ["+447700900001", "+447700900002"]
    skipped = panel.member_id(PANEL, "sms:+447700900003")
    assert any(skipped in record.getMessage() for record in caplog.records)
    assert "447700900003" not in caplog.text


async def test_members_drop_expired_ids(panel: PanelStore, raw: redis.Redis) -> None:
    """Ids whose entry expired are skipped and removed from the member set (issue #7)."""
    for number in range(150):  # more than one SSCAN step
        await panel.join(PANEL, f"telegram:{number}", "telegram", str(number))
    gone = panel.member_id(PANEL, "telegram:7")
    raw.delete(panel_key("send", PANEL, "member", gone))
    members = [m async for m in panel.members(PANEL)]
    assert len(members) == 149 and len({m.member_id for m in members}) == 149
    assert not raw.sismember(panel_key("send", PANEL, "members"), gone)


@pytest.mark.parametrize("channel, contact", [
    pytest.param("sms", "07700900123", id="sms-not-e164"),
    pytest.param("sms", "+44 7700 900123", id="sms-spaces"),
    pytest.param("telegram", "@someone", id="telegram-username"),
    pytest.param("web", "abc", id="unknown-channel"),
])
async def test_join_refuses_bad_contacts(panel: PanelStore, raw: redis.Redis, channel: str, contact: str) -> None:
    """A contact that cannot be used is refused, without repeating it in the error (issue #7)."""
    with pytest.raises(ValueError) as caught:
        await panel.join(PANEL, SENDER, channel, contact)
    assert contact not in str(caught.value)
    assert list(raw.scan_iter()) == []


def test_from_settings_needs_both_keys() -> None:
    """Without PRIVACY_KEY or a real PANEL_ENCRYPTION_KEY the panel cannot be used (issue #7)."""
    with pytest.raises(SettingsError):
        PanelStore.from_settings(Settings.from_env({"PRIVACY_KEY": "k" * 32}))
    with pytest.raises(SettingsError):
        PanelStore.from_settings(Settings.from_env({"PANEL_ENCRYPTION_KEY": FERNET_KEY.decode()}))
    with pytest.raises(SettingsError):
        PanelStore.from_settings(Settings.from_env({"PRIVACY_KEY": "k" * 32, "PANEL_ENCRYPTION_KEY": "short"}))
    store = PanelStore.from_settings(Settings.from_env({"PRIVACY_KEY": "k" * 32,
                                                        "PANEL_ENCRYPTION_KEY": FERNET_KEY.decode(),
                                                        "PANEL_RETENTION_DAYS": "7"}))
    assert store._retention == 7 * DAY_SECONDS
    asyncio.run(store.close())


def test_member_ids_differ_per_panel() -> None:
    """The same sender has unrelated ids on two panels (issue #7)."""
    assert panel_member_id(HASH_KEY, "a_panel", SENDER) != panel_member_id(HASH_KEY, "b_panel", SENDER)
    assert Member("m", "sms", NUMBER) == Member("m", "sms", NUMBER)
