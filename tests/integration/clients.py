"""The people in the integration tests: a parent's phone (signed Twilio webhooks) and a young person's Telegram
chat (updates as the Bot API sends them), each reading what the assistant sent back through the local stand-ins.

Each registers its raw identifiers (phone number, chat id, Rasa sender id) with the privacy audit, which checks at
the end of the session that none of them was ever written to Redis or to a service log (issue #7).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Set

from twilio.request_validator import RequestValidator

from bot.channel_state import identity_hash
from bot.stack import Stack
from tests.integration.standins import Received, TelegramStandIn, TwilioStandIn

# The public address Twilio would sign in production (behind a proxy); the SMS channel must check signatures
# against it, not against the local address Rasa sees.
SMS_WEBHOOK_URL = "https://sms.example.org/webhooks/sms/webhook"

NOTHING_SENT_SECONDS = 6.0
# Typed messages at least this long are looked for in every log (shorter ones, "yes" or "2", match ordinary words).
TYPED_TEXT_CHARS = 16


def remember_typed(typed: Set[str], text: str) -> None:
    """Note a typed message for the privacy audit of the logs (payloads and commands are ours, not the family's)."""
    if len(text.strip()) >= TYPED_TEXT_CHARS and not text.startswith("/"):
        typed.add(text.strip())
UPDATE_IDS = itertools.count(int(time.time()) % 10**6 * 100)


class Chat:
    """A young person's private chat with the bot: sends updates as Telegram does, reads what the bot sent."""

    def __init__(self, stack: Stack, telegram: TelegramStandIn, env: Dict[str, str], sensitive: Set[str],
                 typed: Optional[Set[str]] = None) -> None:
        self.typed = typed if typed is not None else set()
        self.chat_id = secrets.randbelow(10**9) + 10**9
        self.webhook = f"{stack.web_url}/webhooks/telegram/webhook"  # the public surface: the web app
        self.redis_url = stack.settings.redis.url
        self.telegram = telegram
        self.secret = env["TELEGRAM_SECRET_TOKEN"]
        self.user = {"id": self.chat_id, "is_bot": False, "first_name": "Sam", "language_code": "en"}
        self.env = env
        self.sensitive = sensitive
        sensitive.update({str(self.chat_id), self.sender_id})

    @property
    def sender_id(self) -> str:
        """The id Rasa knows this chat by: a hash, never the chat id."""
        return "tg-" + identity_hash(self.env["CHANNEL_HASH_KEY"].encode(), "telegram", str(self.chat_id))

    def post(self, update: Any, secret: Optional[str] = "ours", raw: Optional[bytes] = None) -> int:
        """POST an update to the webhook with the secret token header (``secret=None``: no header)."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.secret if secret == "ours" else secret
        body = raw if raw is not None else json.dumps(update).encode()
        request = urllib.request.Request(self.webhook, body, headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def message(self, text: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
        """An update with a new message, as the Bot API sends it."""
        message = {"message_id": next(UPDATE_IDS), "from": self.user, "date": int(time.time()),
                   "chat": {"id": self.chat_id, "first_name": "Sam", "type": "private"}, **extra}
        if text is not None:
            message["text"] = text
            remember_typed(self.typed, text)
            if text.startswith("/"):
                message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
        return {"update_id": next(UPDATE_IDS), "message": message}

    def press(self, data: str, under: Optional[Received] = None) -> Dict[str, Any]:
        """An update for a press of the button with ``data``, under the bot's message ``under``."""
        message = {"message_id": 1, "date": int(time.time()),
                   "chat": {"id": self.chat_id, "first_name": "Sam", "type": "private"}, "text": "..."}
        if under is not None:
            message = {"message_id": 1, "date": int(time.time()), "text": under.fields["text"],
                       "chat": {"id": self.chat_id, "first_name": "Sam", "type": "private"},
                       "reply_markup": under.fields["reply_markup"]}
        query = {"id": str(next(UPDATE_IDS)), "from": self.user, "message": message,
                 "chat_instance": "-" + str(self.chat_id), "data": data}
        return {"update_id": next(UPDATE_IDS), "callback_query": query}

    def offer(self, *payloads: str) -> None:
        """Record buttons as offered to this chat, as sending a message with them does: for tests that start
        at a button the bot offered earlier on a longer path (e.g. "Join the panel" at a survey's end)."""
        import asyncio

        from bot.channel_state import ChannelState

        async def remember() -> None:
            state = ChannelState.from_url(self.redis_url, self.env["CHANNEL_HASH_KEY"].encode())
            try:
                await state.save_offered("telegram", str(self.chat_id), list(payloads))
            finally:
                await state.close()

        asyncio.run(remember())

    def sent(self, count: int = 1) -> List[Received]:
        """Wait for at least ``count`` messages to this chat; all of them so far."""
        return self.telegram.wait_for(
            lambda r: r.method == "sendMessage" and str(r.fields.get("chat_id")) == str(self.chat_id), count
        )

    def say(self, update: Dict[str, Any]) -> List[Received]:
        """Post an update and return the messages the bot sent in reply."""
        before = len(self.telegram.sent_to(self.chat_id))
        assert self.post(update) == 200
        self.sent(before + 1)
        self.telegram.quiet_for(lambda r: False, 1.0)  # a turn may send more than one message
        return self.telegram.sent_to(self.chat_id)[before:]


class Phone:
    """A parent's phone: texts the assistant as Twilio would (signed webhook) and reads what came back."""

    def __init__(self, stack: Stack, twilio: TwilioStandIn, env: Dict[str, str], sensitive: Set[str],
                 typed: Optional[Set[str]] = None) -> None:
        self.typed = typed if typed is not None else set()
        self.number = "+4477009" + "".join(secrets.choice("0123456789") for _ in range(5))
        self.webhook = f"{stack.web_url}/webhooks/sms/webhook"  # the public surface: the web app
        self.twilio = twilio
        self.env = env
        sensitive.update({self.number, self.number.lstrip("+"), self.sender_id})

    @property
    def sender_id(self) -> str:
        """The id Rasa knows this phone by: a hash, never the number."""
        return "sms-" + identity_hash(self.env["CHANNEL_HASH_KEY"].encode(), "sms", self.number)

    def fields(self, body: str, sid: Optional[str] = None, **extra: str) -> Dict[str, str]:
        """The form Twilio posts for an incoming text."""
        remember_typed(self.typed, body)
        return {
            "MessageSid": sid or "SM" + uuid.uuid4().hex, "AccountSid": self.env["TWILIO_ACCOUNT_SID"],
            "From": self.number, "To": self.env["TWILIO_NUMBER"], "Body": body, "NumMedia": "0",
            "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01", **extra,
        }

    def post(self, fields: Dict[str, str], signature: Optional[str] = "sign",
             signed_url: str = SMS_WEBHOOK_URL) -> int:
        """POST the webhook; ``signature="sign"`` signs it as Twilio does (for ``signed_url``)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            signature = RequestValidator(self.env["TWILIO_AUTH_TOKEN"]).compute_signature(signed_url, fields)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        request = urllib.request.Request(self.webhook, urllib.parse.urlencode(fields).encode(), headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                self.last_body = response.read().decode()
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def text(self, body: str, **extra: str) -> int:
        """Send a text; returns the webhook's status."""
        return self.post(self.fields(body, **extra))

    def replies(self, count: int = 1) -> List[str]:
        """Wait for at least ``count`` texts to this phone; all of them so far."""
        self.twilio.wait_for(lambda r: r.fields.get("To") == self.number and r.fields["accepted"], count)
        return self.twilio.texts_to(self.number)

    def ask(self, body: str) -> str:
        """Text a question and return the whole reply (its parts joined)."""
        before = len(self.twilio.texts_to(self.number))
        assert self.text(body) == 200
        self.replies(before + 1)
        # Parts of one reply are sent back to back; give the last ones a moment.
        self.twilio.quiet_for(lambda r: False, 1.0)
        return "\n".join(self.twilio.texts_to(self.number)[before:])
