"""Rasa's REST channel (the web chat's way in, through the web app), carrying the turn's request id.

The web app sends ``X-Request-ID`` with each message. This channel makes it the current request id for the request
(a new one if it is missing or malformed), puts it into the message's metadata, where Rasa keeps it in the tracker
and sends it to the action server, and holds it for the whole turn, so each of Rasa's log lines for the turn carries
it. A client's own ``metadata`` is not taken: the web app sends none, and nothing else should write into trackers.

It keeps the name "rest", so the URL stays ``/webhooks/rest/webhook``. Rasa calls ``blueprint`` once, after its
Sanic app (and any logging handlers Sanic installs) exists and before it serves anything, so that is where the
logging of the Rasa server is claimed again (``bot.logs`` explains why the logging file alone is not enough).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.logs import (RASA_OWN_LOGGERS, REQUEST_ID_HEADER, REQUEST_ID_METADATA, bind_request_id, configure_logging,
                      get_request_id, reset_request_id, set_request_id, valid_request_id)


class RestInput(RasaRestInput):
    """``rasa.core.channels.rest.RestInput`` with the request id in each message's metadata and log line."""

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        """Only the request id (the one bound for this request, else the header's if valid, else a new one)."""
        request_id = get_request_id() or bind_request_id(request.headers.get(REQUEST_ID_HEADER))
        return {REQUEST_ID_METADATA: request_id}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        configure_logging("rasa", own_loggers=RASA_OWN_LOGGERS)

        async def handle_with_request_id(message: UserMessage) -> None:
            request_id = valid_request_id((message.metadata or {}).get(REQUEST_ID_METADATA)) or get_request_id()
            token = set_request_id(request_id)
            try:
                await on_new_message(message)
            finally:
                reset_request_id(token)

        blueprint = super().blueprint(handle_with_request_id)

        # Sanic serves the requests of one keep-alive connection in one task, so the id is set for each request
        # and cleared after it (echoed in the response first), never left over for the next one.
        @blueprint.middleware("request")
        async def bind(request: Request) -> None:
            bind_request_id(request.headers.get(REQUEST_ID_HEADER))

        @blueprint.middleware("response")
        async def unbind(request: Request, response: HTTPResponse) -> None:
            request_id = get_request_id()
            if request_id:
                response.headers[REQUEST_ID_HEADER] = request_id
            set_request_id(None)

        return blueprint
