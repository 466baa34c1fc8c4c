"""The web chat's session: a random id the server issues in a cookie, from which the Rasa sender id is derived.

The sender id is the only key to a conversation, so the browser must never choose it: a page that sent its own id
let anyone who learnt one (from a shared computer, a screenshot of the dev tools, a log) read and continue that
family's conversation. Now the server makes 128 random bits, keeps them in an HttpOnly cookie that scripts cannot
read, and Rasa only ever sees a keyed hash of them with a ``web-`` prefix, so a web id can never equal an SMS or
Telegram id, and nothing stored or logged can be turned back into the cookie.
"""

from __future__ import annotations

import re
import secrets
from typing import Optional

from aiohttp import web

from bot.channel_state import sender_id

COOKIE_NAME = "send_chat"
SESSION_BYTES = 16  # 128 bits
# token_urlsafe(16) is 22 characters of base64url; anything else in the cookie was not made by us.
SESSION_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
CHANNEL = "web"


def new_session_id() -> str:
    """A fresh session id: 128 bits from the OS's random source."""
    return secrets.token_urlsafe(SESSION_BYTES)


def session_from(request: web.Request) -> Optional[str]:
    """The session id in the request's cookie, or None when there is none or it is not one of ours."""
    value = request.cookies.get(COOKIE_NAME, "")
    return value if SESSION_PATTERN.fullmatch(value) else None


def set_session_cookie(response: web.StreamResponse, session_id: str, *, secure: bool) -> None:
    """Give the browser its session: HttpOnly (scripts cannot read it), SameSite=Strict (other sites' pages cannot
    send it), Secure behind TLS, and no expiry (it ends when the browser closes, like the conversation)."""
    response.set_cookie(COOKIE_NAME, session_id, httponly=True, samesite="Strict", secure=secure, path="/")


def web_sender_id(key: bytes, session_id: str) -> str:
    """The id Rasa knows this browser session by: ``web-`` and a keyed hash of the session id."""
    return sender_id(key, CHANNEL, session_id)
