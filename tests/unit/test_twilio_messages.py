"""The Twilio sender's retry policy: no retry can send a text twice (issue #10).

Only a request that never left and a 429 are retried; a 5xx, or a failure after sending, is final. Against a tiny
aiohttp app on 127.0.0.1 standing in for Twilio's Messages API, which counts every request it gets.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, List

import pytest
from aiohttp import web

import bot.twilio_messages
from bot.channel_config import TwilioConfig
from bot.stack import LOOPBACK, free_port
from bot.twilio_messages import TwilioMessages

ACCOUNT_SID = "AC" + "0" * 32
NUMBER = "+447700900123"
BODY = "Your EHCP question: here is what I found"


class FakeTwilio:
    """Answers each POST to Messages.json with the next planned status (201 once the plan is used up)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.plan: List[int] = []
        self.hang_seconds = 0.0
        self.requests: List[dict] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _messages(self, request: web.Request) -> web.Response:
        self.requests.append(dict(await request.post()))
        status = self.plan.pop(0) if self.plan else 201
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
        if status == 201:
            return web.json_response({"sid": f"SM{len(self.requests):032x}", "status": "queued"}, status=201)
        return web.json_response({"code": 20429 if status == 429 else 20500, "message": "no", "status": status},
                                 status=status)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after 10 ms, not seconds."""
    monkeypatch.setattr(bot.twilio_messages, "RETRY_DELAYS_SECONDS", (0.01, 0.01))


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    await fake.start()
    yield fake
    await fake.stop()


def _sender(api_base: str) -> TwilioMessages:
    return TwilioMessages(TwilioConfig(account_sid=ACCOUNT_SID, auth_token="token", number="+447700900000",
                                       hash_key=b"k", api_base=api_base))


async def _send(api_base: str) -> bool:
    sender = _sender(api_base)
    try:
        return await sender.send(NUMBER, BODY)
    finally:
        await sender.close()


async def test_an_accepted_text_is_sent_once(twilio: FakeTwilio) -> None:
    """201: True, one request, with our number and the text."""
    assert await _send(twilio.url) is True
    assert len(twilio.requests) == 1
    assert twilio.requests[0]["To"] == NUMBER and twilio.requests[0]["Body"] == BODY


@pytest.mark.parametrize("status", [500, 503])
async def test_a_5xx_is_not_retried(twilio: FakeTwilio, status: int, caplog: pytest.LogCaptureFixture) -> None:
    """Twilio may have queued the text before failing: exactly one request, False, one error line without the
    number or the text."""
    twilio.plan = [status, status, status]
    with caplog.at_level(logging.INFO, logger="bot.twilio_messages"):
        assert await _send(twilio.url) is False
    assert len(twilio.requests) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert str(status) in errors[0].getMessage() and "20500" in errors[0].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert NUMBER not in logged and "7700900123" not in logged and BODY not in logged


async def test_a_429_is_retried_and_sent_once(twilio: FakeTwilio) -> None:
    """Twilio refuses over its rate before queuing: the retry delivers, two requests in all."""
    twilio.plan = [429]
    assert await _send(twilio.url) is True
    assert len(twilio.requests) == 2


async def test_429s_are_given_up_after_the_last_retry(twilio: FakeTwilio) -> None:
    """Always 429: one try and one per retry delay, then False."""
    twilio.plan = [429] * 10
    assert await _send(twilio.url) is False
    assert len(twilio.requests) == 1 + len(bot.twilio_messages.RETRY_DELAYS_SECONDS)


async def test_a_4xx_refusal_is_not_retried(twilio: FakeTwilio) -> None:
    """A refusal (e.g. 400, 21610) will not change on retry."""
    twilio.plan = [400]
    assert await _send(twilio.url) is False
    assert len(twilio.requests) == 1


async def test_no_answer_after_sending_is_not_retried(twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request reached Twilio and then timed out: it may be queued, so it is not sent again."""
    import aiohttp

    monkeypatch.setattr(bot.twilio_messages, "SEND_TIMEOUT", aiohttp.ClientTimeout(total=0.5))
    twilio.hang_seconds = 2.0
    assert await _send(twilio.url) is False
    assert len(twilio.requests) == 1


async def test_nothing_listening_is_retried_then_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection refused: the request never left, so every attempt is made (and none can be a duplicate)."""
    attempts: List[bool] = []
    original = TwilioMessages._attempt

    async def counted(self: TwilioMessages, to: str, body: str):  # type: ignore[no-untyped-def]
        outcome = await original(self, to, body)
        attempts.append(outcome is None)
        return outcome

    monkeypatch.setattr(TwilioMessages, "_attempt", counted)
    assert await _send(f"http://{LOOPBACK}:{free_port()}") is False
    assert attempts == [True] * (1 + len(bot.twilio_messages.RETRY_DELAYS_SECONDS))


async def test_a_refused_connection_then_a_listening_twilio_delivers_once(twilio: FakeTwilio,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listening on the first try, Twilio there for the retry: one text delivered."""
    closed = f"http://{LOOPBACK}:{free_port()}"
    sender = _sender(closed)
    original = TwilioMessages._attempt
    calls = {"n": 0}

    async def then_listening(self: TwilioMessages, to: str, body: str):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            self._url = self._url.replace(closed, twilio.url)
        return await original(self, to, body)

    monkeypatch.setattr(TwilioMessages, "_attempt", then_listening)
    try:
        assert await sender.send(NUMBER, BODY) is True
    finally:
        await sender.close()
    assert calls["n"] == 2 and len(twilio.requests) == 1
