"""What the SMS and Telegram channels share beyond rendering: configuration, the webhook routes, the off switch,
turns run after the webhook has answered, the rate limit, and a calm reply when Rasa gives none.

Both Twilio and Telegram retry a webhook that answers slowly or with an error, and a Rasa turn (NLU, custom
actions) can take seconds. So a channel checks the request ("is this ours?"), answers the webhook at once and
handles the message in a background task ("handle it"), replying through the medium's API. Tasks are kept, so
their errors are logged and a stopping server finishes them (up to ``SHUTDOWN_GRACE_SECONDS``) before it goes: a
webhook answered 200 is a promise to reply.

A subclass sets ``config_type`` and implements ``receive`` (check and parse a request, then ``run_in_background``)
and ``close_resources``.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import os
import re
import time
import weakref
from dataclasses import replace
from typing import Any, Awaitable, Callable, ClassVar, Coroutine, Dict, Mapping, Optional, Set, Text, Type

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channel_config import ChannelConfigError, ChannelOff, ChannelTexts, load_channel_texts, missing_keys
from bot.channel_state import ChannelState, ChannelStateUnavailable
from bot.logs import REQUEST_ID_HEADER, bind_request_id, request_metadata
from bot.privacy.hashing import log_ref, rate_key
from bot.rate_limit import RateLimiter
from bot.settings import Settings
from bot.surveys.definitions import Survey, load_surveys, offer_payload
from bot.surveys.panel import PanelStore
from channels.render import BotMessage

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# A button that joins or leaves a survey panel: handled by the channel, which alone knows who to invite later.
PANEL_PAYLOAD = re.compile(r"panel:(join|leave):([a-z][a-z0-9_]{1,39})")
# Per server (its event loop): when the channels' shutdown grace period ends (WebhookChannel._stop_deadline).
_STOP_DEADLINES: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, float]" = weakref.WeakKeyDictionary()
# "Delete my data" as Rasa's intent, for Telegram's /stop.
DELETE_MY_DATA_PAYLOAD = "/delete_my_data"
WEBHOOK_PATH = "/webhook"
HEALTH_PATH = "/"
STATUS_OFF = 503
STATUS_STOPPING = 503
RETRY_AFTER_SECONDS = "5"


class Turn(enum.Enum):
    """How a message handed to Rasa ended, so the channel knows whether to say something itself."""

    ANSWERED = "answered"  # Rasa's replies went out
    FAILED = "failed"  # Rasa raised or produced no reply (e.g. the action server is down): say "try again"
    SLOW_DOWN = "slow down"  # the sender is over the rate limit for the first time this minute: say so once
    LIMITED = "limited"  # still over the limit: say nothing more


class TurnOutput(OutputChannel):
    """An output channel that counts what Rasa produced in one turn.

    Rasa swallows a custom action's failure (the action server down, a timeout) and finishes the turn with no
    message; on SMS and Telegram that would be silence, so the channel needs to know that nothing came.
    """

    def __init__(self) -> None:
        """Start a turn with nothing produced."""
        self.produced = 0

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        """Count one Rasa message and pass it on."""
        self.produced += 1
        await self.deliver(BotMessage.from_rasa(message))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        """A plain text, as one message."""
        await self.send_response(recipient_id, {"text": text})

    async def deliver(self, message: BotMessage) -> None:
        """Send (or keep) one message on the medium."""
        raise NotImplementedError


class WebhookChannel(InputChannel):
    """A Rasa input channel fed by a webhook, switched off when its secrets are not set."""

    # The channel's settings class: ``from_env(env)`` returns it, or ``ChannelOff`` with the reason.
    config_type: ClassVar[Type[Any]]

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Configure from the environment (credentials.yml holds no secrets); off, with one log line, when unset.

        Raises:
            SystemExit: the channel's secrets are set but a key it needs is not: starting would store opt-outs and
                conversations under a key nobody chose, so the server refuses to start, with one sentence.
        """
        try:
            config = cls.config_type.from_env(os.environ)
        except ChannelConfigError as error:
            _refuse_to_start(f"The {cls.name()} channel cannot start: {error}")
        if isinstance(config, ChannelOff):
            logger.info(config.reason)
            return cls(None, off_reason=config.reason)
        missing = missing_keys(os.environ)
        if missing:
            _refuse_to_start(f"The {cls.name()} channel cannot start: set {', '.join(missing)} (long random "
                             "secrets, kept for good; see the README, Configuration)")
        logger.info("%s channel is on: webhook at /webhooks/%s/webhook", cls.name(), cls.name())
        return cls(config)

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
        self._settings = Settings.from_env()
        if redis_url:
            self._settings = replace(self._settings, redis_url=redis_url)
        self._state: Optional[ChannelState] = None
        self._panel: Optional[PanelStore] = None
        self._limiter: Optional[RateLimiter] = None
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._stopping = False
        self.texts = texts or load_channel_texts()

    @property
    def is_on(self) -> bool:
        """True when the channel's secrets are set."""
        return self.off_reason is None

    def get_output_channel(self) -> Optional[OutputChannel]:
        """None: we keep no phone numbers or chat ids, so Rasa cannot start a conversation on its own."""
        return None

    @property
    def state(self) -> ChannelState:
        """The channel state in Redis, created on first use (inside the server's event loop)."""
        if self._state is None:
            assert self._hash_key is not None, "an off channel has no state"
            self._state = ChannelState.from_url(self._settings.redis_url, self._hash_key,
                                                spool_dir=self._settings.spool_dir)
        return self._state

    @property
    def panel(self) -> PanelStore:
        """The survey panels in Redis, created on first use (keys from PRIVACY_KEY and PANEL_ENCRYPTION_KEY)."""
        if self._panel is None:
            self._panel = PanelStore.from_settings(self._settings)
        return self._panel

    @property
    def limiter(self) -> RateLimiter:
        """The per-sender message limit, counted in Redis so every replica shares it."""
        if self._limiter is None:
            self._limiter = RateLimiter.from_url(self._settings.redis_url, self._settings.rate_limit_per_minute)
        return self._limiter

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

    async def first_time(self, message_id: str) -> bool:
        """False for a retry of a message already taken (the medium re-sent its webhook); True otherwise.

        When Redis cannot tell, the message is handled: a rare double answer beats ignoring a family.
        """
        try:
            if await self.state.first_delivery(self.name(), message_id):
                return True
        except ChannelStateUnavailable:
            logger.error("cannot check %s message %s for a repeat; handling it", self.name(), message_id,
                         exc_info=True)
            return True
        logger.info("%s message %s was already taken (a retry); ignoring it", self.name(), message_id)
        return False

    # --- To implement ------------------------------------------------------------------------------------------

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Check and parse one webhook request, start handling it, and answer the webhook."""
        raise NotImplementedError

    async def close_resources(self) -> None:
        """Close the medium's API client (called once, when the server stops)."""

    # --- Shared ------------------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The webhook (``POST /webhooks/<name>/webhook``), a health route, and finishing turns on shutdown."""
        webhook = Blueprint(f"{self.name()}_webhook", __name__)

        @webhook.route(HEALTH_PATH, methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            """Says whether the channel is on and the model loaded (the web app's /readyz asks)."""
            agent = getattr(request.app.ctx, "agent", None)
            model = "ready" if agent is not None and agent.is_ready() else "not loaded"
            return response.json({"channel": self.name(), "status": "ok" if self.is_on else "off",
                                  "model": model})

        @webhook.route(WEBHOOK_PATH, methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            """One update from the medium; refused while the channel is off or the server is stopping."""
            if not self.is_on:
                return response.json({"error": f"the {self.name()} channel is not configured"}, status=STATUS_OFF)
            bind_request_id(request.headers.get(REQUEST_ID_HEADER))  # from the web app, which made it
            if self._stopping:
                # Not accepted, so not lost: the medium sends it again, to this server once restarted or another.
                return response.json({"error": "restarting, please retry"}, status=STATUS_STOPPING,
                                     headers={"Retry-After": RETRY_AFTER_SECONDS})
            return await self.receive(request, on_new_message)

        @webhook.listener("before_server_stop")
        async def close(*_: Any) -> None:
            """Finish the turns already accepted, then close connections, before Rasa's agent goes."""
            await self.close()

        return webhook

    def _stop_deadline(self) -> float:
        """When the server's grace period ends: one deadline for all its channels (Sanic closes them one after
        another, and together they must finish within SHUTDOWN_GRACE_SECONDS, before the supervisor's SIGKILL)."""
        loop = asyncio.get_running_loop()
        if loop not in _STOP_DEADLINES:
            _STOP_DEADLINES[loop] = time.monotonic() + self._settings.shutdown_grace_seconds
        return _STOP_DEADLINES[loop]

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
        """Finish the turns in progress (up to the grace period), then close the medium's and Redis's clients.

        Webhooks keep being taken while the turns finish (a load balancer may still route some here); after the
        grace period the channel refuses new ones with 503 and cancels what is left, logging how many.
        """
        deadline = self._stop_deadline()
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))
        self._stopping = True
        left = list(self._tasks)
        if left:
            logger.error("%s: %d turn(s) still running after %.0f s; cancelling them", self.name(), len(left),
                         self._settings.shutdown_grace_seconds)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        await self.close_resources()
        for client in (self._state, self._panel, self._limiter):
            if client is not None:
                await client.close()
        self._state = self._panel = self._limiter = None

    async def run_turn(self, on_new_message: OnNewMessage, output: TurnOutput, text: str, sender_id: str,
                       message_id: str, metadata: Optional[Dict[str, Any]] = None) -> Turn:
        """Pass one message to Rasa, unless the sender is over the rate limit; its replies go to ``output``.

        Returns:
            What happened, so the channel can apologise (FAILED) or ask the sender to slow down (SLOW_DOWN).
        """
        assert self._hash_key is not None, "an off channel runs no turns"
        verdict = await self.limiter.check(self.name(), rate_key(self._hash_key, sender_id))
        if not verdict.allowed:
            logger.info("%s sender %s is over the rate limit", self.name(), log_ref(sender_id))
            return Turn.SLOW_DOWN if verdict.first_refusal else Turn.LIMITED
        message = UserMessage(text, output, sender_id, input_channel=self.name(), message_id=message_id,
                              metadata=request_metadata(metadata))
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - Rasa's errors are not one family; any of them means "no answer"
            logger.error("Rasa could not handle a %s message (%s)", self.name(), log_ref(sender_id), exc_info=True)
            return Turn.FAILED
        if output.produced == 0:
            logger.error("Rasa gave no reply to a %s message (%s): is the action server up?", self.name(),
                         log_ref(sender_id))
            return Turn.FAILED
        return Turn.ANSWERED


def _refuse_to_start(sentence: str) -> None:
    """Stop the Rasa server before it serves anything, with one sentence on stderr and in the log."""
    logger.error("%s", sentence)
    raise SystemExit(sentence)


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


@functools.lru_cache(maxsize=1)
def survey_offers() -> frozenset:
    """The payloads of the invitations' "Take part" buttons, one per survey (sent by ``bot survey invite``)."""
    return frozenset(offer_payload(survey_id) for survey_id in survey_ids())
