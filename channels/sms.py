"""The SMS channel: Twilio's messaging webhook in, Twilio's Messages API out.

Parents ask by text. Compared with Rasa's own Twilio channel, this one:

- checks ``X-Twilio-Signature`` with twilio's ``RequestValidator`` before anything reaches Rasa (403 otherwise);
- keeps the carrier keywords: STOP and friends opt out (stored in Redis, confirmed once, nothing else is ever sent
  to that number until START/YES/UNSTOP), HELP/INFO get a short help text;
- answers the webhook with empty TwiML at once and replies through the Messages API from a background task, on
  aiohttp (nothing blocks the loop), retrying only a 429 or a request that never left, never one that may have
  reached Twilio (a 5xx may already be queued), so a parent never gets a text twice;
- reads what was typed as words: "/restart" is not an intent; only a menu number stands for a button;
- when Rasa gives no reply (the action server down), texts a calm "try again shortly" with the SEND team's number;
- asks a number sending more than RATE_LIMIT_PER_MINUTE texts a minute to wait, once;
- answers a Twilio retry of the same ``MessageSid`` once;
- sends one turn as one text (split only past two segments), with buttons as numbered options, and maps a reply of
  "1", "2", ... back to that option's payload (``channels.render``);
- gives Rasa a hash of the phone number as the sender id, never the number.

Set ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``TWILIO_NUMBER`` to turn it on (README, "Connecting SMS").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any, List, Mapping, Optional, Sequence, Text
from urllib.parse import parse_qs

from sanic import response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channel_config import ChannelTexts, TwilioConfig
from bot.channel_state import SENDER_PREFIXES, ChannelStateUnavailable
from bot.surveys.store import SurveyStoreError
from bot.twilio_messages import TwilioMessages
from bot.user_text import clean_user_text, neutralise_command
from channels.base import OnNewMessage, Turn, TurnOutput, WebhookChannel, panels_by_keyword
from channels.render import BotMessage, render_sms, sms_menu_choice, sms_menu_number

logger = logging.getLogger(__name__)

CHANNEL = "sms"
SENDER_PREFIX = SENDER_PREFIXES["sms"]
SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TWIML_CONTENT_TYPE = "text/xml"

# Twilio's standard keywords (../shared/facts/domain-facts.md, section 6); matched on the whole message only.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Survey panels: "JOIN VOICES" (a survey's keyword) joins that survey's panel; "LEAVE" leaves every panel.
JOIN_KEYWORD = "JOIN"
LEAVE_KEYWORD = "LEAVE"

class Keyword(Enum):
    """A carrier keyword, sent as the whole message."""

    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"
    HELP = "help"


@dataclass(frozen=True)
class IncomingSms:
    """One text from a parent, as Twilio posts it."""

    message_sid: str  # Twilio's id for it: the same on every retry of the webhook
    number: str  # the sender's phone number (E.164); never logged or stored, only hashed
    body: str  # the words, stripped; empty for a picture without text
    media_count: int  # pictures attached (MMS)


def parse_sms(form: Mapping[str, Any]) -> Optional[IncomingSms]:
    """Read Twilio's form fields; None when ``From`` or ``MessageSid`` is missing (not a message webhook)."""

    def first(name: str) -> str:
        value = form.get(name)
        if isinstance(value, list):
            value = value[0] if value else ""
        return str(value or "")

    number, sid = first("From").strip(), first("MessageSid").strip()
    if not number or not sid:
        return None
    try:
        media_count = int(first("NumMedia") or 0)
    except ValueError:
        media_count = 0
    return IncomingSms(message_sid=sid, number=number, body=clean_user_text(first("Body")), media_count=media_count)


def posted_form(body: bytes) -> Optional[RequestParameters]:
    """The posted form with its empty fields kept: Twilio signs ``Body=`` of an empty text too, and Sanic's
    ``request.form`` drops it, which would make a genuine request look forged. None when it is not a form."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    return RequestParameters(fields)


def keyword(body: str) -> Optional[Keyword]:
    """The keyword ``body`` is (``"Stop."`` is STOP), or None: "stop the checker" is a question for Rasa."""
    word = body.strip().rstrip(".!").strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return Keyword.OPT_IN
    if word in HELP_KEYWORDS:
        return Keyword.HELP
    return None


class SmsOutput(TurnOutput):
    """Collects one turn's messages: SMS sends them together, as one text with a numbered menu."""

    @classmethod
    def name(cls) -> Text:
        """The channel name Rasa uses for channel-specific responses (``channel: sms`` in domain.yml)."""
        return CHANNEL

    def __init__(self) -> None:
        """Start an empty turn."""
        super().__init__()
        self.collected: List[BotMessage] = []

    async def deliver(self, message: BotMessage) -> None:
        """Keep a bot message for the end of the turn."""
        self.collected.append(message)


class SmsInput(WebhookChannel):
    """Twilio's messaging webhook at ``POST /webhooks/sms/webhook``."""

    config_type = TwilioConfig

    @classmethod
    def name(cls) -> Text:
        """The URL prefix and Rasa's ``input_channel`` name."""
        return CHANNEL

    def __init__(self, config: Optional[TwilioConfig], off_reason: Optional[str] = None,
                 redis_url: Optional[str] = None, texts: Optional[ChannelTexts] = None) -> None:
        """A channel for ``config`` (None: off, for ``off_reason``)."""
        super().__init__(config.hash_key if config else None, off_reason, redis_url, texts)
        self.config = config
        self.twilio = TwilioMessages(config) if config else None
        self._validator = RequestValidator(config.auth_token) if config else None

    # --- Is this ours? -----------------------------------------------------------------------------------------

    def signed_by_twilio(self, request: Request, form: RequestParameters) -> bool:
        """True when ``X-Twilio-Signature`` matches the URL Twilio called and the form it posted."""
        assert self._validator is not None and self.config is not None
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return False
        url = self.config.webhook_url or request.url
        return self._validator.validate(url, form, signature)

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Refuse unsigned requests (403), accept the message, answer Twilio with empty TwiML at once."""
        form = posted_form(request.body)
        if form is None or not self.signed_by_twilio(request, form):
            logger.warning("refused an SMS webhook with a missing or wrong Twilio signature")
            return response.text("Forbidden: the Twilio signature is missing or wrong.", status=403)
        sms = parse_sms(form)
        if sms is None:
            return response.text("Bad request: expected Twilio's From and MessageSid fields.", status=400)
        self.run_in_background(self.handle(sms, on_new_message), sms.message_sid)
        return response.text(EMPTY_TWIML, content_type=TWIML_CONTENT_TYPE)

    # --- Handle it ---------------------------------------------------------------------------------------------

    async def handle(self, sms: IncomingSms, on_new_message: OnNewMessage) -> None:
        """Answer one text: keywords first, then nothing for an opted-out number, then Rasa."""
        state = self.state
        if not await self.first_time(sms.message_sid):
            return
        word = keyword(sms.body)
        if word is Keyword.OPT_OUT:
            if await state.opt_out(CHANNEL, sms.number):
                await self._send_text(sms.number, self.texts.sms.opted_out, even_if_opted_out=True)
            await self._leave_panels(sms)
            return
        try:
            opted_out = await state.is_opted_out(CHANNEL, sms.number)
        except ChannelStateUnavailable:
            # Fail closed: a number that said STOP must never hear from us, and we cannot tell right now.
            logger.error("cannot read the opt-out list; not answering SMS %s", sms.message_sid, exc_info=True)
            return
        if opted_out:
            if word is Keyword.OPT_IN and await state.opt_in(CHANNEL, sms.number):
                await self._send_text(sms.number, self.texts.sms.opted_in)
            return
        if word is Keyword.HELP:
            await self._send_text(sms.number, self.texts.sms.help)
            return
        if not sms.body:
            await self._send_text(sms.number, self.texts.sms.no_text)
            return
        if await self._panel_keyword(sms):
            return
        # A menu number stands for a button we offered; anything typed is words, even "/restart".
        text = await self._menu_payload(sms) or neutralise_command(sms.body)
        if not text:
            await self._send_text(sms.number, self.texts.sms.no_text)
            return
        output = SmsOutput()
        turn = await self.run_turn(on_new_message, output, text, self.sender_id(sms), sms.message_sid)
        if turn is Turn.ANSWERED:
            await self._send_turn(sms.number, output.collected)
        elif turn is Turn.FAILED:
            await self._send_text(sms.number, self.texts.sms.unavailable)
        elif turn is Turn.SLOW_DOWN:
            await self._send_text(sms.number, self.texts.sms.slow_down)

    def sender_id(self, sms: IncomingSms) -> str:
        """The id Rasa knows this phone by: a keyed hash of the number, never the number."""
        return SENDER_PREFIX + self.state.identity(CHANNEL, sms.number)

    async def _panel_keyword(self, sms: IncomingSms) -> bool:
        """JOIN <keyword> and LEAVE: the survey panel, which needs the number, so the channel handles it.

        Returns:
            True when the text was a panel keyword (and has been answered).
        """
        words = sms.body.strip().rstrip(".!").upper().split()
        if words == [LEAVE_KEYWORD]:
            pass
        elif not words or words[0] != JOIN_KEYWORD or len(words) > 2:
            return False
        try:
            if words == [LEAVE_KEYWORD]:
                left = await self.leave_panels(self.sender_id(sms))
                await self._send_text(sms.number, self.texts.sms.panel_left if left else self.texts.sms.panel_not_member)
                return True
            panel_id = panels_by_keyword().get(words[1]) if len(words) == 2 else None
            name = await self.join_panel(panel_id, self.sender_id(sms), sms.number) if panel_id else None
        except SurveyStoreError:
            logger.error("cannot reach the survey panel for SMS %s", sms.message_sid, exc_info=True)
            await self._send_text(sms.number, self.texts.sms.unavailable)
            return True
        if name is None:
            await self._send_text(sms.number, self.texts.sms.panel_which)
        else:
            await self._send_text(sms.number, self.texts.sms.panel_joined.format(panel=name))
        return True

    async def _leave_panels(self, sms: IncomingSms) -> None:
        """STOP leaves every survey panel too; a failure is logged (the opt-out alone already stops invitations)."""
        try:
            await self.leave_panels(self.sender_id(sms))
        except SurveyStoreError:
            logger.error("cannot take SMS %s off the survey panels; its opt-out still stops invitations",
                         sms.message_sid, exc_info=True)

    async def _menu_payload(self, sms: IncomingSms) -> Optional[str]:
        """The payload of the last menu's option when the text is just its number."""
        if sms_menu_number(sms.body) is None:
            return None  # not a bare digit: no need to ask Redis
        try:
            return sms_menu_choice(sms.body, await self.state.menu(CHANNEL, sms.number))
        except ChannelStateUnavailable:
            logger.error("cannot read the last SMS menu; passing the number on as typed", exc_info=True)
            return None

    async def _send_turn(self, number: str, messages: Sequence[BotMessage]) -> None:
        reply = render_sms(messages)
        try:
            await self.state.save_menu(CHANNEL, number, reply.menu)
        except ChannelStateUnavailable:
            logger.error("cannot save the SMS menu; a numbered reply will reach Rasa as typed", exc_info=True)
        await self._send_parts(number, reply.parts)

    async def _send_text(self, number: str, text: str, *, even_if_opted_out: bool = False) -> None:
        await self._send_parts(number, render_sms([BotMessage(text=text)]).parts, even_if_opted_out=even_if_opted_out)

    async def _send_parts(self, number: str, parts: Sequence[str], *, even_if_opted_out: bool = False) -> None:
        """Send a reply's parts in order, checking the opt-out list just before (a STOP may have come meanwhile)."""
        assert self.twilio is not None
        if not parts:
            return
        if not even_if_opted_out:
            try:
                if await self.state.is_opted_out(CHANNEL, number):
                    return
            except ChannelStateUnavailable:
                logger.error("cannot read the opt-out list; not sending a reply", exc_info=True)
                return
        for part in parts:
            if not await self.twilio.send(number, part):
                return  # a later part alone would not make sense

    async def close_resources(self) -> None:
        """Close the Twilio HTTP session."""
        if self.twilio is not None:
            await self.twilio.close()
