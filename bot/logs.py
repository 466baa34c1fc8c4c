"""Logging for every process of the stack: one JSON object per line, a request id per turn, and nothing a family
typed, their phone number, chat id or Rasa sender id in any line (issue #10).

Why a filter on the handler and not care at each call site: our own code can be written not to log personal data,
but the libraries cannot. Rasa logs the user's text at DEBUG (the processor's "Received user message", NLU, policies,
whole tracker dumps) and at ERROR when a turn fails (the REST channel renders the text into the message itself, as
an f-string in older releases and a structlog event in 3.6, so there is no ``%s`` argument to strip);
python-telegram-bot and httpx log chat ids, texts and URLs holding the bot token; an exception's message can hold
the text too (a ``UnicodeEncodeError`` quotes the string, a ``KeyError`` the missing value).
Whatever reaches a handler is therefore rewritten by ``PrivacyFilter`` before any formatter sees it.

Why an allowlist for library messages, not a denylist of loggers known to echo content: a denylist is only as good
as our knowledge of today's libraries. A new Rasa release, a logger we have not met (apscheduler, asyncio's "Task
exception was never retrieved", a tracker store's SQL parameters) or a message moved to another module would leak
silently, and we would learn of it from a log that already holds a family's words. With an allowlist the failure
is the other way round: an unknown library line is *withheld*, not dropped, so the log still says which logger
spoke, at what level, with which request id, and for an error the exception's type and the code locations it went
through. An operator sees "rasa.core.processor ERROR: details withheld" with ``exc_type`` and ``stack``, which says
where to look, and adds a pattern to ``SAFE_LIBRARY_LINES`` when a line proves useful. The allowed lines (Rasa's and
Sanic's start-up lines, the model being loaded, the aiohttp access line) are matched whole against patterns whose
variable parts (a port, a model path, an action name) cannot hold free text.

Why exception messages and arguments are never logged, even from our code: we do not write them, so we cannot vouch
for them. The type, the causes' types and the frames ("file:line in function") are enough to find a bug; the values
are in the test that reproduces it. Exceptions passed as ``%s`` arguments are reduced to their type for the same
reason, unless they are our own (their texts are written to be safe to show, like ``ChatError.sentence``).

Why libraries never log below INFO whatever LOG_LEVEL says: their DEBUG lines are where the tracker dumps and raw
updates are, and none of them could pass the allowlist anyway; LOG_LEVEL=DEBUG is for our own code.

How it is attached, per process:

* our processes (web app, action server) call ``configure_logging(service, settings)``;
* the Rasa server reads ``bot/logging_rasa.yml`` (``rasa run --logging-config-file``) before anything logs. Rasa then
  installs coloredlogs, which replaces the first stream handler on the root logger with its own, keeping only that
  handler's filters; a decoy handler with a discard-everything filter takes that place, so coloredlogs' handler is
  silent and ours (not a ``StreamHandler``, so coloredlogs leaves it alone) stays. Rasa also swallows an invalid
  logging file with a DEBUG line, and Sanic installs its own handlers when Rasa's HTTP API is on, so
  ``channels.rest.RestInput`` calls ``configure_logging("rasa", ...)`` again when Rasa builds its routes: by then every
  handler is in place, and none serves a request before it has been claimed. Rasa reads LOG_LEVEL too (and
  writes it back), and its LOG_LEVEL_LIBRARIES (default ERROR) still sets the levels of Sanic, TensorFlow, asyncio
  and the like; lowering it only makes more lines reach the filter, which withholds them the same way.

Request ids: the web app takes ``X-Request-ID`` (or makes one), sends it to Rasa, whose REST channel puts it into the
message's metadata; Rasa sends that to the action server inside the tracker. Each process keeps it in the
``request_id`` context variable, so each line of one turn carries the same id, in whichever process it was written.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import sysconfig
import traceback
import uuid
from contextvars import ContextVar, Token
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Pattern, Sequence, TextIO, Tuple
from typing import Union

from bot.settings import LOG_FORMATS, Settings, SettingsError

# Loggers whose messages are ours: they pass at LOG_LEVEL with their text. "__main__" is the module run with
# ``python -m`` (for the Rasa server that module is Rasa's own, so the Rasa configuration leaves it out).
OWN_LOGGERS: Tuple[str, ...] = ("bot", "channels", "actions", "__main__")
RASA_OWN_LOGGERS: Tuple[str, ...] = ("bot", "channels", "actions")
# Sanic's loggers get our handler directly: Rasa and rasa_sdk turn their propagation off.
SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access")
LIBRARY_MIN_LEVEL = logging.INFO
# Libraries that say nothing useful to an operator below WARNING (Presidio announces each recognizer it loads, for
# every redactor made): their INFO lines would only be "details withheld" noise.
QUIET_LIBRARIES = ("presidio-analyzer", "presidio-anonymizer")
WITHHELD = "{logger} {level}: details withheld (may contain personal data)"
UNFORMATTABLE = "a log record could not be formatted (details withheld)"
# Loggers known to echo what families typed, their numbers or chat ids. Not what decides (every library line
# outside SAFE_LIBRARY_LINES is withheld); kept to explain the design and for the tests to check against.
KNOWN_CONTENT_LOGGERS = (
    "rasa.core.channels", "rasa.core.processor", "rasa.core.actions", "rasa.core.policies", "rasa.nlu",
    "rasa.shared.core.trackers", "rasa_sdk", "telegram", "httpx", "httpcore", "sanic.access", "aiohttp.access",
    "aiohttp.server",
)
MAX_FRAMES = 40  # the innermost frames of a deep library stack are the ones that say where it broke
MAX_CAUSES = 5

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_METADATA = "request_id"  # the key in a UserMessage's metadata (and so in the tracker the actions get)
# The same shape as the chat's sender ids: nothing that could carry a newline, a path or a sentence into a log.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")

_request_id: ContextVar[Optional[str]] = ContextVar("request_id", default=None)
_PRIVACY_DONE = "_privacy_done"
_PROJECT_DIR = Path(__file__).resolve().parent.parent
_STDLIB_DIR = sysconfig.get_paths()["stdlib"].rstrip("/") + "/"


# ----------------------------------------------------------------------------------------------------------------
# Request ids


def new_request_id() -> str:
    """A fresh request id (32 hex characters)."""
    return uuid.uuid4().hex


def valid_request_id(value: Any) -> Optional[str]:
    """``value`` if it is a well-formed request id (8-64 of ``[A-Za-z0-9_-]``), else None."""
    if isinstance(value, str) and REQUEST_ID_PATTERN.fullmatch(value):
        return value
    return None


def get_request_id() -> Optional[str]:
    """The request id of the turn being handled, if any."""
    return _request_id.get()


def set_request_id(value: Optional[str]) -> "Token[Optional[str]]":
    """Make ``value`` the current request id (None clears it); pass the token to ``reset_request_id``."""
    return _request_id.set(value)


def reset_request_id(token: "Token[Optional[str]]") -> None:
    """Restore the request id that was current before ``set_request_id`` returned ``token``."""
    _request_id.reset(token)


def bind_request_id(candidate: Any = None) -> str:
    """Make ``candidate`` the current request id if it is valid, else a new one; returns the id now current.

    For a server's request handler or middleware: what a client sends is checked, never trusted.
    """
    request_id = valid_request_id(candidate) or new_request_id()
    _request_id.set(request_id)
    return request_id


@contextlib.contextmanager
def request_id_context(candidate: Any = None) -> Iterator[str]:
    """``bind_request_id`` for a block; the previous id is restored after it."""
    token = _request_id.set(valid_request_id(candidate) or new_request_id())
    try:
        yield _request_id.get()  # type: ignore[misc]
    finally:
        _request_id.reset(token)


def request_metadata(metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """``metadata`` for a ``UserMessage`` with the current request id added (one is made and bound if none is)."""
    request_id = get_request_id() or bind_request_id()
    return {**(metadata or {}), REQUEST_ID_METADATA: request_id}


# ----------------------------------------------------------------------------------------------------------------
# Exceptions, without what they say


def _type_name(kind: type) -> str:
    module = getattr(kind, "__module__", "") or ""
    name = getattr(kind, "__qualname__", kind.__name__)
    return name if module in ("builtins", "") else f"{module}.{name}"


def _short_path(filename: str) -> str:
    """A frame's file as a reader wants it: project-relative, or from the package (or module) name for installed
    and standard-library code."""
    if "site-packages/" in filename:
        return filename.rsplit("site-packages/", 1)[1]
    if filename.startswith(_STDLIB_DIR):
        return filename[len(_STDLIB_DIR):]
    with contextlib.suppress(ValueError):
        return str(Path(filename).resolve().relative_to(_PROJECT_DIR))
    return filename


def exception_summary(exc_info: Optional[Tuple[Any, Any, Any]]) -> Optional[Dict[str, Any]]:
    """The type, the causes' types and the frames of an exception: never its message or arguments.

    Returns:
        ``{"exc_type": ..., "caused_by": [...], "stack": ["file:line in func", ...]}`` (``caused_by`` only when
        there is a cause), or None for no exception.
    """
    if not exc_info or exc_info[0] is None:
        return None
    kind, error, tb = exc_info
    frames = traceback.extract_tb(tb) if tb is not None else []
    stack = [f"{_short_path(frame.filename)}:{frame.lineno} in {frame.name}" for frame in frames]
    summary: Dict[str, Any] = {"exc_type": _type_name(kind)}
    causes: List[str] = []
    seen = {id(error)}
    current = error
    while current is not None and len(causes) < MAX_CAUSES:
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
        if current is None or id(current) in seen:
            break
        seen.add(id(current))
        causes.append(_type_name(type(current)))
    if causes:
        summary["caused_by"] = causes
    if len(stack) > MAX_FRAMES:
        stack = ["..."] + stack[-MAX_FRAMES:]
    summary["stack"] = stack
    return summary


def _is_own_exception(value: BaseException, own_loggers: Sequence[str]) -> bool:
    module = type(value).__module__ or ""
    return any(module == name or module.startswith(name + ".") for name in own_loggers if name != "__main__")


# ----------------------------------------------------------------------------------------------------------------
# What library lines may say


def _whole(*patterns: str) -> Tuple[Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


_URL = r"https?://[A-Za-z0-9.\-\[\]:]{1,100}"
_IDENTIFIER = r"[A-Za-z0-9_]{1,80}"
# Library lines shown as they are: the whole message must match one of its logger's patterns.
SAFE_LIBRARY_LINES: Dict[str, Tuple[Pattern[str], ...]] = {
    # rasa.core.run logs to the root logger.
    "root": _whole(rf"Starting Rasa server on {_URL}", r"Rasa server is up and running\.",
                   r"Killing Sanic server now\.", r"Enabling coroutine debugging\. Loop id \d+\."),
    "rasa.core.processor": _whole(
        r"Loading model [A-Za-z0-9_./\-]{1,200}\.\.\.",
        rf"Encountered an exception while running action '{_IDENTIFIER}'\.Bot will continue, but the actions "
        r"events are lost\. Please check the logs of your action server for more information\.",
    ),
    "rasa.core.agent": _whole(r"Ignoring message as there is no agent to handle it\."),
    "rasa_sdk.endpoint": _whole(r"Starting action endpoint server\.\.\.", r"Starting plugins\.\.\.",
                                rf"Action endpoint is up and running on {_URL}",
                                rf"No registered action found for name '{_IDENTIFIER}'\."),
    "rasa_sdk.executor": _whole(rf"(Re-)?[Rr]egistered function for '{_IDENTIFIER}'\."),
    "sanic.root": _whole(
        r"Starting worker \[\d+\]", r"Stopping worker \[\d+\]", r"Server Stopped",
        r"Received signal SIG[A-Z]+\. Shutting down\.", r"Sanic v[0-9.]{1,20}", rf"Goin' Fast @ {_URL}",
        r"(mode|server|python|platform|packages|auto-reload|workers): [ -~]{0,200}",
    ),
    "aiohttp.web": _whole(r"======== Running on [ -~]{1,100} ========"),
}

# aiohttp's access line: "METHOD /path?query HTTP/1.1" status time. Shown without the query string (search terms,
# tokens) and with the path only when it is made of URL-safe characters.
_ACCESS_LINE = re.compile(r'"([A-Z]{3,7}) (/[^ ?"]*)(\?[^ "]*)? HTTP/\d\.\d" (\d{3}) ([0-9.]{1,12})s')
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._~/\-]{0,200}")
_WARNING_LINE = re.compile(r"(.+?):(\d+): ([A-Za-z_][A-Za-z0-9_.]{0,80}): ")


def _render_access_line(message: str) -> Optional[str]:
    match = _ACCESS_LINE.fullmatch(message.strip())
    if not match:
        return None
    method, path, query, status, seconds = match.groups()
    if not _SAFE_PATH.fullmatch(path):
        path = "(path withheld)"
    return f"{method} {path}{'?...' if query else ''} {status} {seconds}s"


def _render_warning(message: str) -> Optional[str]:
    # logging.captureWarnings: "file:line: Category: text\n  source". The text may quote a value; keep the rest.
    match = _WARNING_LINE.match(message)
    if not match:
        return None
    filename, line, category = match.groups()
    return f"{category} at {_short_path(filename)}:{line} (text withheld)"


# Library lines rewritten into a safe form (None: no safe form, so withheld).
SAFE_RENDERERS: Dict[str, Callable[[str], Optional[str]]] = {
    "aiohttp.access": _render_access_line,
    "py.warnings": _render_warning,
}


# ----------------------------------------------------------------------------------------------------------------
# The filter


def _level_number(level: Union[int, str, None]) -> int:
    if level is None:
        return logging.INFO
    if isinstance(level, int):
        return level
    number = logging.getLevelName(str(level).upper())
    return number if isinstance(number, int) else logging.INFO


def _settings() -> Settings:
    """The settings from the environment; the defaults when they cannot be read.

    Logging is set up before anything else and must not fail on an unrelated bad variable (the caller reports that
    once its logging works); falling back to INFO and JSON is the safe side. Rasa, in particular, ignores a logging
    file that raises and carries on with its own unfiltered handlers.
    """
    try:
        return Settings.from_env()
    except SettingsError:
        return Settings()


def _matches(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


class PrivacyFilter(logging.Filter):
    """Decides which records are written and rewrites them so no personal data is left in them.

    * Records of our loggers (``own_loggers``) pass from ``level`` up, with their text.
    * Records of every other logger pass from INFO (or ``level``, if higher) up; their text is kept only when it
      matches ``SAFE_LIBRARY_LINES`` (or has a safe form in ``SAFE_RENDERERS``), and is otherwise replaced by
      "<logger> <LEVEL>: details withheld (may contain personal data)".
    * Every exception is reduced to its type, its causes' types and its frames (``exc_type``, ``caused_by``,
      ``stack`` on the record); ``exc_info`` is cleared, so no formatter can print its message.

    It rewrites records in place, so it protects every handler the record reaches after it, whatever their
    formatter; running it twice on one record is harmless.
    """

    def __init__(self, level: Union[int, str, None] = None, own_loggers: Sequence[str] = OWN_LOGGERS,
                 name: str = "") -> None:
        """Args:
            level: the lowest level for our loggers (name or number); None reads LOG_LEVEL through ``Settings``.
            own_loggers: the logger names (with their children) whose texts are ours.
        """
        super().__init__(name)
        self.level = _level_number(level if level is not None else _settings().log_level)
        self.library_level = max(LIBRARY_MIN_LEVEL, self.level)
        self.own_loggers = tuple(own_loggers)

    def is_own(self, logger_name: str) -> bool:
        """True for the loggers whose texts are ours."""
        return _matches(logger_name, self.own_loggers)

    def filter(self, record: logging.LogRecord) -> bool:
        own = self.is_own(record.name)
        if record.levelno < (self.level if own else self.library_level):
            return False
        if getattr(record, _PRIVACY_DONE, False):
            return True
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        self._strip_exception(record)
        if own:
            self._strip_foreign_exception_args(record)
        else:
            self._withhold_library_text(record)
        setattr(record, _PRIVACY_DONE, True)
        return True

    @staticmethod
    def _strip_exception(record: logging.LogRecord) -> None:
        summary = exception_summary(record.exc_info) if record.exc_info else None
        if summary:
            for key, value in summary.items():
                setattr(record, key, value)
        record.exc_info = None
        record.exc_text = None

    def _strip_foreign_exception_args(self, record: logging.LogRecord) -> None:
        def safe(value: Any) -> Any:
            if isinstance(value, BaseException) and not _is_own_exception(value, self.own_loggers):
                return f"<{_type_name(type(value))}: message withheld>"
            return value

        if isinstance(record.args, tuple):
            record.args = tuple(safe(value) for value in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: safe(value) for key, value in record.args.items()}
        if isinstance(record.msg, BaseException):
            record.msg = safe(record.msg)

    def _withhold_library_text(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string or an argument whose str() fails: nothing safe to show
            message = None
        safe: Optional[str] = None
        if message is not None:
            renderer = SAFE_RENDERERS.get(record.name)
            if renderer is not None:
                safe = renderer(message)
            elif any(pattern.fullmatch(message) for pattern in SAFE_LIBRARY_LINES.get(record.name, ())):
                safe = message
        record.msg = safe if safe is not None else WITHHELD.format(logger=record.name, level=record.levelname)
        record.args = ()
        record.stack_info = None
        # Sanic's and aiohttp's access records carry the client's address and the request line as attributes.
        for attribute in ("host", "request", "remote_address", "first_request_line", "request_header"):
            if attribute in record.__dict__:
                delattr(record, attribute)


class Discard(logging.Filter):
    """Lets nothing through: the filter of the decoy handler that coloredlogs replaces (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


# ----------------------------------------------------------------------------------------------------------------
# Formatters


def _iso_time(created: float) -> str:
    return datetime.fromtimestamp(created, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        return UNFORMATTABLE


def _exception_fields(record: logging.LogRecord) -> Dict[str, Any]:
    """The exception of a record, from the filter's summary or (formatter used alone) from exc_info itself."""
    if getattr(record, "exc_type", None):
        fields = {"exc_type": record.exc_type}
        if getattr(record, "caused_by", None):
            fields["caused_by"] = record.caused_by
        fields["stack"] = getattr(record, "stack", [])
        return fields
    return exception_summary(record.exc_info) or {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO-8601, UTC), ``level``, ``logger``, ``service``, ``request_id`` (when
    set), ``message``, and for an exception ``exc_type``, ``caused_by`` and ``stack``; never the exception's message
    or arguments, even without ``PrivacyFilter``."""

    def __init__(self, service: str = "", **_: Any) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: Dict[str, Any] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
        }
        request_id = getattr(record, "request_id", None) or get_request_id()
        if request_id:
            entry["request_id"] = request_id
        entry["message"] = _message(record)
        entry.update(_exception_fields(record))
        return json.dumps(entry, ensure_ascii=True, default=str)


class TextFormatter(logging.Formatter):
    """The same fields for a person reading a terminal (LOG_FORMAT=text), with the same withholding."""

    def __init__(self, service: str = "", **_: Any) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or get_request_id()
        where = f"{self.service} {request_id}" if request_id else self.service
        line = f"{_iso_time(record.created)} {record.levelname:<7} {record.name} [{where}] {_message(record)}"
        fields = _exception_fields(record)
        if fields:
            causes = f" (caused by {', '.join(fields['caused_by'])})" if fields.get("caused_by") else ""
            line += f"\n  {fields['exc_type']}{causes}: message withheld"
            line += "".join(f"\n    at {frame}" for frame in fields["stack"])
        return line


def make_formatter(service: str = "", fmt: Optional[str] = None) -> logging.Formatter:
    """The formatter LOG_FORMAT asks for: ``json`` (default) or ``text``; ``fmt`` None reads it through Settings."""
    chosen = fmt if fmt in LOG_FORMATS else _settings().log_format
    return TextFormatter(service) if chosen == "text" else JsonFormatter(service)


# ----------------------------------------------------------------------------------------------------------------
# The handler and the set-up


class PrivateHandler(logging.Handler):
    """Writes each record, filtered by a ``PrivacyFilter`` it always carries, as one line to stderr.

    Deliberately not a ``StreamHandler``: coloredlogs (which Rasa and rasa_sdk install) replaces stream handlers on
    the root logger with its own, and must not find this one.
    """

    def __init__(self, service: str = "", level: Union[int, str] = logging.NOTSET, *,
                 privacy: Optional[PrivacyFilter] = None, formatter: Optional[logging.Formatter] = None,
                 stream: Optional[TextIO] = None, own_loggers: Sequence[str] = OWN_LOGGERS) -> None:
        """Args:
            service: the process's name in every line ("web", "rasa", "action-server").
            privacy: the filter to apply (default: one for LOG_LEVEL and ``own_loggers``).
            formatter: default: the one LOG_FORMAT asks for.
            stream: where to write (default: ``sys.stderr`` at the time of each write).
        """
        super().__init__(_level_number(level) if level else logging.NOTSET)
        self.service = service
        self.privacy = privacy or PrivacyFilter(own_loggers=own_loggers)
        self.addFilter(self.privacy)
        self.setFormatter(formatter or make_formatter(service))
        self._stream = stream

    def filter(self, record: logging.LogRecord) -> bool:
        # The privacy filter runs even if someone replaces this handler's filter list.
        return self.privacy.filter(record) and bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            line = json.dumps({"time": _iso_time(record.created), "level": record.levelname,
                               "logger": record.name, "service": self.service, "message": UNFORMATTABLE})
        stream = self._stream or sys.stderr
        try:
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:
        # logging's default prints the record's message and arguments to stderr; say only that a write failed.
        if logging.raiseExceptions:
            with contextlib.suppress(Exception):
                sys.__stderr__.write(f"logging: could not write a {record.levelname} line of {record.name}\n")


def _writes_to_console(handler: logging.Handler) -> bool:
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return False
    stream = getattr(handler, "stream", None)
    if stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        return True
    try:
        return stream.fileno() in (1, 2)  # type: ignore[union-attr]
    except Exception:  # a StringIO, a closed or a detached stream: not the console
        return False


def _all_loggers() -> List[logging.Logger]:
    loggers = [logging.getLogger()]
    loggers += [item for item in list(logging.Logger.manager.loggerDict.values()) if isinstance(item, logging.Logger)]
    return loggers


def configure_logging(service: str, settings: Optional[Settings] = None, *, level: Union[int, str, None] = None,
                      fmt: Optional[str] = None, own_loggers: Sequence[str] = OWN_LOGGERS,
                      stream: Optional[TextIO] = None) -> PrivateHandler:
    """Send every log line of this process through one ``PrivateHandler`` on stderr; safe to call again.

    Console handlers anyone installed before (``basicConfig``, coloredlogs, Sanic's defaults, an earlier call) are
    removed; other handlers (a log file) keep working but get the privacy filter and our formatter. Warnings are
    logged (as "py.warnings", shown without their text), and records of loggers with no handler go to ours.

    Args:
        service: the process's name in every line ("web", "rasa", "action-server").
        settings: where LOG_LEVEL and LOG_FORMAT come from (default: ``Settings.from_env()``, or the defaults if the
            environment cannot be read).
        level, fmt: override the settings (tests, or before the settings are read).
        own_loggers: the loggers whose texts are ours.
        stream: where to write instead of stderr (tests).

    Returns:
        The handler now on the root logger.
    """
    if settings is None and (level is None or fmt is None):
        settings = _settings()
    level_number = _level_number(level if level is not None else settings.log_level)  # type: ignore[union-attr]
    chosen_format = fmt if fmt is not None else settings.log_format  # type: ignore[union-attr]
    if chosen_format not in LOG_FORMATS:
        chosen_format = "json"
    handler = PrivateHandler(service, privacy=PrivacyFilter(level_number, own_loggers),
                             formatter=make_formatter(service, chosen_format), stream=stream)
    for logger in _all_loggers():
        for existing in list(logger.handlers):
            if isinstance(existing, PrivateHandler) or _writes_to_console(existing):
                logger.removeHandler(existing)
            elif not isinstance(existing, logging.NullHandler):
                if not any(isinstance(f, PrivacyFilter) for f in existing.filters):
                    existing.addFilter(PrivacyFilter(level_number, own_loggers))
                existing.setFormatter(make_formatter(service, chosen_format))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(max(LIBRARY_MIN_LEVEL, level_number))
    for name in own_loggers:
        logging.getLogger(name).setLevel(level_number)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, level_number))
    for name in SANIC_LOGGERS:
        sanic_logger = logging.getLogger(name)
        sanic_logger.addHandler(handler)
        sanic_logger.propagate = False
    logging.lastResort = handler
    logging.captureWarnings(True)
    return handler


RASA_LOGGING_FILE = Path(__file__).with_name("logging_rasa.yml")


def rasa_logging_config(service: str = "rasa") -> Dict[str, Any]:
    """The dictConfig ``bot/logging_rasa.yml`` holds, as a dict (for tests and for ``logging.config`` callers)."""
    import yaml  # PyYAML: only this helper needs it

    config = yaml.safe_load(RASA_LOGGING_FILE.read_text(encoding="utf-8"))
    config["formatters"]["service"]["service"] = service
    config["handlers"]["private"]["service"] = service
    return config
