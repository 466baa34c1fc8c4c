"""One request id per request to the web app, so a turn can be followed from here through Rasa to the actions.

The id is always a new random one: the web app is the public surface, and a client's own ``X-Request-ID`` (even a
plain token) could carry a phone number into our logs. It is echoed in the response, so a family's "reference" in a
complaint finds the lines, and sent on to Rasa with ``forward_headers()``.

The id is not reset when the handler returns: aiohttp runs each request in a task of its own (a copy of the
context), and its access line is written after the response, still in that task, so it carries the id too.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Dict

from aiohttp import web

from bot.logs import REQUEST_ID_HEADER, bind_request_id, get_request_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind the request id for the request and echo it in the response (refusals raised as HTTP errors too).

    Put it first in the app's middlewares, so every line of the request, from every middleware, carries the id.
    """
    request_id = bind_request_id(None)  # never the client's: it could carry personal data into the logs
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers[REQUEST_ID_HEADER] = request_id
        raise
    if not response.prepared:  # a streamed response has sent its headers already
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def forward_headers() -> Dict[str, str]:
    """The headers that carry the current request id to Rasa (none outside a request)."""
    request_id = get_request_id()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}
