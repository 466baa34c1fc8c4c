"""What the SMS and Telegram channels share beyond rendering: the webhook routes, the off switch, turns run after
the webhook has answered, and closing what a channel opened when the server stops.

Both Twilio and Telegram retry a webhook that answers slowly or with an error, and a Rasa turn (NLU, custom
actions) can take seconds. So a channel checks the request ("is this ours?"), answers the webhook at once and
handles the message in a background task ("handle it"), replying through the medium's API. Tasks are kept, so
their errors are logged and the server's shutdown cancels and awaits them (aiohttp's background-task pattern).

A subclass implements ``receive`` (check and parse a request, then ``run_in_background``), ``output_resources`` and
``close_resources``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from dataclasses import replace
from typing import Any, Awaitable, Callable, Coroutine, Dict, Mapping, Optional, Set

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channel_config import ChannelTexts, load_channel_texts
from bot.channel_state import ChannelState
from bot.privacy.hashing import log_ref
from bot.settings import Settings
from bot.surveys.definitions import Survey, load_surveys
from bot.surveys.panel import PanelStore

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# A button that joins or leaves a survey panel: handled by the channel, which alone knows who to invite later.
PANEL_PAYLOAD = re.compile(r"panel:(join|leave):([a-z][a-z0-9_]{1,39})")
# What a Telegram /start deep link or an invitation's button sends to Rasa for a survey.
SURVEY_OFFER_PAYLOAD = '/survey_offer{{"survey":"{survey_id}"}}'
# "Delete my data" as Rasa's intent, for Telegram's /stop.
DELETE_MY_DATA_PAYLOAD = "/delete_my_data"
WEBHOOK_PATH = "/webhook"
HEALTH_PATH = "/"
STATUS_OFF = 503


class WebhookChannel(InputChannel):
    """A Rasa input channel fed by a webhook, switched off when its secrets are not set."""

    def __init__(self, hash_key: Optional[bytes], off_reason: Optional[str] = None,
                 redis_url: Optional[str] = None, texts: Optional[ChannelTexts] = None) -> None:
        """Set up what every webhook channel needs; nothing connects until the first message.

        Args:
            hash_key: the HMAC key for phone numbers and chat ids (None when the channel is off).
            off_reason: why the channel is off, or None when it is on.
            redis_url: where the channel state lives (default: REDIS_URL, as the rest of the stack).
            texts: the channels' own texts (default: ``data/knowledge/channels.yml``).
        """
        self.off_reason = off_reason
        self._hash_key = hash_key
        self._redis_url = redis_url
        self._state: Optional[ChannelState] = None
        self._panel: Optional[PanelStore] = None
        self._tasks: Set["asyncio.Task[None]"] = set()
        self.texts = texts or load_channel_texts()

    @property
    def is_on(self) -> bool:
        """True when the channel's secrets are set."""
        return self.off_reason is None

    @property
    def state(self) -> ChannelState:
        """The channel state in Redis, created on first use (inside the server's event loop)."""
        if self._state is None:
            assert self._hash_key is not None, "an off channel has no state"
            url = self._redis_url or Settings.from_env().redis_url
            self._state = ChannelState.from_url(url, self._hash_key)
        return self._state

    @property
    def panel(self) -> PanelStore:
        """The survey panels in Redis, created on first use (keys from PRIVACY_KEY and PANEL_ENCRYPTION_KEY)."""
        if self._panel is None:
            settings = Settings.from_env()
            if self._redis_url:
                settings = replace(settings, redis_url=self._redis_url)
            self._panel = PanelStore.from_settings(settings)
        return self._panel

    async def join_panel(self, panel_id: str, sender_id: str, contact: str) -> Optional[str]:
        """Add this person to a survey panel, keeping the contact encrypted; returns the panel's name.

        Returns:
            The panel's name, or None when there is no such panel.
        """
        name = panel_names().get(panel_id)
        if name is None:
            return None
        await self.panel.join(panel_id, sender_id, self.name(), contact)
        logger.info("%s joined the %s panel (%s)", self.name(), panel_id, log_ref(sender_id))
        return name

    async def leave_panels(self, sender_id: str) -> int:
        """Take this person off every survey panel (LEAVE, STOP, /stop); returns how many they were on."""
        return await self.panel.leave_all(sender_id)

    # --- To implement ------------------------------------------------------------------------------------------

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Check and parse one webhook request, start handling it, and answer the webhook."""
        raise NotImplementedError

    async def close_resources(self) -> None:
        """Close the medium's API client (called once, when the server stops)."""

    # --- Shared ------------------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The webhook (``POST /webhooks/<name>/webhook``), a health route, and closing on shutdown."""
        webhook = Blueprint(f"{self.name()}_webhook", __name__)

        @webhook.route(HEALTH_PATH, methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            """Says whether the channel is on, for whoever sets up the webhook."""
            return response.json({"channel": self.name(), "status": "ok" if self.is_on else "off"})

        @webhook.route(WEBHOOK_PATH, methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            """One update from the medium; refused while the channel is off."""
            if not self.is_on:
                return response.json({"error": f"the {self.name()} channel is not configured"}, status=STATUS_OFF)
            return await self.receive(request, on_new_message)

        @webhook.listener("before_server_stop")
        async def close(*_: Any) -> None:
            """Stop turns in progress and close connections before the loop goes."""
            await self.close()

        return webhook

    def run_in_background(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        """Handle a message after the webhook has answered; failures are logged, never lost silently."""
        task = asyncio.get_running_loop().create_task(coroutine, name=f"{self.name()}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        """Cancel turns in progress, then close the medium's client and the Redis client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.close_resources()
        if self._state is not None:
            await self._state.close()
            self._state = None
        if self._panel is not None:
            await self._panel.close()
            self._panel = None

    async def run_turn(self, on_new_message: OnNewMessage, output: OutputChannel, text: str, sender_id: str,
                       message_id: str, metadata: Optional[Dict[str, Any]] = None) -> bool:
        """Pass one message to Rasa; its replies go to ``output``.

        Returns:
            False when Rasa failed (logged here, with the sender's hash only), so the channel can apologise.
        """
        message = UserMessage(text, output, sender_id, input_channel=self.name(), message_id=message_id,
                              metadata=metadata)
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - Rasa's errors are not one family; any of them means "no answer"
            logger.error("Rasa could not handle a %s message (%s)", self.name(), log_ref(sender_id), exc_info=True)
            return False
        return True


@functools.lru_cache(maxsize=1)
def _surveys() -> Mapping[str, Survey]:
    """The survey definitions, read once per process (restart after editing data/surveys)."""
    return load_surveys()


@functools.lru_cache(maxsize=1)
def panel_names() -> Mapping[str, str]:
    """Panel id -> the group's name ("strong_voices" -> "Strong Voices"), for every survey's panel."""
    return {survey.panel: survey.panel.replace("_", " ").title() for survey in _surveys().values()}


@functools.lru_cache(maxsize=1)
def panels_by_keyword() -> Mapping[str, str]:
    """A survey's SMS keyword -> its panel ("FORUM" -> "parent_carer_forum"), for "JOIN FORUM"."""
    return {survey.keyword: survey.panel for survey in _surveys().values()}


@functools.lru_cache(maxsize=1)
def survey_ids() -> frozenset:
    """The surveys a deep link or an invitation may name."""
    return frozenset(_surveys())
