"""The private tracker and lock stores against a real Redis: keyed by a hash, redacted, short, expiring (issue #7)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Iterator, List

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.privacy.hashing import tracker_key
from bot.privacy.lock_store import PrivateRedisLockStore
from bot.privacy.tracker_store import DISCLOSURE_PLACEHOLDER, PrivateRedisTrackerStore, current_session, last_turns
from bot.settings import RedisAddress

SENDER = "sms-" + "ab" * 16
PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    """The assistant's real domain (its slots and forms)."""
    return Domain.load(str(PROJECT_DIR / "domain.yml"))


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A PRIVACY_KEY for this test."""
    value = secrets.token_hex(16)
    monkeypatch.setenv("PRIVACY_KEY", value)
    return value.encode()


@pytest.fixture
def store(redis_url: str, domain: Domain, key: bytes) -> Iterator[PrivateRedisTrackerStore]:
    """The tracker store as endpoints.yml configures it, on the test Redis."""
    address = RedisAddress.from_url(redis_url)
    yield PrivateRedisTrackerStore(domain, host=address.host, port=address.port, db=0, record_exp=3600,
                                   key_prefix="send", max_turns=5)


def _user(text: str, intent: str = "funding_2yo", **kwargs) -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 0.9},
                       parse_data={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
                       metadata={"from": "someone"}, **kwargs)


def _turn(text: str, intent: str = "funding_2yo") -> List[Event]:
    return [_user(text, intent), ActionExecuted("action_answer_question"), BotUttered("An answer."),
            ActionExecuted("action_listen")]


async def test_a_conversation_is_stored_under_a_keyed_hash_redacted(store: PrivateRedisTrackerStore, key: bytes,
                                                             redis_url: str) -> None:
    """The key and the stored name are HMACs; user text is redacted; metadata is dropped; it expires."""
    tracker = DialogueStateTracker.from_events(SENDER, [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        *_turn("my name is Sarah Jones, call me on 07700 900456, can my 2 year old get free hours"),
    ])
    await store.save(tracker)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = list(client.scan_iter("*"))
    assert keys == [f"send:tracker:{tracker_key(key, SENDER)}"]
    stored = client.get(keys[0])
    assert SENDER not in stored and "Sarah" not in stored and "07700 900456" not in stored
    assert "[NAME]" in stored and "[PHONE]" in stored and '"from"' not in stored
    assert 0 < client.ttl(keys[0]) <= 3600
    back = await store.retrieve(SENDER)
    assert back is not None and back.sender_id == SENDER
    assert back.latest_message.intent["name"] == "funding_2yo"


async def test_a_disclosure_is_not_kept_at_all(store: PrivateRedisTrackerStore, redis_url: str) -> None:
    """The words of a disclosure are replaced as a whole; the intent stays, so the dialogue still works."""
    tracker = DialogueStateTracker.from_events(SENDER, _turn("my stepdad hits me", intent="safeguarding"))
    await store.save(tracker)
    stored = redis.Redis.from_url(redis_url, decode_responses=True).get(store.stored_key(SENDER))
    assert "stepdad" not in stored and DISCLOSURE_PLACEHOLDER in stored and "safeguarding" in stored


def test_only_the_current_session_is_kept() -> None:
    """Events before the last session start (or restart) are dropped."""
    old = [ActionExecuted("action_session_start"), SessionStarted(), *_turn("first session")]
    new = [ActionExecuted("action_session_start"), SessionStarted(), *_turn("second session")]
    assert current_session(old + new) == new
    restarted = [Restarted(), ActionExecuted("action_listen"), *_turn("after")]
    assert current_session(old + restarted) == restarted


def test_a_long_session_keeps_its_last_turns_and_its_state(domain: Domain) -> None:
    """Past max_turns, the earlier turns become a snapshot: the slots and the active form survive the cut."""
    events: List[Event] = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
                           _user("check my hours", "check_funding"), ActionExecuted("funding_checker_form"),
                           ActiveLoop("funding_checker_form"), SlotSet("child_birth_date", "2023-11-03"),
                           SlotSet("requested_slot", "parents_work"), ActionExecuted("action_listen")]
    for number in range(30):
        events += _turn(f"question {number}", intent="haf_eligibility")[:1] + [
            ActionExecuted("funding_checker_form"), ActionExecuted("action_listen")]
    kept = last_turns(SENDER, events, domain, max_turns=5)
    assert sum(isinstance(e, UserUttered) for e in kept) == 5
    rebuilt = DialogueStateTracker.from_events(SENDER, kept, slots=domain.slots)
    full = DialogueStateTracker.from_events(SENDER, events, slots=domain.slots)
    assert rebuilt.get_slot("child_birth_date") == full.get_slot("child_birth_date") == "2023-11-03"
    assert rebuilt.active_loop_name == full.active_loop_name == "funding_checker_form"
    assert rebuilt.get_slot("requested_slot") == "parents_work"
    assert rebuilt.latest_message.text == full.latest_message.text


async def test_saving_a_long_conversation_stores_the_last_turns_only(store: PrivateRedisTrackerStore,
                                                               redis_url: str) -> None:
    """What reaches Redis stops growing with the conversation."""
    events: List[Event] = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    sizes = []
    for number in range(40):
        events += _turn(f"what is HAF {number}", intent="haf_eligibility")
        await store.save(DialogueStateTracker.from_events(SENDER, events))
        sizes.append(len(redis.Redis.from_url(redis_url).get(store.stored_key(SENDER))))
    assert sizes[-1] < sizes[10] * 1.2
    stored = json.loads(redis.Redis.from_url(redis_url).get(store.stored_key(SENDER)))
    assert sum(e["event"] == "user" for e in stored["events"]) == 5


def test_the_lock_store_keeps_no_conversation_id(redis_url: str, key: bytes) -> None:
    """Rasa's per-conversation lock is stored under the hash, with the hash inside, and expires."""
    address = RedisAddress.from_url(redis_url)
    locks = LockStore.create(EndpointConfig(url=address.host, type="bot.privacy.lock_store.PrivateRedisLockStore",
                                            port=address.port, db=0, key_prefix="send"))
    assert isinstance(locks, PrivateRedisLockStore)
    ticket = locks.issue_ticket(SENDER)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    base = f"send:lock:{tracker_key(key, SENDER)}"
    assert sorted(client.scan_iter("*")) == [base + ":next", base + ":tickets"]
    stored = {"next": client.get(base + ":next"), "tickets": client.hgetall(base + ":tickets")}
    assert SENDER not in json.dumps(stored) and client.ttl(base + ":next") > 0 and client.ttl(base + ":tickets") > 0
    assert locks.get_lock(SENDER).conversation_id == SENDER
    locks.finish_serving(SENDER, ticket)
    locks.cleanup(SENDER, ticket)
    assert not list(client.scan_iter("*"))
