"""The survey answer store against a real Redis (issue #7, part 5): anonymised, atomic, counted, expiring."""

from __future__ import annotations

import asyncio
import shutil
import signal
import statistics
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import AsyncIterator, List, Tuple

import pytest
import redis
import redis.asyncio as aioredis

from bot.privacy.hashing import respondent_id
from bot.settings import RedisAddress, Settings
from bot.stack import LOOPBACK, free_port, redis_answers
from bot.surveys.store import (
    DAY_SECONDS,
    SurveyClosed,
    SurveyStore,
    SurveyStoreError,
    SurveyStoreUnavailable,
    counter_fields,
    survey_key,
)
from tests.unit.survey_doubles import Question, Survey

PRIVACY_KEY = b"test-privacy-key-" + b"x" * 32
RETENTION_SECONDS = 30 * DAY_SECONDS
DRAFT_SECONDS = 14 * DAY_SECONDS
TODAY = date(2026, 3, 2)
SENDER = "+447700900123"  # what the channel knows; must never reach Redis




SURVEY = Survey(
    id="pulse_test", title="Pulse", panel="pulse_panel", keyword="PULSE",
    opens=TODAY - timedelta(days=10), closes=TODAY + timedelta(days=20),
    questions=(
        Question("feel", "likert"), Question("recommend", "nps"), Question("heard", "yes_no"),
        Question("fair", "statement"), Question("school", "single_choice"), Question("help", "multiple_choice"),
        Question("more", "free_text"),
    ),
)
ANSWERS = {"feel": 4, "recommend": 9, "heard": "yes", "fair": "agree", "school": "college",
           "help": ["sendco", "friends"], "more": "More [NAME] time please"}


def who(sender: str = SENDER, survey_id: str = SURVEY.id) -> str:
    """The respondent hash the caller computes."""
    return respondent_id(PRIVACY_KEY, survey_id, sender)


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[SurveyStore]:
    """A store on the test Redis, closed after the test."""
    survey_store = SurveyStore(aioredis.Redis.from_url(redis_url, decode_responses=True),
                               retention_seconds=RETENTION_SECONDS, draft_seconds=DRAFT_SECONDS)
    yield survey_store
    await survey_store.close()


def _all_keys(client: redis.Redis) -> List[str]:
    return sorted(client.scan_iter(count=100))


def _dump(client: redis.Redis, key: str) -> str:
    """Everything a key holds, as text, whatever its type."""
    kind = client.type(key)
    if kind == "string":
        return client.get(key) or ""
    if kind == "hash":
        return repr(client.hgetall(key))
    if kind == "zset":
        return repr(client.zrange(key, 0, -1, withscores=True))
    if kind == "set":
        return repr(client.smembers(key))
    return repr(kind)


async def test_submit_then_read_back(store: SurveyStore) -> None:
    """A response reads back with its answers and only its day; counts and the index see it (issue #7)."""
    assert await store.submit(SURVEY, who(), ANSWERS, submitted=TODAY) is True
    assert await store.response(SURVEY.id, who()) == {"answers": ANSWERS, "submitted": "2026-03-02"}
    assert await store.response(SURVEY.id, who("+447700900999")) is None
    await store.submit(SURVEY, who(), ANSWERS, submitted=datetime(2026, 3, 2, 17, 45))  # the time is dropped
    assert (await store.response(SURVEY.id, who()))["submitted"] == "2026-03-02"
    assert await store.response_count(SURVEY.id) == 1
    assert await store.counts(SURVEY.id) == {
        "feel=4": 1, "recommend=9": 1, "heard=yes": 1, "fair=agree": 1, "school=college": 1,
        "help=sendco": 1, "help=friends": 1, "more=answered": 1,
    }
    assert [r async for r in store.responses(SURVEY.id)] == [{"answers": ANSWERS, "submitted": "2026-03-02"}]


async def test_retake_replaces_and_counts_stay_right(store: SurveyStore) -> None:
    """A retake replaces the earlier response and takes its counts back; fields that reach 0 go (issue #7)."""
    other = who("+447700900456")
    await store.submit(SURVEY, other, {"feel": 4, "heard": "no"}, submitted=TODAY)
    assert await store.submit(SURVEY, who(), {"feel": 4, "heard": "yes", "help": ["sendco"]}, submitted=TODAY)
    assert await store.submit(SURVEY, who(), {"feel": 2, "help": ["friends", "friends"]},
                              submitted=TODAY + timedelta(days=1)) is False
    assert await store.response(SURVEY.id, who()) == {"answers": {"feel": 2, "help": ["friends"]},
                                                      "submitted": "2026-03-03"}
    assert await store.counts(SURVEY.id) == {"feel=4": 1, "heard=no": 1, "feel=2": 1, "help=friends": 1}
    assert await store.response_count(SURVEY.id) == 2


async def test_delete_undoes_counts_index_and_draft(store: SurveyStore, raw: redis.Redis) -> None:
    """Delete my data removes the response, its index entry, its counts and the draft (issue #7)."""
    other = who("+447700900456")
    await store.submit(SURVEY, other, {"feel": 4}, submitted=TODAY)
    await store.submit(SURVEY, who(), {"feel": 4, "heard": "yes"}, submitted=TODAY)
    await store.save_draft(SURVEY, who(), {"at": "feel"}, today=TODAY)
    assert await store.delete_response(SURVEY.id, who()) is True
    assert await store.response(SURVEY.id, who()) is None
    assert await store.load_draft(SURVEY.id, who()) is None
    assert await store.counts(SURVEY.id) == {"feel=4": 1}
    assert raw.zrange(survey_key("send", SURVEY.id, "index"), 0, -1) == [other]
    assert await store.delete_response(SURVEY.id, who()) is False
    await store.save_draft(SURVEY, who(), {"at": "feel"}, today=TODAY)
    assert await store.delete_response(SURVEY.id, who()) is True  # a draft alone is data too


async def test_every_key_has_a_ttl_within_retention(store: SurveyStore, raw: redis.Redis) -> None:
    """Nothing is kept for ever: every key expires, and never later than the retention period (issue #7)."""
    for number in range(5):
        await store.submit(SURVEY, who(f"+44770090010{number}"), ANSWERS, submitted=TODAY)
    await store.save_draft(SURVEY, who("+447700900200"), {"feel": 3}, today=TODAY)
    keys = _all_keys(raw)
    assert len(keys) == 5 + 3  # five responses, the index, the counts, one draft
    for key in keys:
        assert 0 < raw.ttl(key) <= RETENTION_SECONDS, key


async def test_draft_never_outlives_the_survey(store: SurveyStore, raw: redis.Redis) -> None:
    """A draft expires after the draft period, and at the latest a day past the survey's last day (issue #7)."""
    closing = Survey(**{**SURVEY.__dict__, "closes": TODAY + timedelta(days=2)})
    await store.save_draft(closing, who(), {"answers": {"feel": 3}, "at": 1}, today=TODAY)
    ttl = raw.ttl(survey_key("send", closing.id, "draft", who()))
    assert 0 < ttl <= 3 * DAY_SECONDS
    assert await store.load_draft(closing.id, who()) == {"answers": {"feel": 3}, "at": 1}
    await store.save_draft(SURVEY, who(), {"at": 2}, today=TODAY)
    assert DRAFT_SECONDS - 5 <= raw.ttl(survey_key("send", SURVEY.id, "draft", who())) <= DRAFT_SECONDS
    with pytest.raises(SurveyClosed):
        await store.save_draft(closing, who(), {"at": 3}, today=closing.closes + timedelta(days=1))
    await store.submit(SURVEY, who(), {"feel": 3}, submitted=TODAY)
    assert await store.load_draft(SURVEY.id, who()) is None  # submitting drops the draft
    await store.save_draft(SURVEY, who(), {"at": 2}, today=TODAY)
    await store.delete_draft(SURVEY.id, who())
    assert await store.load_draft(SURVEY.id, who()) is None


async def test_concurrent_retakes_count_once(store: SurveyStore) -> None:
    """Twenty submits of one respondent at once leave one response and exact counts (issue #7)."""
    variants = [{"feel": 1 + n % 5, "help": ["sendco", "friends"][: 1 + n % 2], "heard": "yes"} for n in range(20)]
    results = await asyncio.gather(*(store.submit(SURVEY, who(), v, submitted=TODAY) for v in variants))
    assert results.count(True) == 1
    assert await store.response_count(SURVEY.id) == 1
    final = (await store.response(SURVEY.id, who()))["answers"]
    assert await store.counts(SURVEY.id) == {field: 1 for field in counter_fields(SURVEY, final)}


async def test_many_respondents_at_once_are_all_counted(store: SurveyStore) -> None:
    """Different respondents submitting together are each counted once (issue #7)."""
    await asyncio.gather(*(store.submit(SURVEY, who(f"+4477009002{n:02d}"), {"heard": "yes"}, submitted=TODAY)
                           for n in range(30)))
    assert await store.counts(SURVEY.id) == {"heard=yes": 30}
    assert await store.response_count(SURVEY.id) == 30


async def test_redis_down_raises_unavailable_quickly() -> None:
    """With nobody listening, every call fails fast with SurveyStoreUnavailable, the cause chained (issue #7)."""
    client = aioredis.Redis.from_url(f"redis://{LOOPBACK}:{free_port()}/0", decode_responses=True,
                                     socket_timeout=2, socket_connect_timeout=2)
    down = SurveyStore(client, retention_seconds=RETENTION_SECONDS, draft_seconds=DRAFT_SECONDS)
    started = time.monotonic()
    with pytest.raises(SurveyStoreUnavailable) as caught:
        await down.submit(SURVEY, who(), ANSWERS, submitted=TODAY)
    assert caught.value.__cause__ is not None
    for call in (down.response(SURVEY.id, who()), down.counts(SURVEY.id), down.response_count(SURVEY.id),
                 down.load_draft(SURVEY.id, who()), down.delete_response(SURVEY.id, who())):
        with pytest.raises(SurveyStoreUnavailable):
            await call
    with pytest.raises(SurveyStoreUnavailable):
        [r async for r in down.responses(SURVEY.id)]
    assert time.monotonic() - started < 2.0
    await down.close()


async def test_a_refused_script_writes_nothing(store: SurveyStore, raw: redis.Redis) -> None:
    """If Redis refuses the script (a counts key of the wrong type), no part of the response is stored (issue #7)."""
    raw.set(survey_key("send", SURVEY.id, "counts"), "not a hash")
    with pytest.raises(SurveyStoreError):
        await store.submit(SURVEY, who(), ANSWERS, submitted=TODAY)
    assert raw.exists(survey_key("send", SURVEY.id, "response", who())) == 0
    assert raw.exists(survey_key("send", SURVEY.id, "index")) == 0


async def test_bad_answers_are_refused_before_writing(store: SurveyStore, raw: redis.Redis) -> None:
    """Answers that do not fit their question, or a sender id instead of a respondent, raise ValueError and
    store nothing (issue #7)."""
    for bad in ({"feel": "4"}, {"feel": True}, {"heard": "maybe"}, {"fair": "yes"}, {"help": "sendco"},
                {"more": 3}, {"nope": 1}, {"school": ""}):
        with pytest.raises(ValueError):
            await store.submit(SURVEY, who(), bad, submitted=TODAY)
    with pytest.raises(ValueError):
        await store.submit(SURVEY, SENDER, ANSWERS, submitted=TODAY)
    with pytest.raises(ValueError):
        await store.submit(SURVEY, "1234567890", ANSWERS, submitted=TODAY)  # a Telegram chat id
    assert _all_keys(raw) == []


def test_counter_fields_per_kind() -> None:
    """One field per answer, one per chosen option, and free text counted only as answered (issue #7)."""
    assert counter_fields(SURVEY, ANSWERS) == [
        "feel=4", "recommend=9", "heard=yes", "fair=agree", "school=college", "help=sendco", "help=friends",
        "more=answered",
    ]
    assert counter_fields(SURVEY, {"more": "   ", "help": [], "feel": None, "fair": "pass"}) == ["fair=pass"]
    assert counter_fields(SURVEY, {"help": ("a", "b", "a")}) == ["help=a", "help=b"]


@pytest.mark.parametrize("parts", [
    pytest.param(("send", "has space", "index", None), id="space-in-survey"),
    pytest.param(("send", "a:b", "index", None), id="colon-in-survey"),
    pytest.param(("send", "s*", "index", None), id="glob-in-survey"),
    pytest.param(("send", "s", "response", None), id="response-without-id"),
    pytest.param(("send", "s", "index", "abc"), id="index-with-id"),
    pytest.param(("send", "s", "tracker", None), id="unknown-kind"),
    pytest.param(("send", "s", "draft", "a:b"), id="colon-in-id"),
    pytest.param(("", "s", "index", None), id="empty-prefix"),
])
def test_survey_key_refuses_bad_parts(parts: Tuple[str, str, str, str]) -> None:
    """Keys always split back into their parts, so nothing can be written under a wrong key (issue #7)."""
    with pytest.raises(ValueError):
        survey_key(*parts)


def test_survey_key_shape() -> None:
    """Keys are <prefix>:survey:<id>:<kind>[:<ident>] (issue #7)."""
    assert survey_key("send", "strong_voices", "response", "ab12") == "send:survey:strong_voices:response:ab12"
    assert survey_key("send", "strong_voices", "counts") == "send:survey:strong_voices:counts"


async def test_responses_skip_and_unindex_expired_ones(store: SurveyStore, raw: redis.Redis) -> None:
    """The export reads through the index and drops entries whose response expired meanwhile (issue #7)."""
    for number in range(3):
        await store.submit(SURVEY, who(f"+44770090030{number}"), {"feel": number + 1},
                           submitted=TODAY - timedelta(days=number))
    raw.delete(survey_key("send", SURVEY.id, "response", who("+447700900301")))  # as if it had expired
    exported = [r async for r in store.responses(SURVEY.id)]
    assert exported == [{"answers": {"feel": 3}, "submitted": "2026-02-28"},
                        {"answers": {"feel": 1}, "submitted": "2026-03-02"}]
    assert raw.zcard(survey_key("send", SURVEY.id, "index")) == 2
    raw.delete(survey_key("send", SURVEY.id, "response", who("+447700900300")))
    assert await store.response_count(SURVEY.id) == 1


async def test_nothing_stored_contains_the_sender_id(store: SurveyStore, raw: redis.Redis) -> None:
    """No key or value holds the sender id: only the respondent hash (issue #7)."""
    await store.submit(SURVEY, who(), ANSWERS, submitted=TODAY)
    await store.save_draft(SURVEY, who("+447700900777"), {"feel": 2}, today=TODAY)
    for key in _all_keys(raw):
        assert SENDER not in key and "447700900" not in key
        assert SENDER not in _dump(raw, key) and "447700900" not in _dump(raw, key)


def test_from_settings_uses_the_retention_settings() -> None:
    """The store keeps answers for RESPONSE_RETENTION_DAYS and drafts for DRAFT_EXPIRY_DAYS (issue #7)."""
    settings = Settings.from_env({"RESPONSE_RETENTION_DAYS": "10", "DRAFT_EXPIRY_DAYS": "3"})
    survey_store = SurveyStore.from_settings(settings)
    assert survey_store._retention == 10 * DAY_SECONDS and survey_store._draft_seconds == 3 * DAY_SECONDS
    asyncio.run(survey_store.close())


# --- Durability ------------------------------------------------------------------------------------------------


def _start_redis(directory: Path, port: int) -> subprocess.Popen:
    server = shutil.which("redis-server")
    if not server:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server)", pytrace=False)
    process = subprocess.Popen(
        [server, "--bind", LOOPBACK, "--port", str(port), "--dir", str(directory), "--appendonly", "yes",
         "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not redis_answers(RedisAddress(host=LOOPBACK, port=port, db=0, password="")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the dedicated Redis did not start", pytrace=False)
        time.sleep(0.05)
    return process


def _stop_redis(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)  # a clean shutdown: Redis flushes the append-only file
    process.wait(20)


async def test_answers_survive_a_redis_restart(tmp_path: Path) -> None:
    """With AOF on, a response, its counts and its expiry are still there after Redis restarts, and the store's
    script is loaded again by itself (issue #7)."""
    port = free_port()
    url = f"redis://{LOOPBACK}:{port}/0"
    process = _start_redis(tmp_path, port)
    try:
        before = SurveyStore(aioredis.Redis.from_url(url, decode_responses=True),
                             retention_seconds=RETENTION_SECONDS, draft_seconds=DRAFT_SECONDS)
        await before.submit(SURVEY, who(), ANSWERS, submitted=TODAY)
        await before.close()
        _stop_redis(process)
        process = _start_redis(tmp_path, port)
        after = SurveyStore(aioredis.Redis.from_url(url, decode_responses=True),
                            retention_seconds=RETENTION_SECONDS, draft_seconds=DRAFT_SECONDS)
        assert await after.response(SURVEY.id, who()) == {"answers": ANSWERS, "submitted": "2026-03-02"}
        assert (await after.counts(SURVEY.id))["help=sendco"] == 1
        assert await after.submit(SURVEY, who(), {"feel": 1}, submitted=TODAY) is False  # script cache was empty
        assert await after.counts(SURVEY.id) == {"feel=1": 1}
        await after.close()
        check = redis.Redis.from_url(url, decode_responses=True)
        assert 0 < check.ttl(survey_key("send", SURVEY.id, "response", who())) <= RETENTION_SECONDS
        check.close()
    finally:
        _stop_redis(process)


async def test_store_time_per_response(store: SurveyStore) -> None:
    """Storing one response is one round trip: the median of 200 submits stays well under 50 ms (issue #7)."""
    timings = []
    for number in range(200):
        started = time.perf_counter()
        await store.submit(SURVEY, who(f"+4477009{number:05d}"), ANSWERS, submitted=TODAY)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(f"median time to store one response: {median * 1000:.2f} ms")
    assert median < 0.05
