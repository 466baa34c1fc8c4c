"""The Telegram channel: the Bot API's webhook in, python-telegram-bot's ``Bot`` out.

Young people answer surveys and ask questions on Telegram. Compared with Rasa's own Telegram channel (aiogram 2,
Bot API 5.3), this one:

- refuses an update without the right ``X-Telegram-Bot-Api-Secret-Token`` (403): the webhook URL alone is not a
  secret, and anyone who knows it could otherwise talk to Rasa as any chat;
- parses updates with ``Update.de_json`` (400 when that fails); handles messages, edited messages and button
  presses, and acknowledges every other kind (``my_chat_member`` when someone blocks the bot, ...) with 200 so
  Telegram does not retry it;
- answers every button press (``answerCallbackQuery``), or the user's app shows a spinner until it times out;
- sends buttons as inline keyboards, long payloads as short callback ids (``channels.render``);
- handles ``/start`` (with a deep-link payload such as a survey id), ``/help``, ``/privacy`` and ``/stop`` itself,
  with texts from ``data/knowledge/channels.yml``;
- answers private chats only, and gives Rasa a hash of the chat id as the sender id.

Set ``TELEGRAM_TOKEN`` and ``TELEGRAM_SECRET_TOKEN`` to turn it on, then ``make telegram-webhook URL=...``.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, Optional, Text, Tuple

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError
from telegram.request import HTTPXRequest

from bot.channel_config import ChannelTexts, TelegramConfig
from bot.channel_state import SENDER_PREFIXES, ChannelState, ChannelStateUnavailable
from bot.surveys.definitions import offer_payload
from bot.surveys.store import SurveyStoreError
from bot.user_text import clean_user_text, neutralise_command
from channels.base import (
    DELETE_MY_DATA_PAYLOAD,
    PANEL_PAYLOAD,
    OnNewMessage,
    Turn,
    TurnOutput,
    WebhookChannel,
    survey_ids,
    survey_offers,
)
from channels.render import BotMessage, TelegramReply, is_callback_id, keyboard_rows, render_telegram

logger = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and a Bot API URL contains the bot's token: keep it out of the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)

CHANNEL = "telegram"
SENDER_PREFIX = SENDER_PREFIXES["telegram"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# "/start", "/start@OurBot", "/start survey_2026" (Telegram's deep link puts the payload after a space).
COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?", re.S)
# Several families at once must not queue behind one connection (python-telegram-bot's default pool is 1).
CONNECTION_POOL_SIZE = 16
POOL_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TelegramIncoming:
    """What we need from one update: who, what, and whether it was a button press."""

    update_id: int  # Telegram's id for the update: the same on every retry
    chat_id: int  # the private chat to reply in; never logged or stored, only hashed
    text: Optional[str]  # what was typed, or the pressed button's callback data; None for a sticker or photo
    callback_query_id: Optional[str] = None  # set for a button press, which must be answered


def incoming(update: Update) -> Optional[TelegramIncoming]:
    """The part of ``update`` we handle, or None for every other kind (acknowledged and ignored)."""
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is not None and getattr(message.chat, "type", None) != Chat.PRIVATE:
            return None
        if message is None and query.from_user is None:
            return None
        chat_id = message.chat.id if message is not None else query.from_user.id
        return TelegramIncoming(update.update_id, chat_id, query.data, callback_query_id=query.id)
    message = update.message or update.edited_message
    # getattr: a body that parses may still lack a chat (Telegram never sends one, a forger might).
    if message is None or getattr(message.chat, "type", None) != Chat.PRIVATE:
        return None
    return TelegramIncoming(update.update_id, message.chat.id, message.text)


class TelegramOutput(TurnOutput):
    """Sends Rasa's messages to one chat as they come, buttons as an inline keyboard."""

    @classmethod
    def name(cls) -> Text:
        """The channel name Rasa uses for channel-specific responses (``channel: telegram`` in domain.yml)."""
        return CHANNEL

    def __init__(self, bot: Bot, chat_id: int, state: ChannelState) -> None:
        """Reply in ``chat_id`` with ``bot``, remembering the buttons offered (and long payloads) in ``state``."""
        super().__init__()
        self._bot = bot
        self._chat_id = chat_id
        self._state = state

    async def deliver(self, message: BotMessage) -> None:
        """Render one Rasa message for Telegram and send it."""
        for reply in render_telegram(message):
            await self.send(reply)

    async def send(self, reply: TelegramReply) -> None:
        """Send one rendered message; failures are logged here, never raised into Rasa's turn."""
        keyboard = reply.keyboard
        if keyboard:
            try:
                # A press is accepted only for a payload offered to this chat (a forged callback sets nothing).
                await self._state.save_offered(CHANNEL, str(self._chat_id),
                                               [reply.callbacks.get(data, data) for _, data in keyboard])
                await self._state.save_callbacks(CHANNEL, reply.callbacks)
            except ChannelStateUnavailable:
                # A button we could not remember would only say "too old" when pressed: leave them out.
                logger.error("cannot save the buttons offered; sending the message without them", exc_info=True)
                keyboard = ()
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(title, callback_data=data) for title, data in row] for row in keyboard_rows(keyboard)]
        ) if keyboard else None
        try:
            await self._bot.send_message(self._chat_id, reply.text, reply_markup=markup)
        except Forbidden:
            logger.info("a Telegram user has blocked the bot; message not delivered")
        except TelegramError:
            logger.error("Telegram did not take a message", exc_info=True)


Handler = Callable[[TelegramIncoming, str, OnNewMessage], Awaitable[None]]


class TelegramInput(WebhookChannel):
    """The Bot API's webhook at ``POST /webhooks/telegram/webhook``."""

    config_type = TelegramConfig

    @classmethod
    def name(cls) -> Text:
        """The URL prefix and Rasa's ``input_channel`` name."""
        return CHANNEL

    def __init__(self, config: Optional[TelegramConfig], off_reason: Optional[str] = None,
                 redis_url: Optional[str] = None, texts: Optional[ChannelTexts] = None) -> None:
        """A channel for ``config`` (None: off, for ``off_reason``)."""
        super().__init__(config.hash_key if config else None, off_reason, redis_url, texts)
        self.config = config
        self._requests: Tuple[HTTPXRequest, ...] = ()
        self.bot: Optional[Bot] = None
        if config is not None:
            self._requests = (
                HTTPXRequest(connection_pool_size=CONNECTION_POOL_SIZE, pool_timeout=POOL_TIMEOUT_SECONDS),
                HTTPXRequest(),  # getUpdates: never used with a webhook, but Bot builds one; ours is closed with it
            )
            self.bot = Bot(config.token, base_url=config.bot_base_url, request=self._requests[0],
                           get_updates_request=self._requests[1])
        # Our own commands, registered in one place; anything else starting with "/" goes to Rasa as typed.
        self._commands: Mapping[str, Handler] = {
            "start": self.on_start,
            "help": self.on_help,
            "privacy": self.on_privacy,
            "stop": self.on_stop,
            "leave": self.on_leave,
        }

    # --- Is this ours? -----------------------------------------------------------------------------------------

    def sent_by_telegram(self, request: Request) -> bool:
        """True when the request carries the secret token we gave Telegram in setWebhook."""
        assert self.config is not None
        given = request.headers.get(SECRET_HEADER) or ""
        return hmac.compare_digest(given.encode("utf-8"), self.config.secret_token.encode("utf-8"))

    def parse(self, body: bytes) -> Optional[Update]:
        """The update in ``body``, or None when it is not an update Telegram could have sent."""
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                return None
            return Update.de_json(data, self.bot)
        # Anything a body can make the parsers raise: bad JSON, nesting too deep (RecursionError), a date out of
        # range (OverflowError, OSError), wrong types. Each is a 400 to the sender, never a 500.
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError, OSError):
            return None

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Refuse forged (403) and undecodable (400) updates; take the rest and answer 200 at once."""
        if not self.sent_by_telegram(request):
            logger.warning("refused a Telegram webhook with a missing or wrong secret token")
            return response.json({"error": "missing or wrong secret token"}, status=403)
        update = self.parse(request.body)
        if update is None:
            return response.json({"error": "expected a Telegram Update object as JSON"}, status=400)
        message = incoming(update)
        if message is None:
            logger.debug("ignoring Telegram update %s of a kind we do not handle", update.update_id)
        else:
            self.run_in_background(self.handle(message, on_new_message), str(update.update_id))
        return response.json({})

    # --- Handle it ---------------------------------------------------------------------------------------------

    async def handle(self, message: TelegramIncoming, on_new_message: OnNewMessage) -> None:
        """Answer one update: a button press, one of our commands, or a message for Rasa."""
        if not await self.first_time(str(message.update_id)):
            return
        if message.callback_query_id is not None:
            await self._answer_callback(message.callback_query_id)
            if message.text is None:
                return
            payload = await self._offered_payload(message, message.text)
            if payload is None:
                await self.say(message, self.texts.telegram.button_expired)
                return
            panel = PANEL_PAYLOAD.fullmatch(payload)
            if panel is not None:
                await self.on_panel_button(message, panel.group(1), panel.group(2))
                return
            await self.converse(message, payload, on_new_message)
            return
        text = clean_user_text(message.text or "")
        if not text:
            await self.say(message, self.texts.telegram.no_text)
            return
        command = COMMAND.fullmatch(text)
        handler = self._commands.get(command.group(1).lower()) if command else None
        if handler is not None and command is not None:
            await handler(message, (command.group(2) or "").strip(), on_new_message)
            return
        # Typed words, even "/restart" or '/survey_offer{...}': only a pressed button may carry a payload.
        words = neutralise_command(text)
        if not words:
            await self.say(message, self.texts.telegram.no_text)
            return
        await self.converse(message, words, on_new_message)

    async def on_start(self, message: TelegramIncoming, argument: str, on_new_message: OnNewMessage) -> None:
        """/start [payload]: turn messages back on and greet; ``/start strong_voices`` (a deep link to a survey)
        offers that survey. Any other deep-link payload is ignored (a plain greeting)."""
        await self.state.opt_in(CHANNEL, str(message.chat_id))
        if argument in survey_ids():
            await self.converse(message, offer_payload(argument), on_new_message)
            return
        await self.converse(message, self.texts.telegram.start_message, on_new_message)

    async def on_help(self, message: TelegramIncoming, argument: str, on_new_message: OnNewMessage) -> None:
        """/help: what the assistant can do, and the other commands."""
        await self.say(message, self.texts.telegram.help)

    async def on_privacy(self, message: TelegramIncoming, argument: str, on_new_message: OnNewMessage) -> None:
        """/privacy: what we keep and for how long."""
        await self.say(message, self.texts.telegram.privacy)

    async def on_stop(self, message: TelegramIncoming, argument: str, on_new_message: OnNewMessage) -> None:
        """/stop: no messages we start (survey invitations) until /start, off every panel, and the conversation
        and answers to open surveys deleted (Rasa's "delete my data"); replies to their own messages still come."""
        await self.state.opt_out(CHANNEL, str(message.chat_id))
        try:
            await self.leave_panels(self.sender_id(message))
        except SurveyStoreError:
            logger.error("cannot take a Telegram chat off the survey panels; its opt-out still stops invitations",
                         exc_info=True)
        await self.converse(message, DELETE_MY_DATA_PAYLOAD, on_new_message)
        await self.say(message, self.texts.telegram.stopped)

    async def on_leave(self, message: TelegramIncoming, argument: str, on_new_message: OnNewMessage) -> None:
        """/leave: off every survey panel (no more invitations); the conversation goes on."""
        await self.on_panel_button(message, "leave", "")

    async def on_panel_button(self, message: TelegramIncoming, verb: str, panel_id: str) -> None:
        """A "Join the panel" (or leave) button: the chat id is kept, encrypted, to send invitations later."""
        sender_id = self.sender_id(message)
        try:
            if verb == "leave":
                left = await self.leave_panels(sender_id)
                await self.say(message,
                               self.texts.telegram.panel_left if left else self.texts.telegram.panel_not_member)
                return
            name = await self.join_panel(panel_id, sender_id, str(message.chat_id))
        except SurveyStoreError:
            logger.error("cannot reach the survey panels for Telegram update %s", message.update_id, exc_info=True)
            await self.say(message, self.texts.telegram.unavailable)
            return
        if name is None:
            await self.say(message, self.texts.telegram.button_expired)
            return
        await self.say(message, self.texts.telegram.panel_joined.format(panel=name))

    def sender_id(self, message: TelegramIncoming) -> str:
        """The id Rasa knows this chat by: a keyed hash of the chat id, never the id."""
        return SENDER_PREFIX + self.state.identity(CHANNEL, str(message.chat_id))

    async def converse(self, message: TelegramIncoming, text: str, on_new_message: OnNewMessage) -> None:
        """Pass ``text`` (checked words, or a payload we offered or built) to Rasa; replies go straight to the chat."""
        turn = await self.run_turn(on_new_message, self._output(message), text, self.sender_id(message),
                                   str(message.update_id))
        if turn is Turn.FAILED:
            await self.say(message, self.texts.telegram.unavailable)
        elif turn is Turn.SLOW_DOWN:
            await self.say(message, self.texts.telegram.slow_down)

    async def say(self, message: TelegramIncoming, text: str) -> None:
        """Send one of the channel's own texts."""
        await self._output(message).send_text_message("", text)

    def _output(self, message: TelegramIncoming) -> TelegramOutput:
        assert self.bot is not None
        return TelegramOutput(self.bot, message.chat_id, self.state)

    async def _answer_callback(self, callback_query_id: str) -> None:
        """Stop the button's spinner in the user's app: Telegram expects an answer to every callback query."""
        assert self.bot is not None
        try:
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError:
            logger.warning("could not answer a callback query (it may be too old)", exc_info=True)

    async def _offered_payload(self, message: TelegramIncoming, data: str) -> Optional[str]:
        """The payload a pressed button stands for, if we offered it to this chat; None otherwise.

        Callback data comes from the user's app, which can be made to send anything: only a payload we offered
        this chat is passed on, so nobody can press a button that was never there.
        """
        try:
            payload = await self.state.callback_payload(CHANNEL, data) if is_callback_id(data) else data
            if payload in survey_offers():
                return payload  # an invitation's "Take part": it only offers the survey, which asks for consent
            if payload is None or not await self.state.was_offered(CHANNEL, str(message.chat_id), payload):
                logger.info("a Telegram button press carried a payload not offered to that chat; refused")
                return None
        except ChannelStateUnavailable:
            logger.error("cannot read the buttons offered; asking the user to type instead", exc_info=True)
            return None
        return payload

    async def close_resources(self) -> None:
        """Close python-telegram-bot's HTTP clients."""
        for request in self._requests:
            await request.shutdown()
