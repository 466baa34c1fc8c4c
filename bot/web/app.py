"""The web chat page and the small JSON API that passes its messages to Rasa.

The browser never talks to Rasa directly: this app checks every request first (so Rasa only ever sees a well-formed
sender id and a bounded message), hides Rasa's address, and turns every Rasa failure into one calm sentence the page
can show to a worried parent instead of a traceback.

Errors raised inside this module (never outside it; each becomes a JSON ``{"error": ...}`` response)::

    ChatError
    ├── BadChatRequest          the browser sent something we will not forward      → 400 (413 if too long)
    │   └── MessageTooLong      the message is longer than settings.max_message_chars → 413
    └── RasaUnavailable         Rasa could not be reached, timed out or answered badly → 503
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator, List

import aiohttp
from aiohttp import web

from bot.privacy.hashing import log_ref
from bot.settings import Settings
from bot.surveys.definitions import load_surveys
from bot.web.forum import add_forum_routes

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
INDEX_FILE = STATIC_DIR / "index.html"

RASA_WEBHOOK_PATH = "/webhooks/rest/webhook"
# Rasa answers ``GET /`` with a greeting and no work, so it is a cheap "are you up?" probe.
RASA_HEALTH_PATH = "/"
# A health check must answer fast even when Rasa hangs: load balancers give up after a few seconds.
HEALTH_TIMEOUT_SECONDS = 3.0

# The page makes a random id of 32 hex characters; the range leaves room for other clients without letting through
# anything that could smuggle a path, a newline or a Redis key separator into Rasa's tracker key.
SENDER_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")

ERROR_NOT_JSON_OBJECT = 'The request body must be a JSON object with a "sender" and a "message".'
ERROR_BAD_SENDER = (
    "The chat session id must be 8 to 64 letters, digits, hyphens or underscores. Please reload the page."
)
ERROR_MESSAGE_NOT_TEXT = "The message must be text."
ERROR_MESSAGE_EMPTY = "Please type a message before sending."
ERROR_MESSAGE_TOO_LONG = "Your message is too long. Please keep it to {limit} characters or fewer."
ERROR_BODY_TOO_LARGE = "The request is too large. Please send a shorter message."
ERROR_RASA_UNAVAILABLE = "The assistant is not available right now. Please try again in a minute."

# Nothing on the page comes from another site, so the browser may refuse anything that does: if bot text ever did
# reach the DOM as markup, injected scripts, styles or beacons would still not load.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Links to council pages should not tell them which conversation page the family came from.
    "Referrer-Policy": "no-referrer",
}

SETTINGS_KEY = web.AppKey("settings", Settings)
HTTP_SESSION_KEY = web.AppKey("http_session", aiohttp.ClientSession)
SURVEYS_KEY = web.AppKey("surveys", dict)


class ChatError(Exception):
    """A chat request that ends in a JSON error sentence instead of Rasa's replies.

    Attributes:
        status: the HTTP status to answer with.
        sentence: a plain sentence for the page to show; it never contains the user's message.
    """

    status = 500

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


class BadChatRequest(ChatError):
    """The browser sent something we will not forward to Rasa."""

    status = 400


class MessageTooLong(BadChatRequest):
    """The message is longer than ``settings.max_message_chars``."""

    status = 413


class RasaUnavailable(ChatError):
    """Rasa could not be reached, did not answer in time, or answered with something other than a reply list."""

    status = 503

    def __init__(self, reason: str) -> None:
        # ``reason`` is for the log (with the cause chained); the family only ever sees the fixed sentence.
        super().__init__(ERROR_RASA_UNAVAILABLE)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class ChatMessage:
    """One checked message from the page, ready to forward to Rasa."""

    sender: str  # the page's random session id; also Rasa's conversation id
    message: str  # what the user typed (or a button payload); never logged


def create_app(settings: Settings) -> web.Application:
    """Build the web chat application.

    A factory (rather than a module-level app) lets tests and the supervisor build apps with different settings,
    and keeps all connections inside the app's own start-up and clean-up.

    Args:
        settings: where Rasa is, how long to wait for it and how long a message may be.

    Returns:
        The aiohttp application, not yet started.
    """
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[SURVEYS_KEY] = load_surveys()
    app.cleanup_ctx.append(_http_session)
    app.on_response_prepare.append(_add_security_headers)
    app.router.add_get("/", _index)
    app.router.add_post("/api/chat", _chat)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/api/surveys", _surveys)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    # The forum's dashboard at /forum (off, a plain 404, without FORUM_SESSION_KEY); it opens and closes its own
    # Redis client in a cleanup context, so nothing connects at import.
    add_forum_routes(app, settings, surveys=app[SURVEYS_KEY])
    return app


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    """Open one HTTP client for the app's lifetime and close it on shutdown.

    One session reuses connections to Rasa across requests; a session per request would open a new TCP connection
    each time and leak them if a handler failed before closing it.
    """
    async with aiohttp.ClientSession() as session:
        app[HTTP_SESSION_KEY] = session
        yield


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the security headers to every response, including static files and error pages."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def _index(request: web.Request) -> web.FileResponse:
    """Serve the chat page."""
    return web.FileResponse(INDEX_FILE)


async def _chat(request: web.Request) -> web.Response:
    """Check one message from the page, pass it to Rasa and return Rasa's replies unchanged."""
    settings = request.app[SETTINGS_KEY]
    try:
        chat = await _read_chat_message(request, settings.max_message_chars)
    except BadChatRequest as error:
        # No message text and no unchecked sender here: the sender failed validation and may be anything.
        logger.info("Refused a chat request with status %s", error.status)
        return _error_response(error)
    try:
        replies = await _ask_rasa(request.app[HTTP_SESSION_KEY], settings, chat)
    except RasaUnavailable as error:
        logger.warning("Rasa gave no replies (%s): %s", log_ref(chat.sender), error, exc_info=True)
        return _error_response(error)
    return web.json_response(replies)


async def _surveys(request: web.Request) -> web.Response:
    """The surveys open today, for the page's "Have your say" links (each starts its survey in the chat)."""
    today = date.today()
    listed = [
        {"id": survey.id, "title": survey.title, "audience": survey.audience}
        for _, survey in sorted(request.app[SURVEYS_KEY].items())
        if survey.is_open(today)
    ]
    return web.json_response(listed)


async def _healthz(request: web.Request) -> web.Response:
    """Report whether this app is up and whether Rasa answers, for load balancers and ``make run``."""
    settings = request.app[SETTINGS_KEY]
    timeout = aiohttp.ClientTimeout(total=min(HEALTH_TIMEOUT_SECONDS, settings.rasa_timeout_seconds))
    try:
        async with request.app[HTTP_SESSION_KEY].get(
            settings.rasa_url + RASA_HEALTH_PATH, timeout=timeout
        ) as response:
            rasa_ok = response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        # Probes repeat every few seconds while Rasa is down; one line each, without a traceback, is enough.
        logger.info("Health check: Rasa at %s is not answering", settings.rasa_url)
        rasa_ok = False
    if rasa_ok:
        return web.json_response({"web": "ok", "rasa": "ok"})
    return web.json_response({"web": "ok", "rasa": "unavailable"}, status=503)


async def _read_chat_message(request: web.Request, max_message_chars: int) -> ChatMessage:
    """Parse and check the page's request body.

    Args:
        request: the ``POST /api/chat`` request.
        max_message_chars: the longest message we forward.

    Returns:
        The checked sender and message.

    Raises:
        BadChatRequest: the body is not a JSON object, or the sender or message is not what the page sends.
        MessageTooLong: the message is longer than ``max_message_chars``.
    """
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge as error:
        # aiohttp stops reading at client_max_size (1 MiB); answer in JSON like every other refusal.
        raise MessageTooLong(ERROR_BODY_TOO_LARGE) from error
    except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise BadChatRequest(ERROR_NOT_JSON_OBJECT) from error
    return parse_chat_message(body, max_message_chars)


def parse_chat_message(body: Any, max_message_chars: int) -> ChatMessage:
    """Check a decoded request body; kept apart from the HTTP handling so it is easy to test and reuse.

    Args:
        body: the decoded JSON body.
        max_message_chars: the longest message we forward.

    Returns:
        The checked sender and message.

    Raises:
        BadChatRequest: the body is not an object, the sender is not a session id, or the message is not
            non-blank text.
        MessageTooLong: the message is longer than ``max_message_chars``.
    """
    if not isinstance(body, dict):
        raise BadChatRequest(ERROR_NOT_JSON_OBJECT)
    sender = body.get("sender")
    # fullmatch, not match with "$": "$" also matches before a trailing newline.
    if not isinstance(sender, str) or not SENDER_PATTERN.fullmatch(sender):
        raise BadChatRequest(ERROR_BAD_SENDER)
    message = body.get("message")
    if not isinstance(message, str):
        raise BadChatRequest(ERROR_MESSAGE_NOT_TEXT)
    if not message.strip():
        raise BadChatRequest(ERROR_MESSAGE_EMPTY)
    if len(message) > max_message_chars:
        raise MessageTooLong(ERROR_MESSAGE_TOO_LONG.format(limit=max_message_chars))
    return ChatMessage(sender=sender, message=message)


async def _ask_rasa(session: aiohttp.ClientSession, settings: Settings, chat: ChatMessage) -> List[Any]:
    """Send one message to Rasa's REST channel and return its list of replies.

    Args:
        session: the app's HTTP client.
        settings: where Rasa is and how long to wait.
        chat: the checked message.

    Returns:
        Rasa's replies exactly as it sent them (each may have ``text``, ``buttons``, ``image``, ``custom``).

    Raises:
        RasaUnavailable: Rasa could not be reached, timed out, answered with a status other than 200, or its body
            was not a JSON list of at least one message.
    """
    timeout = aiohttp.ClientTimeout(total=settings.rasa_timeout_seconds)
    payload = {"sender": chat.sender, "message": chat.message}
    try:
        async with session.post(settings.rasa_url + RASA_WEBHOOK_PATH, json=payload, timeout=timeout) as response:
            if response.status != 200:
                raise RasaUnavailable(f"Rasa answered with HTTP status {response.status}")
            # content_type=None: accept a JSON body even if Rasa (or a proxy) labels it differently.
            replies = await response.json(content_type=None)
    except asyncio.TimeoutError as error:
        raise RasaUnavailable(f"Rasa did not answer within {settings.rasa_timeout_seconds} seconds") from error
    except aiohttp.ClientError as error:
        raise RasaUnavailable("Rasa could not be reached") from error
    except ValueError as error:  # json.JSONDecodeError, or a body that is not valid text in its charset
        raise RasaUnavailable("Rasa's answer was not JSON") from error
    if not isinstance(replies, list):
        raise RasaUnavailable(f"Rasa's answer was a JSON {type(replies).__name__}, not a list")
    if not replies:
        # Our assistant answers every message. Rasa's REST channel swallows its own failures (Redis down, action
        # server down) and answers 200 with no messages, which a family would read as being ignored.
        raise RasaUnavailable("Rasa answered with no messages")
    return replies


def _error_response(error: ChatError) -> web.Response:
    """Turn a refused or failed chat request into the JSON error the page shows."""
    return web.json_response({"error": error.sentence}, status=error.status)
