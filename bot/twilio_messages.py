"""Sending texts with Twilio's Messages API on aiohttp, retrying only when a retry cannot send twice.

Both the SMS channel (replies) and ``python -m bot survey invite`` (invitations) send through this one class, so a
parent never gets a text twice whichever of them is sending.

The retry policy (issue #10): a text may be lost, but no retry can ever send it twice. Only two failures are
retried, because in both Twilio has certainly not queued the message:

- **the request never left**: the connection was refused or timed out before our request headers were written
  (an aiohttp trace hook, ``on_request_headers_sent``, tells us whether they were);
- **429 Too Many Requests**: Twilio refuses a request over its rate before queuing anything.

Everything else is final and logged once, with Twilio's status and error code only (never the number or the
text): a 5xx (Twilio may already have queued the text before failing), a request that went out and then got no
answer or a broken one, and any other 4xx (a refusal that will not change on retry, e.g. 21610: the number has
opted out at Twilio).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Optional

import aiohttp

from bot.channel_config import TwilioConfig

logger = logging.getLogger(__name__)

MESSAGES_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"
# First try, then after these pauses: long enough for a Twilio blip to pass, short enough that the family waits
# seconds, not minutes.
RETRY_DELAYS_SECONDS = (0.5, 2.0)
SEND_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)
# Answers that mean Twilio did not queue the message, so sending it again cannot make a second copy. A 5xx is not
# here: Twilio may have queued the text before failing, and a retry could then reach the family twice.
RETRY_STATUSES = frozenset({429})


class TwilioMessages:
    """Sends texts with Twilio's Messages API on aiohttp, retrying only when a retry cannot send twice."""

    def __init__(self, config: TwilioConfig) -> None:
        """Prepare the client; the HTTP session opens on first use, inside the running loop."""
        self._config = config
        self._url = config.api_base + MESSAGES_PATH.format(account_sid=config.account_sid)
        self._session: Optional[aiohttp.ClientSession] = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Whether a request's headers went out tells a safe retry (Twilio never saw it) from a risky one.
            tracing = aiohttp.TraceConfig()
            tracing.on_request_headers_sent.append(_mark_sent)
            self._session = aiohttp.ClientSession(
                auth=aiohttp.BasicAuth(self._config.account_sid, self._config.auth_token),
                timeout=SEND_TIMEOUT,
                trace_configs=[tracing],
            )
        return self._session

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, to: str, body: str) -> bool:
        """Send one text to ``to``.

        Retries only a request that never reached Twilio (refused, or timed out connecting) and a 429 (Twilio
        refused it before queuing). A 5xx, or a request that went out but got no answer, is not retried: Twilio
        may have queued it, and a second copy would reach the family.

        Returns:
            True when Twilio accepted the message.
        """
        for delay in (0.0,) + RETRY_DELAYS_SECONDS:
            if delay:
                await asyncio.sleep(delay)
            outcome = await self._attempt(to, body)
            if outcome is not None:
                return outcome
        logger.error("Twilio did not take a message after %d attempts (never reached, or 429); giving up",
                     1 + len(RETRY_DELAYS_SECONDS))
        return False

    async def _attempt(self, to: str, body: str) -> Optional[bool]:
        """One request: True sent, False failed for good, None worth retrying."""
        progress = {"sent": False}
        form = {"To": to, "From": self._config.number, "Body": body}
        try:
            async with self._http().post(self._url, data=form, trace_request_ctx=progress) as answer:
                if answer.status in (200, 201):
                    try:
                        result = await answer.json(content_type=None)
                    except ValueError:  # accepted all the same; a body we cannot read must not resend it
                        result = None
                    logger.info("sent SMS %s", result.get("sid") if isinstance(result, dict) else "?")
                    return True
                detail = await answer.text()
                code = _twilio_error_code(detail)
                if answer.status in RETRY_STATUSES:
                    logger.warning("Twilio answered %s %s (not queued); will retry", answer.status, code)
                    return None
                if answer.status >= 500:
                    logger.error("Twilio answered %s %s; not retrying, as it may have queued the text",
                                 answer.status, code)
                    return False
                logger.error("Twilio refused a message: %s %s", answer.status, code)
                return False
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            if progress["sent"]:
                logger.error("no answer from Twilio after sending (%s); not retrying, to never send twice",
                             type(error).__name__)
                return False
            logger.warning("could not reach Twilio (%s); will retry", type(error).__name__)
            return None


async def _mark_sent(_session: aiohttp.ClientSession, context: Any, _params: Any) -> None:
    if isinstance(context.trace_request_ctx, dict):
        context.trace_request_ctx["sent"] = True


def _twilio_error_code(detail: str) -> str:
    """Twilio's numeric error code from an error body (e.g. 21610: the number has opted out at Twilio)."""
    try:
        return f"(Twilio error {json.loads(detail).get('code')})"
    except (ValueError, AttributeError):
        return ""
