"""Local stand-ins of the Twilio Messages API and the Telegram Bot API, on 127.0.0.1, recording what they receive.

The channels under test run inside the Rasa server (another process) and reach these through ``TWILIO_API_BASE`` and
``TELEGRAM_API_BASE``. Each stand-in is a small aiohttp app in a thread of its own, so synchronous tests can post a
webhook to Rasa and then wait here for the reply. They answer as the real APIs do (status codes, JSON shapes) so
the real clients (our aiohttp sender, python-telegram-bot's ``Bot``) parse their answers, and check credentials
the way the real APIs do.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

from bot.stack import LOOPBACK, free_port

WAIT_SECONDS = 60.0  # a first Rasa turn on a busy 2-core machine can take a while
POLL_SECONDS = 0.1


@dataclass
class Received:
    """One API call the stand-in got."""

    method: str  # "Messages.json" for Twilio; the Bot API method ("sendMessage") for Telegram
    fields: Dict[str, Any]  # the form fields, with JSON-encoded values (reply_markup) decoded
    at: float = field(default_factory=time.monotonic)


class StandIn:
    """An aiohttp app on a free loopback port, run in a background thread, recording every call."""

    def __init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()
        self._received: List[Received] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=type(self).__name__, daemon=True)
        self._runner: Optional[web.AppRunner] = None

    @property
    def url(self) -> str:
        """The base URL to give the channel (``TWILIO_API_BASE`` / ``TELEGRAM_API_BASE``)."""
        return f"http://{LOOPBACK}:{self.port}"

    def routes(self, app: web.Application) -> None:
        """Add the API's routes."""
        raise NotImplementedError

    def start(self) -> "StandIn":
        """Start serving; returns once the port accepts connections."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    async def _serve(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def record(self, method: str, fields: Dict[str, Any]) -> None:
        """Keep one call (called from the stand-in's thread)."""
        with self._lock:
            self._received.append(Received(method, fields))

    def calls(self, predicate: Callable[[Received], bool] = lambda _: True) -> List[Received]:
        """The calls so far that match ``predicate``, oldest first."""
        with self._lock:
            return [r for r in self._received if predicate(r)]

    def wait_for(self, predicate: Callable[[Received], bool], count: int = 1,
                 timeout: float = WAIT_SECONDS) -> List[Received]:
        """Wait until at least ``count`` calls match ``predicate``; returns them all.

        Raises:
            AssertionError: they did not arrive within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(predicate)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} matching call(s) at {type(self).__name__}, got {found}")
            time.sleep(POLL_SECONDS)

    def quiet_for(self, predicate: Callable[[Received], bool], seconds: float) -> List[Received]:
        """Wait ``seconds`` and return the matching calls (for tests that expect nothing to be sent)."""
        time.sleep(seconds)
        return self.calls(predicate)


def _decoded(form: Any) -> Dict[str, Any]:
    """Form fields, with values the client JSON-encoded (python-telegram-bot does that for objects) decoded."""
    fields: Dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        fields[key] = value
    return fields


class TwilioStandIn(StandIn):
    """``POST /2010-04-01/Accounts/{sid}/Messages.json`` with basic auth, answering 201 and a message sid.

    ``fail_next`` and ``hang_next`` make the next calls answer 5xx or not at all, to test retries; the failed
    calls are recorded too (``accepted`` is False), so a test can count every attempt.
    """

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._failures: List[int] = []  # statuses to answer with, one per next call
        self._hangs: List[float] = []  # seconds to wait before answering, one per next call

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages)

    def fail_next(self, *statuses: int) -> None:
        """Answer the next calls with these statuses (e.g. 500, 503) instead of taking the message."""
        with self._lock:
            self._failures.extend(statuses)

    def hang_next(self, seconds: float) -> None:
        """Take the next message but answer only after ``seconds`` (longer than the client waits)."""
        with self._lock:
            self._hangs.append(seconds)

    def texts_to(self, number: str) -> List[str]:
        """Bodies of the messages Twilio accepted for ``number``, in order."""
        return [r.fields["Body"] for r in self.calls(lambda r: r.fields.get("To") == number and r.fields["accepted"])]

    async def _messages(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != expected or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        fields = dict(await request.post())
        with self._lock:
            status = self._failures.pop(0) if self._failures else None
            hang = self._hangs.pop(0) if self._hangs else 0.0
        self.record("Messages.json", {**fields, "accepted": status is None})
        if status is not None:
            return web.json_response({"code": 20500, "message": "Internal Server Error", "status": status},
                                     status=status)
        if hang:
            await asyncio.sleep(hang)
        sid = "SM" + format(len(self.calls()), "032x")
        return web.json_response({"sid": sid, "status": "queued", "to": fields.get("To"),
                                  "body": fields.get("Body")}, status=201)


class TelegramStandIn(StandIn):
    """``POST /bot{token}/{method}`` answering ``{"ok": true, "result": ...}`` as the Bot API does."""

    BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Coventry SEND", "username": "CovSendTestBot"}

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._message_ids = 1000

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._method)

    def sent_to(self, chat_id: int) -> List[Received]:
        """sendMessage calls for ``chat_id``, in order."""
        return self.calls(lambda r: r.method == "sendMessage" and str(r.fields.get("chat_id")) == str(chat_id))

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            fields = await request.json()
        else:
            fields = _decoded(await request.post())
        self.record(method, fields)
        return web.json_response({"ok": True, "result": self._result(method, fields)})

    def _result(self, method: str, fields: Dict[str, Any]) -> Any:
        if method == "getMe":
            return self.BOT_USER
        if method == "sendMessage":
            with self._lock:
                self._message_ids += 1
                message_id = self._message_ids
            chat_id = int(fields["chat_id"])
            message = {"message_id": message_id, "date": int(time.time()), "from": self.BOT_USER,
                       "chat": {"id": chat_id, "type": "private", "first_name": "Test"}, "text": fields.get("text")}
            if fields.get("reply_markup"):
                message["reply_markup"] = fields["reply_markup"]
            return message
        return True  # answerCallbackQuery, setWebhook, setMyCommands, ...
