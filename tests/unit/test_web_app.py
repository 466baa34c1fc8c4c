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

from bot.privacy.hashing import log_ref
from bot.settings import Settings
from bot.web.app import (
    ERROR_BAD_SENDER,
    ERROR_MESSAGE_EMPTY,
    ERROR_MESSAGE_NOT_TEXT,
    ERROR_MESSAGE_TOO_LONG,
    ERROR_NOT_JSON_OBJECT,
    ERROR_RASA_UNAVAILABLE,
    create_app,
)

SENDER = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
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


def _settings(rasa_url: str, **overrides: Any) -> Settings:
    values: Dict[str, Any] = {
        "rasa_url": rasa_url,
        "rasa_timeout_seconds": 0.5,
        "max_message_chars": MAX_MESSAGE_CHARS,
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


async def test_chat_forwards_sender_and_message_and_returns_replies_unchanged(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    """The page's message reaches Rasa as {sender, message}, and Rasa's reply list comes back as is."""
    response = await client.post("/api/chat", json={"sender": SENDER, "message": "what is HAF"})

    assert response.status == 200
    assert await response.json() == HAF_REPLY
    assert fake_rasa.received == [{"sender": SENDER, "message": "what is HAF"}]


async def test_chat_forwards_only_sender_and_message(client: TestClient, fake_rasa: FakeRasa) -> None:
    """Extra fields from the browser (e.g. made-up metadata) are not passed on to Rasa."""
    await client.post("/api/chat", json={"sender": SENDER, "message": "/haf_booking", "metadata": {"admin": True}})

    assert fake_rasa.received == [{"sender": SENDER, "message": "/haf_booking"}]


async def test_chat_accepts_a_message_of_exactly_the_limit(client: TestClient, fake_rasa: FakeRasa) -> None:
    """The limit is inclusive: max_message_chars characters are still forwarded."""
    message = "é" * MAX_MESSAGE_CHARS  # characters, not bytes

    response = await client.post("/api/chat", json={"sender": SENDER, "message": message})

    assert response.status == 200
    assert fake_rasa.received == [{"sender": SENDER, "message": message}]


async def test_an_empty_reply_list_is_a_failure_not_silence(client: TestClient, fake_rasa: FakeRasa) -> None:
    """Rasa answers 200 with no messages when it failed inside (e.g. Redis down); the family must not be ignored."""

    async def no_replies(request: web.Request) -> web.Response:
        return web.json_response([])

    fake_rasa.webhook = no_replies

    response = await client.post("/api/chat", json={"sender": SENDER, "message": "hello"})

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
        pytest.param({"message": "hi"}, 400, ERROR_BAD_SENDER, id="sender-missing"),
        pytest.param({"sender": 12345678, "message": "hi"}, 400, ERROR_BAD_SENDER, id="sender-a-number"),
        pytest.param({"sender": "abc1234", "message": "hi"}, 400, ERROR_BAD_SENDER, id="sender-7-chars"),
        pytest.param({"sender": "a" * 65, "message": "hi"}, 400, ERROR_BAD_SENDER, id="sender-65-chars"),
        pytest.param({"sender": "abcd1234:x", "message": "hi"}, 400, ERROR_BAD_SENDER, id="sender-colon"),
        pytest.param({"sender": "../../etc/x", "message": "hi"}, 400, ERROR_BAD_SENDER, id="sender-path"),
        pytest.param({"sender": "abcd1234\n", "message": "hi"}, 400, ERROR_BAD_SENDER, id="sender-trailing-newline"),
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


async def test_chat_only_accepts_post(client: TestClient) -> None:
    """GET on the chat API is not a way to send a message."""
    response = await client.get("/api/chat")

    assert response.status == 405


# --- Rasa failing -----------------------------------------------------------------------------------------------


async def test_chat_answers_503_when_rasa_is_down(
    client_without_rasa: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Rasa not listening gives the calm 503 sentence, logged once with the sender id and never the message."""
    caplog.set_level(logging.INFO, logger="bot.web")

    response = await client_without_rasa.post("/api/chat", json={"sender": SENDER, "message": SECRET_MESSAGE})

    assert response.status == 503
    assert await response.json() == {"error": ERROR_RASA_UNAVAILABLE}
    failures = [record for record in caplog.records if record.name.startswith("bot.web")]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert log_ref(SENDER) in failures[0].getMessage() and SENDER not in failures[0].getMessage()
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

    response = await client.post("/api/chat", json={"sender": SENDER, "message": SECRET_MESSAGE})

    assert response.status == 503
    assert await response.json() == {"error": ERROR_RASA_UNAVAILABLE}
    failures = [record for record in caplog.records if record.name.startswith("bot.web")]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert SECRET_MESSAGE not in caplog.text


async def test_app_keeps_answering_after_rasa_failures(client: TestClient, fake_rasa: FakeRasa) -> None:
    """A failed call does not break the shared HTTP session: the next message goes through."""
    fake_rasa.webhook = _server_error
    assert (await client.post("/api/chat", json={"sender": SENDER, "message": "hi"})).status == 503

    fake_rasa.webhook = None
    response = await client.post("/api/chat", json={"sender": SENDER, "message": "hi"})

    assert response.status == 200


# --- health -----------------------------------------------------------------------------------------------------


async def test_healthz_ok_when_rasa_answers(client: TestClient) -> None:
    """Both parts up: 200."""
    response = await client.get("/healthz")

    assert response.status == 200
    assert await response.json() == {"web": "ok", "rasa": "ok"}


async def test_healthz_503_when_rasa_is_down(client_without_rasa: TestClient) -> None:
    """Rasa not listening: 503, and the web part still says ok."""
    response = await client_without_rasa.get("/healthz")

    assert response.status == 503
    assert await response.json() == {"web": "ok", "rasa": "unavailable"}


async def test_healthz_503_when_rasa_answers_with_an_error(client: TestClient, fake_rasa: FakeRasa) -> None:
    """Rasa up but unwell (e.g. no model loaded yet behind a proxy): 503."""
    fake_rasa.root_status = 502

    response = await client.get("/healthz")

    assert response.status == 503
    assert await response.json() == {"web": "ok", "rasa": "unavailable"}


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
