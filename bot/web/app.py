"""The web chat page and the small JSON API that passes its messages to Rasa.

The browser never talks to Rasa directly: this app checks every request first (so Rasa only ever sees a sender id
we derived and a bounded, cleaned message), hides Rasa's address, and turns every Rasa failure into one calm
sentence the page can show to a worried parent instead of a traceback.

Who may do what: the conversation belongs to the browser holding the session cookie (``bot.web.session``); the API
takes JSON from our own page only (``bot.web.guards``); a message starting with "/" is a button payload only if that
button was just offered to this session (or is a survey the page lists), and is otherwise read as words; each
session may send ``RATE_LIMIT_PER_MINUTE`` messages a minute, counted in Redis so every replica agrees.

Errors raised inside this module (never outside it; each becomes a JSON ``{"error": ...}`` response)::

    ChatError
    ├── BadChatRequest          the browser sent something we will not forward      → 400 (413, 415, 403)
    │   └── MessageTooLong      the message is longer than settings.max_message_chars → 413
    ├── SlowDown                the session is over its rate limit                     → 429
    └── RasaUnavailable         Rasa could not be reached, timed out or answered badly → 503
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, List, Optional

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from bot.redis_client import async_redis
from bot.channel_config import load_channel_texts
from bot.channel_state import ChannelState, ChannelStateUnavailable
from bot.privacy.hashing import log_ref, rate_key
from bot.rate_limit import RateLimiter
from bot.settings import Settings
from bot.surveys.definitions import load_surveys, offer_payload
from bot.user_text import clean_user_text, neutralise_command
from bot.web.forum import add_forum_routes
from bot.web.guards import (
    ERROR_BODY_TOO_LARGE,
    ERROR_NOT_JSON,
    ERROR_OTHER_SITE,
    body_limit_middleware,
    decode_json,
    is_json,
    json_errors_middleware,
    read_body,
    same_origin,
)
from bot.web.request_ids import forward_headers, request_id_middleware
from bot.web.session import CHANNEL, new_session_id, session_from, set_session_cookie, web_sender_id
from bot.web.webhooks import add_webhook_routes

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
INDEX_FILE = STATIC_DIR / "index.html"

RASA_WEBHOOK_PATH = "/webhooks/rest/webhook"
# The SMS channel's health route says whether Rasa has its model loaded (channels/base.py).
RASA_READY_PATH = "/webhooks/sms/"
ACTION_SERVER_HEALTH_PATH = "/health"
# A health check must answer fast even when a service hangs: load balancers give up after a few seconds.
HEALTH_TIMEOUT_SECONDS = 3.0
# What the page's "Have your say" links send: a survey the page itself lists, so always allowed.

ERROR_NOT_JSON_OBJECT = 'The request body must be a JSON object with a "message".'
ERROR_MESSAGE_NOT_TEXT = "The message must be text."
ERROR_MESSAGE_EMPTY = "Please type a message before sending."
ERROR_MESSAGE_TOO_LONG = "Your message is too long. Please keep it to {limit} characters or fewer."

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
CHAT_KEY = web.AppKey("chat", object)


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


class SlowDown(ChatError):
    """The session sent more than its share of messages this minute."""

    status = 429


class RasaUnavailable(ChatError):
    """Rasa could not be reached, did not answer in time, or answered with something other than a reply list."""

    status = 503

    def __init__(self, reason: str, sentence: str) -> None:
        # ``reason`` is for the log (with the cause chained); the family only ever sees the fixed sentence.
        super().__init__(sentence)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class Chat:
    """What the chat API keeps for the app's lifetime: Redis (buttons offered, rate limit) and its texts."""

    def __init__(self, settings: Settings, client: aioredis.Redis) -> None:
        # Without PRIVACY_KEY there is no way to name a conversation without the raw session id: the chat is off
        # (the dashboard still works). `make run` and production always set it.
        self.key: Optional[bytes] = settings.privacy_key.encode("utf-8") if settings.privacy_key else None
        self.state = ChannelState(client, self.key or b"")
        self.limiter = RateLimiter(client, settings.rate_limit_per_minute)
        self.texts = load_channel_texts().web


def create_app(settings: Settings) -> web.Application:
    """Build the web chat application.

    A factory (rather than a module-level app) lets tests and the supervisor build apps with different settings,
    and keeps all connections inside the app's own start-up and clean-up.

    Args:
        settings: where Rasa and Redis are, how long to wait for Rasa and how long a message may be.

    Returns:
        The aiohttp application, not yet started.
    """
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[request_id_middleware, json_errors_middleware, body_limit_middleware(settings.max_body_bytes)],
    )
    app[SETTINGS_KEY] = settings
    app[SURVEYS_KEY] = load_surveys()
    app.cleanup_ctx.append(_http_session)
    app.cleanup_ctx.append(_chat_redis)
    app.on_response_prepare.append(_add_security_headers)
    app.router.add_get("/", _index)
    app.router.add_post("/api/chat", _chat)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/api/surveys", _surveys)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    # Twilio and Telegram reach Rasa only through here (Rasa listens on loopback).
    add_webhook_routes(app, settings.rasa_url, settings.max_body_bytes)
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


async def _chat_redis(app: web.Application) -> AsyncIterator[None]:
    """The chat's Redis client (no connection until first use), closed on shutdown."""
    client = async_redis(app[SETTINGS_KEY].redis_url)
    app[CHAT_KEY] = Chat(app[SETTINGS_KEY], client)
    if app[CHAT_KEY].key is None:  # type: ignore[attr-defined]
        logger.error("the web chat is off: PRIVACY_KEY is not set")
    try:
        yield
    finally:
        await client.close()


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the security headers to every response, including static files and error pages."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def _index(request: web.Request) -> web.StreamResponse:
    """Serve the chat page, with a session cookie if the browser has none yet."""
    response = web.FileResponse(INDEX_FILE)
    if session_from(request) is None:
        set_session_cookie(response, new_session_id(), secure=_secure(request))
    return response


def _secure(request: web.Request) -> bool:
    """Whether the session cookie may travel over HTTPS only: set behind TLS (COOKIE_SECURE=1, or a TLS request)."""
    return request.app[SETTINGS_KEY].cookie_secure or request.secure


async def _chat(request: web.Request) -> web.Response:
    """Check one message from the page, pass it to Rasa as this session, and return Rasa's replies unchanged."""
    settings = request.app[SETTINGS_KEY]
    chat: Chat = request.app[CHAT_KEY]  # type: ignore[assignment]
    if chat.key is None:
        return _error_response(RasaUnavailable("PRIVACY_KEY is not set", chat.texts.unavailable))
    session_id = session_from(request)
    fresh = session_id is None
    if session_id is None:
        session_id = new_session_id()
    sender = web_sender_id(chat.key, session_id)
    try:
        message = await _read_chat_message(request, settings.max_message_chars)
        message = await _checked_payload(chat, session_id, message, request.app[SURVEYS_KEY])
        verdict = await chat.limiter.check(CHANNEL, rate_key(chat.key, sender))
        if not verdict.allowed:
            logger.info("web chat session %s is over the rate limit", log_ref(sender))
            raise SlowDown(chat.texts.slow_down)
        replies = await _ask_rasa(request.app[HTTP_SESSION_KEY], settings, sender, message, chat.texts.unavailable)
    except RasaUnavailable as error:
        logger.warning("Rasa gave no replies (%s): %s", log_ref(sender), error, exc_info=True)
        response = _error_response(error)
    except ChatError as error:
        # No message text here, and only the hash of the sender.
        logger.info("Refused a chat request with status %s", error.status)
        response = _error_response(error)
    else:
        await _remember_buttons(chat, session_id, replies)
        response = web.json_response(replies)
    if fresh:
        set_session_cookie(response, session_id, secure=_secure(request))
    return response


async def _checked_payload(chat: Chat, session_id: str, message: str, surveys: dict) -> str:
    """The message as Rasa should read it: a payload if it is a button we offered, otherwise words.

    Rasa reads any text starting with "/" as an intent with slots, so a typed '/restart' or
    '/survey_offer{"survey": ...}' would steer the conversation; only a button just offered to this session
    (or a survey the page lists) may do that.

    Raises:
        BadChatRequest: nothing is left once the slashes are taken off (e.g. "///").
    """
    if not message.startswith("/"):
        return message
    if _is_listed_survey(message, surveys):
        return message
    try:
        if await chat.state.was_offered(CHANNEL, session_id, message):
            return message
    except ChannelStateUnavailable:
        logger.warning("cannot read the buttons offered to a web chat; reading a payload as words")
    words = neutralise_command(message)
    if not words:
        raise BadChatRequest(ERROR_MESSAGE_EMPTY)
    return words


def _is_listed_survey(message: str, surveys: dict) -> bool:
    """True for the payload a "Have your say" link sends for a survey open today."""
    today = date.today()
    return any(message == offer_payload(survey_id) and survey.is_open(today)
               for survey_id, survey in surveys.items())


async def _remember_buttons(chat: Chat, session_id: str, replies: Iterable[Any]) -> None:
    """Keep the payloads of the buttons just sent, so pressing one is accepted (a failure only costs the buttons)."""
    payloads = [button.get("payload") for reply in replies if isinstance(reply, dict)
                for button in (reply.get("buttons") or []) if isinstance(button, dict)]
    payloads = [payload for payload in payloads if isinstance(payload, str) and payload]
    if not payloads:
        return
    try:
        await chat.state.save_offered(CHANNEL, session_id, payloads)
    except ChannelStateUnavailable:
        logger.warning("cannot save the buttons offered to a web chat; pressing them will read as words")


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
    """Liveness: this process answers. (A load balancer restarting the web app because Rasa is slow would only
    make things worse; readiness is /readyz.)"""
    return web.json_response({"web": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    """Readiness: Redis, the action server, Rasa and its model all answer; 503 names what does not."""
    settings = request.app[SETTINGS_KEY]
    http = request.app[HTTP_SESSION_KEY]
    chat: Chat = request.app[CHAT_KEY]  # type: ignore[assignment]
    redis_ok, actions_ok, model = await asyncio.gather(
        _redis_answers(chat), _answers(http, settings.action_url + ACTION_SERVER_HEALTH_PATH),
        _rasa_model(http, settings.rasa_url + RASA_READY_PATH))
    checks = {
        "web": "ok",
        "redis": "ok" if redis_ok else "unavailable",
        "action_server": "ok" if actions_ok else "unavailable",
        "rasa": "unavailable" if model is None else "ok",
        "model": "ready" if model == "ready" else "not loaded",
    }
    ready = redis_ok and actions_ok and model == "ready"
    if not ready:
        logger.info("not ready: %s", ", ".join(f"{name} {value}" for name, value in checks.items()))
    return web.json_response(checks, status=200 if ready else 503)


async def _redis_answers(chat: Chat) -> bool:
    try:
        return bool(await asyncio.wait_for(chat.state.ping(), HEALTH_TIMEOUT_SECONDS))
    except (ChannelStateUnavailable, RedisError, OSError, asyncio.TimeoutError):
        return False


async def _answers(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS)) as response:
            return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


async def _rasa_model(http: aiohttp.ClientSession, url: str) -> Optional[str]:
    """"ready" or "not loaded" as Rasa says; None when Rasa does not answer."""
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS)) as response:
            if response.status != 200:
                return None
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return None
    return body.get("model") if isinstance(body, dict) else None


async def _read_chat_message(request: web.Request, max_message_chars: int) -> str:
    """Read, parse and check the page's request body.

    Raises:
        BadChatRequest: not JSON from our own page, not a JSON object, or no usable message.
        MessageTooLong: the body or the message is too long.
    """
    if not same_origin(request):
        raise _refusal(ERROR_OTHER_SITE, 403)
    if not is_json(request):
        raise _refusal(ERROR_NOT_JSON, 415)
    try:
        body = await read_body(request, request.app[SETTINGS_KEY].max_body_bytes)
    except web.HTTPRequestEntityTooLarge as error:
        raise MessageTooLong(ERROR_BODY_TOO_LARGE) from error
    return parse_chat_message(decode_json(body), max_message_chars)


def _refusal(sentence: str, status: int) -> BadChatRequest:
    error = BadChatRequest(sentence)
    error.status = status
    return error


def parse_chat_message(body: Any, max_message_chars: int) -> str:
    """Check a decoded request body and return the message, cleaned; kept apart from the HTTP handling so it is
    easy to test. A ``sender`` field from an old page is ignored: the session cookie says who is writing.

    Raises:
        BadChatRequest: the body is not an object, or the message is not non-blank text.
        MessageTooLong: the message is longer than ``max_message_chars``.
    """
    if not isinstance(body, dict):
        raise BadChatRequest(ERROR_NOT_JSON_OBJECT)
    message = body.get("message")
    if not isinstance(message, str):
        raise BadChatRequest(ERROR_MESSAGE_NOT_TEXT)
    if len(message) > max_message_chars:
        raise MessageTooLong(ERROR_MESSAGE_TOO_LONG.format(limit=max_message_chars))
    message = clean_user_text(message)
    if not message:
        raise BadChatRequest(ERROR_MESSAGE_EMPTY)
    return message


async def _ask_rasa(session: aiohttp.ClientSession, settings: Settings, sender: str, message: str,
                    sorry: str) -> List[Any]:
    """Send one message to Rasa's REST channel and return its list of replies.

    Returns:
        Rasa's replies exactly as it sent them (each may have ``text``, ``buttons``, ``image``, ``custom``).

    Raises:
        RasaUnavailable: Rasa could not be reached, timed out, answered with a status other than 200, or its body
            was not a JSON list of at least one message. Its sentence is ``sorry``.
    """
    timeout = aiohttp.ClientTimeout(total=settings.rasa_timeout_seconds)
    payload = {"sender": sender, "message": message}
    try:
        async with session.post(settings.rasa_url + RASA_WEBHOOK_PATH, json=payload, timeout=timeout,
                                headers=forward_headers()) as response:
            if response.status != 200:
                raise RasaUnavailable(f"Rasa answered with HTTP status {response.status}", sorry)
            # content_type=None: accept a JSON body even if Rasa (or a proxy) labels it differently.
            replies = await response.json(content_type=None)
    except asyncio.TimeoutError as error:
        raise RasaUnavailable(f"Rasa did not answer within {settings.rasa_timeout_seconds} seconds", sorry) from error
    except aiohttp.ClientError as error:
        raise RasaUnavailable("Rasa could not be reached", sorry) from error
    except ValueError as error:  # json.JSONDecodeError, or a body that is not valid text in its charset
        raise RasaUnavailable("Rasa's answer was not JSON", sorry) from error
    if not isinstance(replies, list):
        raise RasaUnavailable(f"Rasa's answer was a JSON {type(replies).__name__}, not a list", sorry)
    if not replies:
        # Our assistant answers every message. Rasa's REST channel swallows its own failures (Redis down, action
        # server down) and answers 200 with no messages, which a family would read as being ignored.
        raise RasaUnavailable("Rasa answered with no messages", sorry)
    return replies


def _error_response(error: ChatError) -> web.Response:
    """Turn a refused or failed chat request into the JSON error the page shows."""
    return web.json_response({"error": error.sentence}, status=error.status)
