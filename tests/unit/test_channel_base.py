"""What the channels share (channels/base.py): here, one shutdown deadline per server."""

from __future__ import annotations

import asyncio
from typing import Tuple

import pytest

from channels.sms import SmsInput
from channels.telegram import TelegramInput


def _both_deadlines() -> Tuple[float, float]:
    async def run() -> Tuple[float, float]:
        sms = SmsInput(None, off_reason="unit test")
        telegram = TelegramInput(None, off_reason="unit test")
        return sms._stop_deadline(), telegram._stop_deadline()

    return asyncio.run(run())


def test_a_servers_channels_share_one_shutdown_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sanic closes the channels one after another: with a deadline each, two stuck turns would wait twice the grace
    period and outlast the supervisor's stop grace (then SIGKILL, and turns lost unanswered)."""
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "20")
    sms, telegram = _both_deadlines()
    assert sms == telegram


def test_another_server_gets_its_own_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server started after another stopped (a new event loop) has its whole grace period again."""
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "20")
    first, _ = _both_deadlines()
    second, _ = _both_deadlines()
    assert second > first
