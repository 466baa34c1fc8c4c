"""A small asyncio load driver: simulated senders in conversation with a Rasa server, over REST or signed SMS.

Why not Locust: a sender here is a conversation (each message waits for the reply to the one before), SMS replies
arrive on another connection (at the Twilio stand-in), and the figures are compared with a baseline in the same
process; a few dozen lines of aiohttp do that with less machinery than a Locust user class and its web UI.

A latency is the time from sending a message to its reply: the REST response, or for SMS the first text of the
reply at the Twilio stand-in (the webhook itself answers at once). Throughput is replies per second of wall time.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Protocol, Tuple

import aiohttp
from twilio.request_validator import RequestValidator

from tests.integration.standins import TwilioStandIn

TURN_TIMEOUT_SECONDS = 120.0
# The parts of one long SMS reply are sent back to back; this much quiet means the reply is complete.
SMS_SETTLE_SECONDS = 0.15


class TurnFailed(RuntimeError):
    """A message got an error status or no reply."""


class Channel(Protocol):
    """Where a simulated sender's messages go."""

    name: str

    def new_sender(self) -> str:
        """A sender (id or phone number) nobody has used."""

    async def turn(self, sender: str, text: str) -> float:
        """Send one message and wait for its reply; the milliseconds that took.

        Raises:
            TurnFailed: an error status, or no reply.
        """


@dataclass
class Outcome:
    """What one load phase measured."""

    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    failures: Counter = field(default_factory=Counter)  # what went wrong, by kind

    @property
    def throughput(self) -> float:
        """Replies per second of wall time."""
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, percent: int) -> float:
        """The latency (ms) under which ``percent`` % of replies came."""
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[percent - 1]


class RestChannel:
    """Rasa's REST channel (what the web chat's app calls)."""

    name = "REST"

    def __init__(self, session: aiohttp.ClientSession, rasa_url: str) -> None:
        self._session = session
        self._url = f"{rasa_url}/webhooks/rest/webhook"

    def new_sender(self) -> str:
        return "bench-" + uuid.uuid4().hex

    async def turn(self, sender: str, text: str) -> float:
        started = time.perf_counter()
        async with self._session.post(self._url, json={"sender": sender, "message": text}) as response:
            replies = await response.json(content_type=None)
        if response.status != 200 or not replies:
            raise TurnFailed(f"REST answered {response.status} with {len(replies or [])} messages")
        return (time.perf_counter() - started) * 1000


class TwilioInbox(TwilioStandIn):
    """The Twilio Messages API stand-in, telling the driver's event loop when a text reaches a number."""

    def __init__(self, account_sid: str, auth_token: str, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(account_sid, auth_token)
        self._driver_loop = loop
        self._arrivals: Dict[str, asyncio.Queue] = defaultdict(asyncio.Queue)

    def record(self, method: str, fields: Dict[str, Any]) -> None:
        # Nothing is kept (a bench sends thousands); the driver only needs to know that a text arrived.
        if fields.get("accepted"):
            self._driver_loop.call_soon_threadsafe(self._arrivals[str(fields.get("To"))].put_nowait, None)

    async def next_text(self, number: str, timeout: float) -> None:
        """Wait for the next text to ``number``.

        Raises:
            asyncio.TimeoutError: none came within ``timeout``.
        """
        await asyncio.wait_for(self._arrivals[number].get(), timeout)

    def forget(self, number: str) -> None:
        """Drop a finished conversation's queue."""
        self._arrivals.pop(number, None)


class SmsChannel:
    """The SMS webhook, posted as Twilio posts it (form fields, ``X-Twilio-Signature``), replies at the inbox."""

    name = "SMS"

    def __init__(self, session: aiohttp.ClientSession, rasa_url: str, inbox: TwilioInbox, *, auth_token: str,
                 our_number: str, signed_url: str) -> None:
        self._session = session
        self._url = f"{rasa_url}/webhooks/sms/webhook"
        self._inbox = inbox
        self._validator = RequestValidator(auth_token)
        self._account_sid = inbox.account_sid
        self._our_number = our_number
        self._signed_url = signed_url
        self._numbers = itertools.count(1)

    def new_sender(self) -> str:
        return f"+4477009{next(self._numbers):05d}"

    async def turn(self, sender: str, text: str) -> float:
        fields = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": self._account_sid, "From": sender,
                  "To": self._our_number, "Body": text, "NumMedia": "0", "NumSegments": "1",
                  "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        headers = {"X-Twilio-Signature": self._validator.compute_signature(self._signed_url, fields)}
        started = time.perf_counter()
        async with self._session.post(self._url, data=fields, headers=headers) as response:
            await response.read()
        if response.status != 200:
            raise TurnFailed(f"the SMS webhook answered {response.status}")
        try:
            await self._inbox.next_text(sender, TURN_TIMEOUT_SECONDS)
        except asyncio.TimeoutError as error:
            raise TurnFailed("no text came back") from error
        latency = (time.perf_counter() - started) * 1000
        while True:  # the rest of a reply split into parts belongs to this turn, not the next
            try:
                await self._inbox.next_text(sender, SMS_SETTLE_SECONDS)
            except asyncio.TimeoutError:
                return latency


async def drive(channel: Channel, conversations: Iterator[Tuple[str, Tuple[str, ...]]], senders: int,
                messages: int) -> Outcome:
    """``senders`` simulated people, each playing the next conversation as a new sender, until ``messages`` in all
    have been sent (the last conversations stop part-way)."""
    outcome = Outcome()
    sent = itertools.count()

    async def person() -> None:
        while True:
            _kind, texts = next(conversations)
            sender = channel.new_sender()
            for text in texts:
                if next(sent) >= messages:
                    return
                try:
                    outcome.latencies_ms.append(await channel.turn(sender, text))
                except (TurnFailed, aiohttp.ClientError, asyncio.TimeoutError) as error:
                    outcome.errors += 1
                    outcome.failures[str(error) or type(error).__name__] += 1
            forget = getattr(channel, "forget", None)
            if forget:
                forget(sender)

    started = time.perf_counter()
    await asyncio.gather(*(person() for _ in range(senders)))
    outcome.seconds = time.perf_counter() - started
    return outcome


async def long_talk(channel: Channel, texts: List[str]) -> List[float]:
    """The latency of every turn of one conversation (errors count as no figure: NaN)."""
    sender = channel.new_sender()
    latencies: List[float] = []
    for text in texts:
        try:
            latencies.append(await channel.turn(sender, text))
        except (TurnFailed, aiohttp.ClientError, asyncio.TimeoutError):
            latencies.append(float("nan"))
    return latencies


def window_median(conversations: List[List[float]], last_turn: int, width: int) -> float:
    """The median latency of the ``width`` turns ending at ``last_turn`` (1-based) of every conversation together,
    errors left out."""
    values = [value for latencies in conversations for value in latencies[max(0, last_turn - width):last_turn]
              if value == value]
    return statistics.median(values) if values else float("nan")


def client_session(connections: Optional[int] = None) -> aiohttp.ClientSession:
    """One HTTP client for a phase (keep-alive, a connection per sender)."""
    connector = aiohttp.TCPConnector(limit=connections or 0)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT_SECONDS))
