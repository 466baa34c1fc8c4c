"""One running stack per test session: its own Redis on a free port, the action server, the Rasa server (loaded
once, 30-60 s) and the web app. Integration tests share it; unit tests never touch it.

Logs of every service go to ``var/test-logs/`` so a failure can be read after the run.
"""

from __future__ import annotations

import functools
from dataclasses import replace
import os
import secrets
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Set, Tuple

import pytest
import redis
from cryptography.fernet import Fernet

from bot.settings import Settings
from bot.stack import VAR_DIR, Stack, latest_model, settings_with_free_ports
from bot.privacy.hashing import tracker_key
from tests.integration.clients import SMS_WEBHOOK_URL, Chat, Phone, remember_typed
from tests.integration.seeding import ForumSeed, rest_ask, seed_forum_survey
from tests.integration.standins import TelegramStandIn, TwilioStandIn

PRIVACY_AUDIT = "privacy_audit"


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """The privacy audit reads what the whole session left in Redis and the logs, so it runs last."""
    items.sort(key=lambda item: item.get_closest_marker(PRIVACY_AUDIT) is not None)



def _require(program_ok: bool, reason: str) -> None:
    if not program_ok:
        pytest.fail(reason, pytrace=False)


@pytest.fixture(scope="session")
def twilio_standin() -> Iterator[TwilioStandIn]:
    """A local Twilio Messages API that records the texts the SMS channel sends (issue #4)."""
    standin = TwilioStandIn(account_sid="AC" + uuid.uuid4().hex, auth_token=secrets.token_hex(16)).start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def telegram_standin() -> Iterator[TelegramStandIn]:
    """A local Telegram Bot API that records what the Telegram channel calls (issue #4)."""
    standin = TelegramStandIn(token=f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(24)}").start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def channel_env(twilio_standin: TwilioStandIn, telegram_standin: TelegramStandIn) -> Iterator[Dict[str, str]]:
    """Turns the SMS and Telegram channels on, pointed at the stand-ins: set in our environment, which the stack
    passes to every service it starts."""
    env = {
        "TWILIO_ACCOUNT_SID": twilio_standin.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_standin.auth_token,
        "TWILIO_NUMBER": "+447700900000",
        "TWILIO_API_BASE": twilio_standin.url,
        "SMS_WEBHOOK_URL": SMS_WEBHOOK_URL,
        "TELEGRAM_TOKEN": telegram_standin.token,
        "TELEGRAM_SECRET_TOKEN": secrets.token_urlsafe(32),
        "TELEGRAM_API_BASE": telegram_standin.url,
        "CHANNEL_HASH_KEY": secrets.token_hex(32),
        "PRIVACY_KEY": secrets.token_hex(32),
        "PANEL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "FORUM_SESSION_KEY": Fernet.generate_key().decode(),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    yield env
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, channel_env: Dict[str, str]) -> Iterator[Stack]:
    """The running stack, started once for the whole session (with the SMS and Telegram channels on)."""
    _require(shutil.which("redis-server") is not None,
             "redis-server is not installed (apt-get install -y redis-server); .ci/run installs it")
    latest_model()  # a clear error if nothing was trained
    settings = settings_with_free_ports(Settings.from_env({}))
    log_dir = VAR_DIR / "test-logs"
    for old in log_dir.glob("*.log"):
        old.unlink()  # the privacy audit reads this session's logs only
    # Every service at DEBUG, the libraries' debug lines included, so the privacy audit sees the worst case.
    running = Stack(replace(settings, log_level="DEBUG"), log_dir=log_dir)
    running.start(redis_dir=tmp_path_factory.mktemp("redis"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def rasa_url(stack: Stack) -> str:
    """Base URL of the running Rasa server."""
    return stack.settings.rasa_url


@pytest.fixture(scope="session")
def web_url(stack: Stack) -> str:
    """Base URL of the running web app (chat page)."""
    return stack.web_url


# Responses seeded for the forum's tests: enough for most figures to be published, few enough for some to be small.
FORUM_SEED_RESPONSES = 10


@pytest.fixture(scope="session")
def forum_seed(stack: Stack, sensitive: Set[str]) -> ForumSeed:
    """The Parent Carer Forum survey, completed FORUM_SEED_RESPONSES times through the running stack (web chat)."""
    from bot.surveys.definitions import load_surveys

    seed = seed_forum_survey(stack.settings.rasa_url, load_surveys()["parent_carer_forum"], FORUM_SEED_RESPONSES)
    sensitive.update(seed.senders)
    return seed


@pytest.fixture
def redis_client(stack: Stack) -> Iterator[redis.Redis]:
    """A client of the session's Redis, to look at what the stack stored."""
    client = redis.Redis.from_url(stack.settings.redis.url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def sensitive() -> Set[str]:
    """Everything the session's tests typed or were known by that must never reach Redis or a log: phone numbers,
    chat ids, Rasa sender ids, and the personal details in free-text answers (the privacy audit checks)."""
    return set()


@pytest.fixture
def sender(sensitive: Set[str]) -> str:
    """A fresh conversation id, so tests never see each other's context."""
    sender_id = "test-" + uuid.uuid4().hex
    sensitive.add(sender_id)
    return sender_id


@pytest.fixture(scope="session")
def stored_tracker_key(channel_env: Dict[str, str]) -> Callable[[str], str]:
    """Where the tracker store keeps a sender's conversation: a keyed hash, never the sender id."""
    key = channel_env["PRIVACY_KEY"].encode()
    return lambda sender_id: f"send:tracker:{tracker_key(key, sender_id)}"


@pytest.fixture
def chat(stack: Stack, telegram_standin: TelegramStandIn, channel_env: Dict[str, str], sensitive: Set[str],
         typed: Set[str]) -> Chat:
    """A new private Telegram chat, so tests never see each other's conversations."""
    return Chat(stack, telegram_standin, channel_env, sensitive, typed)


@pytest.fixture
def phone(stack: Stack, twilio_standin: TwilioStandIn, channel_env: Dict[str, str], sensitive: Set[str],
          typed: Set[str]) -> Phone:
    """A new phone number, so tests never see each other's conversations or opt-outs."""
    return Phone(stack, twilio_standin, channel_env, sensitive, typed)


Ask = Callable[[str], List[dict]]


@pytest.fixture(scope="session")
def typed() -> Set[str]:
    """Messages the session's tests typed (long enough to be unmistakable): the conversation keeps them in Redis
    for a day, but no log may ever hold one, at any level (the privacy audit checks)."""
    return set()


@pytest.fixture
def web_chat(stack: Stack, typed: Set[str]) -> Callable[[str], Tuple[int, Any]]:
    """A browser's session with the web chat API (its own cookie jar): send a message, get (status, JSON body)."""
    import http.cookiejar
    import json
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def send(message: str) -> Tuple[int, Any]:
        remember_typed(typed, message)
        request = urllib.request.Request(f"{stack.web_url}/api/chat", json.dumps({"message": message}).encode(),
                                         {"Content-Type": "application/json"})
        try:
            with opener.open(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    return send


@pytest.fixture
def ask(rasa_url: str, sender: str, typed: Set[str]) -> Ask:
    """Send one message to the Rasa REST channel as ``sender`` and return the bot's messages."""
    send = functools.partial(rest_ask(rasa_url), sender)

    def asking(text: str) -> List[dict]:
        remember_typed(typed, text)
        return send(text)

    return asking

