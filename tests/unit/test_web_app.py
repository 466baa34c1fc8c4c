"""Tests for the web chat app (``bot.web.app.create_app``) against a small stand-in Rasa server.

The stand-in is a real aiohttp app on 127.0.0.1, so the code under test makes real HTTP calls, with real timeouts
and refused connections, instead of going through a mock.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channel_config import load_channel_texts
from bot.settings import Settings
from bot.web.app import (
    ERROR_MESSAGE_EMPTY,
    ERROR_MESSAGE_NOT_TEXT,
    ERROR_MESSAGE_TOO_LONG,
    ERROR_NOT_JSON_OBJECT,
    create_app,
)
from bot.web.guards import ERROR_NOT_JSON, ERROR_OTHER_SITE
from bot.web.session import COOKIE_NAME

SENDER = "a1b2c3d4e5f60718293a4b5c6d7e8f90"  # what an old page sent as its own id: ignored now
PRIVACY_KEY = "k" * 64
ERROR_RASA_UNAVAILABLE = load_channel_texts().web.unavailable
MAX_MESSAGE_CHARS = 50
SECRET_MESSAGE = "my son Jamie Smith has autism"  # must never appear in the logs
HAF_REPLY: List[Dict[str, Any]] = [
    {
        "text": "HAF clubs are free holiday clubs for children who get benefits-related free school meals. "
        "See https://www.coventry.gov.uk/haf",
        "buttons": [{"title": "Booking", "payload": "/haf_booking"}],
    },
    {"image": "https://www.coventry.gov.uk/haf.png"},
    {"custom": {"kind": "survey"}},
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeRasa:
    """A stand-in Rasa server: records what it was sent and answers as the test tells it."""

    received: List[Dict[str, Any]] = field(default_factory=list)  # JSON bodies posted to the webhook
    webhook: Optional[Handler] = None  # replaces the default webhook handler, to simulate failures
    root_status: int = 200  # what GET / answers
    url: str = ""  # set once the server is listening

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        self.received.append(await request.json())
        if self.webhook is not None:
            return await self.webhook(request)
        return web.json_response(HAF_REPLY)

    async def _root(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="Hello from Rasa: 3.6.21", status=self.root_status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_get("/", self._root)
        return app


@pytest.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    """A running stand-in Rasa server on 127.0.0.1."""
    rasa = FakeRasa()
    server = TestServer(rasa.app(), host="127.0.0.1")
    await server.start_server()
    rasa.url = f"http://127.0.0.1:{server.port}"
    yield rasa
    await server.close()


REDIS_URL = ""  # set by the autouse fixture below: each test gets the store tests' real, flushed Redis


@pytest.fixture(autouse=True)
def _real_redis(redis_url: str) -> None:
    global REDIS_URL
    REDIS_URL = redis_url


def _settings(rasa_url: str, **overrides: Any) -> Settings:
    values: Dict[str, Any] = {
        "rasa_url": rasa_url,
        "rasa_timeout_seconds": 0.5,
        "max_message_chars": MAX_MESSAGE_CHARS,
        "redis_url": REDIS_URL,
        "privacy_key": PRIVACY_KEY,
    }
    values.update(overrides)
    return Settings(**values)


async def _client(settings: Settings) -> TestClient:
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def client(fake_rasa: FakeRasa) -> AsyncIterator[TestClient]:
    """The web app, talking to the stand-in Rasa."""
    client = await _client(_settings(fake_rasa.url))
    yield client
    await client.close()


def _unused_port() -> int:
    """A port nothing listens on, so connecting to it is refused at once (Rasa down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def client_without_rasa() -> AsyncIterator[TestClient]:
    """The web app, configured with a Rasa address where nothing listens."""
    client = await _client(_settings(f"http://127.0.0.1:{_unused_port()}"))
    yield client
    await client.close()


# --- forwarding -------------------------------------------------------------------------------------------------


async def test_chat_forwards_the_message_as_the_session_and_returns_replies_unchanged(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    """The page's message reaches Rasa under a sender id the server derived, and Rasa's replies come back as is."""
    response = await client.post("/api/chat", json={"sender": SENDER, "message": "what is HAF"})

    assert response.status == 200
    assert await response.json() == HAF_REPLY
    [received] = fake_rasa.received
    assert received["message"] == "what is HAF"
    assert received["sender"].startswith("web-") and received["sender"] != SENDER  # the browser chose nothing
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and len(cookie.value) == 22


async def test_one_browser_keeps_one_conversation_and_another_browser_gets_its_own(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    """The cookie carries the conversation: the same browser is the same sender, a second browser is not, and
    choosing someone else's old sender id in the body changes nothing."""
    await client.post("/api/chat", json={"message": "hello"})
    await client.post("/api/chat", json={"message": "again"})
    other = await _client(_settings(fake_rasa.url))
    try:
        await other.post("/api/chat", json={"message": "hello", "sender": fake_rasa.received[0]["sender"]})
    finally:
        await other.close()

    first, second, third = (body["sender"] for body in fake_rasa.received)
    assert first == second and third != first


async def test_chat_forwards_only_the_message(client: TestClient, fake_rasa: FakeRasa) -> None:
    """Extra fields from the browser (e.g. made-up metadata) are not passed on to Rasa."""
    await client.post("/api/chat", json={"message": "what is HAF", "metadata": {"admin": True}})

    assert set(fake_rasa.received[0]) == {"sender", "message"}


async def test_a_typed_intent_is_read_as_words(client: TestClient, fake_rasa: FakeRasa) -> None:
    """'/restart' or a slot-setting '/survey_offer{...}' typed in the box reaches Rasa as words, not as an intent."""
    await client.post("/api/chat", json={"message": "/restart"})
    await client.post("/api/chat", json={"message": '/inform{"child_age": 3}'})

    assert [body["message"] for body in fake_rasa.received] == ["restart", 'inform{"child_age": 3}']


async def test_a_button_just_offered_is_passed_on_as_its_payload(client: TestClient, fake_rasa: FakeRasa) -> None:
    """After Rasa offered "/haf_booking" to this browser, pressing it sends the payload; another browser that
    sends the same text gets it read as words."""
    await client.post("/api/chat", json={"message": "what is HAF"})
    await client.post("/api/chat", json={"message": "/haf_booking"})
    other = await _client(_settings(fake_rasa.url))
    try:
        await other.post("/api/chat", json={"message": "/haf_booking"})
    finally:
        await other.close()

    assert [body["message"] for body in fake_rasa.received] == ["what is HAF", "/haf_booking", "haf_booking"]


async def test_chat_accepts_a_message_of_exactly_the_limit(client: TestClient, fake_rasa: FakeRasa) -> None:
    """The limit is inclusive: max_message_chars characters are still forwarded."""
    message = "é" * MAX_MESSAGE_CHARS  # characters, not bytes

    response = await client.post("/api/chat", json={"message": message})

    assert response.status == 200
    assert fake_rasa.received[0]["message"] == message


async def test_odd_characters_are_cleaned_before_rasa_sees_them(client: TestClient, fake_rasa: FakeRasa) -> None:
    """A lone surrogate, a right-to-left override and control characters are taken out; emoji stay."""
    body = b'{"message": "hi\\ud800 \\u202emum\\u0000 \\u2764\\ufe0f"}'

    response = await client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})

    assert response.status == 200
    assert fake_rasa.received[0]["message"] == "hi mum \u2764\ufe0f"


async def test_the_21st_message_in_a_minute_is_asked_to_wait(client: TestClient, fake_rasa: FakeRasa) -> None:
    """A session sending faster than anyone types is asked, politely, to wait; Rasa sees none of the extra ones."""
    statuses = [(await client.post("/api/chat", json={"message": f"hello {n}"})).status for n in range(22)]

    assert statuses[:20] == [200] * 20 and statuses[20:] == [429, 429]
    last = await client.post("/api/chat", json={"message": "hello"})
    assert (await last.json())["error"] == load_channel_texts().web.slow_down
    assert len(fake_rasa.received) == 20


async def test_an_empty_reply_list_is_a_failure_not_silence(client: TestClient, fake_rasa: FakeRasa) -> None:
    """Rasa answers 200 with no messages when it failed inside (e.g. Redis down); the family must not be ignored."""

    async def no_replies(request: web.Request) -> web.Response:
        return web.json_response([])

    fake_rasa.webhook = no_replies

    response = await client.post("/api/chat", json={"message": "hello"})

    assert response.status == 503
    assert await response.json() == {"error": ERROR_RASA_UNAVAILABLE}


# --- bad input --------------------------------------------------------------------------------------------------

TOO_LONG_ERROR = ERROR_MESSAGE_TOO_LONG.format(limit=MAX_MESSAGE_CHARS)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        pytest.param(b"not json at all", 400, ERROR_NOT_JSON_OBJECT, id="body-not-json"),
        pytest.param(b"", 400, ERROR_NOT_JSON_OBJECT, id="body-empty"),
        pytest.param(b"\xff\xfe\x00", 400, ERROR_NOT_JSON_OBJECT, id="body-not-utf8"),
        pytest.param(b'["a1b2c3d4e5", "hi"]', 400, ERROR_NOT_JSON_OBJECT, id="body-a-list"),
        pytest.param(b'"hello"', 400, ERROR_NOT_JSON_OBJECT, id="body-a-string"),
        pytest.param(b"null", 400, ERROR_NOT_JSON_OBJECT, id="body-null"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, 400, ERROR_NOT_JSON_OBJECT, id="body-nested-too-deep"),
        pytest.param(b'{"message": "\xed\xa0\x80"}', 400, ERROR_MESSAGE_EMPTY, id="body-encoded-lone-surrogate"),
        pytest.param({"sender": SENDER, "message": "///"}, 400, ERROR_MESSAGE_EMPTY, id="message-only-slashes"),
        pytest.param({"sender": SENDER, "message": "\u0000\u202e"}, 400, ERROR_MESSAGE_EMPTY, id="message-invisible"),
        pytest.param({"sender": SENDER}, 400, ERROR_MESSAGE_NOT_TEXT, id="message-missing"),
        pytest.param({"sender": SENDER, "message": None}, 400, ERROR_MESSAGE_NOT_TEXT, id="message-null"),
        pytest.param({"sender": SENDER, "message": 42}, 400, ERROR_MESSAGE_NOT_TEXT, id="message-a-number"),
        pytest.param({"sender": SENDER, "message": ["hi"]}, 400, ERROR_MESSAGE_NOT_TEXT, id="message-a-list"),
        pytest.param({"sender": SENDER, "message": ""}, 400, ERROR_MESSAGE_EMPTY, id="message-empty"),
        pytest.param({"sender": SENDER, "message": " \t\n "}, 400, ERROR_MESSAGE_EMPTY, id="message-whitespace"),
        pytest.param(
            {"sender": SENDER, "message": "x" * (MAX_MESSAGE_CHARS + 1)}, 413, TOO_LONG_ERROR, id="message-too-long"
        ),
    ],
)
async def test_chat_refuses_bad_input_with_a_sentence(
    client: TestClient, fake_rasa: FakeRasa, body: Any, status: int, error: str
) -> None:
    """Each kind of bad request gets its status and a plain sentence saying what was expected; Rasa sees nothing."""
    if isinstance(body, bytes):
        response = await client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
    else:
        response = await client.post("/api/chat", json=body)

    assert response.status == status
    assert await response.json() == {"error": error}
    assert error.endswith(".")
    assert fake_rasa.received == []


async def test_chat_refuses_a_body_over_aiohttp_limit_with_json(client: TestClient, fake_rasa: FakeRasa) -> None:
    """A body larger than aiohttp's 1 MiB read limit still gets a JSON error sentence, not an HTML page."""
    response = await client.post(
        "/api/chat",
        data=io.BytesIO(b"{" + b" " * (2 * 1024 * 1024) + b"}"),
        headers={"Content-Type": "application/json"},
    )

    assert response.status == 413
    assert "error" in await response.json()
    assert fake_rasa.received == []


async def test_chat_refuses_a_declared_huge_body_before_reading_it(client: TestClient, fake_rasa: FakeRasa) -> None:
    """A Content-Length over the limit is refused from the header alone, with JSON."""
    response = await client.post("/api/chat", data=b"{}", headers={"Content-Type": "application/json",
                                                                   "Content-Length": str(10 * 1024 * 1024)})

    assert response.status == 413
    assert "too large" in (await response.json())["error"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_chat_takes_json_only(client: TestClient, fake_rasa: FakeRasa, content_type: str) -> None:
    """A form or plain text (what another site's page can post without asking) is refused with 415."""
    response = await client.post("/api/chat", data=b'{"message": "hi"}', headers={"Content-Type": content_type})

    assert response.status == 415
    assert await response.json() == {"error": ERROR_NOT_JSON}
    assert fake_rasa.received == []


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}])
async def test_chat_refuses_other_sites(client: TestClient, fake_rasa: FakeRasa, headers: Dict[str, str]) -> None:
    """A page on another site cannot talk to the assistant in a family's name."""
    response = await client.post("/api/chat", json={"message": "hi"}, headers=headers)

    assert response.status == 403
    assert await response.json() == {"error": ERROR_OTHER_SITE}
    assert fake_rasa.received == []


async def test_chat_takes_its_own_origin(client: TestClient, fake_rasa: FakeRasa) -> None:
    """The page's own fetch (Origin = our host, Sec-Fetch-Site same-origin) is accepted."""
    host = f"{client.server.host}:{client.server.port}"
    response = await client.post("/api/chat", json={"message": "hi"},
                                 headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"})

    assert response.status == 200


async def test_chat_only_accepts_post(client: TestClient) -> None:
    """GET on the chat API is not a way to send a message; the refusal is JSON too."""
    response = await client.get("/api/chat")

    assert response.status == 405
    assert "error" in await response.json()


async def test_an_unknown_address_is_a_json_404(client: TestClient) -> None:
    """Nothing to see: a plain 404 sentence, never a server error."""
    response = await client.post("/webhooks/rest/webhook", json=["a JSON array"])

    assert response.status == 404


# --- Rasa failing -----------------------------------------------------------------------------------------------


async def test_chat_answers_503_when_rasa_is_down(
    client_without_rasa: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Rasa not listening gives the calm 503 sentence, logged once with the sender id and never the message."""
    caplog.set_level(logging.INFO, logger="bot.web")

    response = await client_without_rasa.post("/api/chat", json={"message": SECRET_MESSAGE})

    assert response.status == 503
    assert await response.json() == {"error": ERROR_RASA_UNAVAILABLE}
    failures = [record for record in caplog.records if record.name.startswith("bot.web")]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert "web-" not in failures[0].getMessage()  # a short reference to the conversation, never its id
    assert SECRET_MESSAGE not in caplog.text


async def _server_error(request: web.Request) -> web.Response:
    return web.Response(status=500, text="Internal Server Error")


async def _too_slow(request: web.Request) -> web.Response:
    await asyncio.sleep(3)  # longer than the 0.5 s rasa_timeout_seconds in _settings
    return web.json_response([])


async def _not_json(request: web.Request) -> web.Response:
    return web.Response(text="<html>proxy error</html>", content_type="text/html")


async def _not_a_list(request: web.Request) -> web.Response:
    return web.json_response({"text": "hello"})


@pytest.mark.parametrize(
    "webhook",
    [
        pytest.param(_server_error, id="rasa-500"),
        pytest.param(_too_slow, id="rasa-timeout"),
        pytest.param(_not_json, id="rasa-html"),
        pytest.param(_not_a_list, id="rasa-object-not-list"),
    ],
)
async def test_chat_answers_503_when_rasa_fails(
    client: TestClient, fake_rasa: FakeRasa, webhook: Handler, caplog: pytest.LogCaptureFixture
) -> None:
    """Any Rasa failure becomes the same calm JSON 503, logged once, without the message text."""
    caplog.set_level(logging.INFO, logger="bot.web")
    fake_rasa.webhook = webhook

    response = await client.post("/api/chat", json={"message": SECRET_MESSAGE})

    assert response.status == 503
    assert await response.json() == {"error": ERROR_RASA_UNAVAILABLE}
    failures = [record for record in caplog.records if record.name.startswith("bot.web")]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert SECRET_MESSAGE not in caplog.text


async def test_app_keeps_answering_after_rasa_failures(client: TestClient, fake_rasa: FakeRasa) -> None:
    """A failed call does not break the shared HTTP session: the next message goes through."""
    fake_rasa.webhook = _server_error
    assert (await client.post("/api/chat", json={"message": "hi"})).status == 503

    fake_rasa.webhook = None
    response = await client.post("/api/chat", json={"message": "hi"})

    assert response.status == 200


# --- health -----------------------------------------------------------------------------------------------------


async def test_healthz_says_the_web_app_lives_even_when_rasa_is_down(client_without_rasa: TestClient) -> None:
    """Liveness is this process only: a slow Rasa must not get the web app restarted."""
    response = await client_without_rasa.get("/healthz")

    assert response.status == 200
    assert await response.json() == {"web": "ok"}


async def test_readyz_names_what_is_not_ready(client_without_rasa: TestClient) -> None:
    """Readiness: Redis answers here, but nothing else does, and the answer says so."""
    response = await client_without_rasa.get("/readyz")

    assert response.status == 503
    assert await response.json() == {"web": "ok", "redis": "ok", "action_server": "unavailable",
                                     "rasa": "unavailable", "model": "not loaded"}


# --- the page ---------------------------------------------------------------------------------------------------


async def test_root_serves_the_chat_page(client: TestClient) -> None:
    """GET / is the chat page, with its title, heading, log, labelled input and the 999 note."""
    response = await client.get("/")
    html = await response.text()

    assert response.status == 200
    assert response.content_type == "text/html"
    assert "<title>" in html
    assert html.count("<h1") == 1
    assert 'role="log"' in html and 'aria-live="polite"' in html
    assert '<label for="chat-input"' in html
    assert "If you are in danger now, call 999." in html
    assert "/static/chat.js" in html and "/static/chat.css" in html


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        pytest.param("/static/index.html", "text/html", id="html"),
        pytest.param("/static/chat.js", "javascript", id="js"),
        pytest.param("/static/chat.css", "text/css", id="css"),
    ],
)
async def test_static_files_are_served(client: TestClient, path: str, content_type: str) -> None:
    """The page's own files are served from /static/."""
    response = await client.get(path)

    assert response.status == 200
    assert content_type in response.content_type
    assert (await response.read()).strip()


async def test_static_does_not_leave_its_folder(client: TestClient) -> None:
    """Paths that climb out of static/ (e.g. to the settings module) are not served."""
    response = await client.get("/static/../app.py")

    assert response.status in (403, 404)


async def test_page_refuses_outside_resources(client: TestClient) -> None:
    """The Content-Security-Policy keeps the page to its own files, as a second guard against injected markup."""
    response = await client.get("/")

    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
