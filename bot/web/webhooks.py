"""The SMS and Telegram webhooks on the public web app, passed on to Rasa on its loopback address.

Rasa is never exposed: its Sanic server would otherwise take 100 MB bodies, and with a token its whole HTTP API.
Here a webhook is refused above ``MAX_BODY_BYTES`` before it is read, and only the headers the channels check are
forwarded (the signature and secret token, the content type) and our request id. The channels themselves check
Twilio's signature and Telegram's secret, so this proxy needs no secrets.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web

from bot.web.guards import json_error, read_body
from bot.web.request_ids import forward_headers

logger = logging.getLogger(__name__)

WEBHOOK_PATHS = ("/webhooks/sms/webhook", "/webhooks/telegram/webhook")
FORWARDED_HEADERS = ("Content-Type", "X-Twilio-Signature", "X-Telegram-Bot-Api-Secret-Token")
# The channels answer at once and reply later, so a webhook that takes longer than this is a Rasa in trouble.
WEBHOOK_TIMEOUT_SECONDS = 10.0
ERROR_RASA_DOWN = "The assistant is restarting. Please send the update again shortly."
RASA_URL_KEY = web.AppKey("webhook_rasa_url", str)
SESSION_KEY = web.AppKey("webhook_http", aiohttp.ClientSession)
MAX_BYTES_KEY = web.AppKey("webhook_max_bytes", int)


def add_webhook_routes(app: web.Application, rasa_url: str, max_bytes: int) -> None:
    """Serve ``POST /webhooks/sms/webhook`` and ``POST /webhooks/telegram/webhook`` by passing them to Rasa."""
    app[RASA_URL_KEY] = rasa_url
    app[MAX_BYTES_KEY] = max_bytes
    app.cleanup_ctx.append(_http)
    for path in WEBHOOK_PATHS:
        app.router.add_post(path, _forward)


async def _http(app: web.Application):
    """One connection pool to Rasa for the app's lifetime."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)) as session:
        app[SESSION_KEY] = session
        yield


async def _forward(request: web.Request) -> web.StreamResponse:
    """Pass one webhook to Rasa and its answer back; 503 (the medium retries) when Rasa is not there."""
    body = await read_body(request, request.app[MAX_BYTES_KEY])
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    headers.update(forward_headers())  # our request id, so the turn can be followed into Rasa
    try:
        async with request.app[SESSION_KEY].post(request.app[RASA_URL_KEY] + request.path, data=body,
                                                 headers=headers) as answer:
            content = await answer.read()
            return web.Response(body=content, status=answer.status,
                                content_type=answer.content_type or "application/octet-stream")
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        logger.warning("could not pass a webhook to Rasa at %s (%s)", request.path, type(error).__name__)
        return json_error(ERROR_RASA_DOWN, 503)
