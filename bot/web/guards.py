"""Checks every public request passes before a handler reads it: size, content type and origin.

The web app is the only public surface (Rasa listens on loopback), so what it refuses here never costs Rasa any
work. A body is refused by its declared length before a byte of it is read; a body without a length is read with the
same limit. Each refusal is a JSON sentence with a 4xx status, never a traceback or an HTML error page.
"""

from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable, Optional
from urllib.parse import urlsplit

from aiohttp import web

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ERROR_BODY_TOO_LARGE = "The request is too large. Please send a shorter message."
ERROR_NOT_JSON = "The request must be JSON (Content-Type: application/json)."
ERROR_OTHER_SITE = "This chat only takes messages from its own page."
ERROR_NOT_FOUND = "There is nothing at this address."
ERROR_METHOD = "This address does not take that kind of request."
ERROR_BAD_REQUEST = "The request could not be read."


def json_error(sentence: str, status: int) -> web.Response:
    """A refusal as the page (and any client) expects it: ``{"error": sentence}``."""
    return web.json_response({"error": sentence}, status=status)


def body_limit_middleware(max_bytes: int) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """A middleware refusing bodies over ``max_bytes`` with 413, from the Content-Length header alone."""

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        length = request.content_length
        if length is not None and length > max_bytes:
            logger.info("refused a %d-byte body to %s with 413", length, request.path)
            return json_error(ERROR_BODY_TOO_LARGE, 413)
        return await handler(request)

    return limit


@web.middleware
async def json_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own refusals (404, 405, 413 while reading, a malformed request) as JSON sentences, and any bug as
    a logged 500 without the request's content."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return json_error(ERROR_BODY_TOO_LARGE, 413)
    except web.HTTPNotFound:
        return json_error(ERROR_NOT_FOUND, 404)
    except web.HTTPMethodNotAllowed as error:
        response = json_error(ERROR_METHOD, 405)
        response.headers["Allow"] = ",".join(sorted(error.allowed_methods))
        return response
    except web.HTTPException:
        raise  # redirects and the forum's own answers
    except (ValueError, UnicodeError, RecursionError):
        logger.info("refused an unreadable request to %s", request.path)
        return json_error(ERROR_BAD_REQUEST, 400)


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The body, read with ``max_bytes`` as the limit even when no length was declared (chunked uploads).

    Raises:
        web.HTTPRequestEntityTooLarge: the body is longer (the errors middleware answers 413 in JSON).
    """
    chunks = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=max_bytes, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def is_json(request: web.Request) -> bool:
    """True for ``application/json`` (any charset parameter)."""
    return request.content_type == "application/json"


def same_origin(request: web.Request) -> bool:
    """True unless the browser says the request comes from another site's page.

    Browsers send ``Origin`` on every cross-origin POST and ``Sec-Fetch-Site`` on every request; a request from
    our own page has our host in the first and "same-origin" in the second. Clients that are not browsers (curl,
    the tests) send neither and pass, as they cannot carry a family's cookie anyway.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    host = urlsplit(origin).netloc
    return bool(host) and host.lower() == (request.host or "").lower()


def decode_json(body: bytes) -> Optional[object]:
    """The JSON in ``body``, or None when it is not JSON we can read (bad bytes, bad syntax, nesting too deep)."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeError, RecursionError):
        return None
