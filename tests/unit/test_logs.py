"""bot.logs: the JSON lines, the privacy filter, the Rasa logging file and the request ids (issue #10)."""

from __future__ import annotations

import copy
import io
import json
import logging
import logging.config
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator, List

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import logs
from bot.logs import (JsonFormatter, PrivacyFilter, PrivateHandler, TextFormatter, configure_logging,
                      get_request_id, request_id_context, set_request_id)
from bot.web.request_ids import forward_headers, request_id_middleware

SECRET = "my son Tom 07700900123"
SECRET_WORDS = ("Tom", "07700900123")
PROJECT_DIR = Path(__file__).resolve().parents[2]
RASA_LOGGING_FILE = PROJECT_DIR / "bot" / "logging_rasa.yml"


def _all_loggers() -> List[logging.Logger]:
    return [logging.getLogger()] + [item for item in logging.Logger.manager.loggerDict.values()
                                    if isinstance(item, logging.Logger)]


@pytest.fixture(autouse=True)
def isolated_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no handler of ours, every logger at NOTSET and enabled (other modules imported by
    other tests set levels, e.g. channels.telegram quietens httpx), and leaves logging as it found it."""
    loggers = _all_loggers()
    saved_loggers = [(logger, list(logger.handlers), logger.level, logger.propagate, logger.disabled)
                     for logger in loggers]
    saved_handlers = [(handler, list(handler.filters), handler.formatter)
                      for logger in loggers for handler in logger.handlers]
    saved_last_resort, saved_showwarning = logging.lastResort, warnings.showwarning
    # dictConfig closes every handler alive (logging._handlerList), pytest's own too: let it see only ours.
    monkeypatch.setattr(logging, "_handlerList", [])
    for logger in loggers:
        logger.disabled = False
        if logger is not logging.getLogger():
            logger.setLevel(logging.NOTSET)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    token = set_request_id(None)
    try:
        yield
    finally:
        logs.reset_request_id(token)
        known = {id(saved[0]) for saved in saved_loggers}
        for logger in _all_loggers():
            if id(logger) not in known:  # made during the test
                logger.handlers = []
        for logger, handlers, level, propagate, disabled in saved_loggers:
            logger.handlers = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
        for handler, filters, formatter in saved_handlers:
            handler.filters = filters
            handler.setFormatter(formatter)
        logging.captureWarnings(False)
        warnings.showwarning = saved_showwarning
        logging.lastResort = saved_last_resort


def configured(level: str = "INFO", fmt: str = "json") -> io.StringIO:
    out = io.StringIO()
    configure_logging("test", level=level, fmt=fmt, stream=out)
    return out


def lines(out: io.StringIO) -> List[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def _raise_secret() -> None:
    raise ValueError(SECRET)


def _record(name: str, level: int, msg: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


def assert_no_secret(text: str) -> None:
    for word in SECRET_WORDS:
        assert word not in text


# ---------------------------------------------------------------------------------------------------------------
# The JSON line


def test_a_json_line_has_time_level_logger_service_message_and_the_request_id() -> None:
    out = configured()
    with request_id_context("req-12345678"):
        logging.getLogger("bot.web").info("Web chat on port %s", 8080)
    logging.getLogger("bot.web").info("no request")

    first, second = lines(out)
    assert first == {"time": first["time"], "level": "INFO", "logger": "bot.web", "service": "test",
                     "request_id": "req-12345678", "message": "Web chat on port 8080"}
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert "request_id" not in second


def test_an_exception_keeps_its_type_causes_and_frames_but_never_its_message() -> None:
    out = configured()
    try:
        try:
            _raise_secret()
        except ValueError as error:
            raise RuntimeError(f"while handling {SECRET}") from error
    except RuntimeError:
        logging.getLogger("bot.web").exception("the turn failed")

    (line,) = lines(out)
    assert line["message"] == "the turn failed"
    assert line["exc_type"] == "RuntimeError"
    assert line["caused_by"] == ["ValueError"]
    assert any(frame.startswith("tests/unit/test_logs.py:") for frame in line["stack"])
    assert_no_secret(out.getvalue())


@pytest.mark.parametrize("formatter", [JsonFormatter("web"), TextFormatter("web")])
def test_the_formatters_alone_never_print_an_exception_message(formatter: logging.Formatter) -> None:
    try:
        _raise_secret()
    except ValueError:
        record = _record("bot.web", logging.ERROR, "failed", exc_info=sys.exc_info())
    text = formatter.format(record)
    assert "ValueError" in text and "_raise_secret" in text
    assert_no_secret(text)


def test_the_text_format_shows_the_same_fields_for_people() -> None:
    out = configured(fmt="text")
    with request_id_context("req-abcdefgh"):
        try:
            _raise_secret()
        except ValueError:
            logging.getLogger("channels.sms").exception("cannot send")
    text = out.getvalue()
    assert " ERROR " in text and "channels.sms [test req-abcdefgh] cannot send" in text
    assert "ValueError: message withheld" in text and "in _raise_secret" in text
    assert_no_secret(text)


# ---------------------------------------------------------------------------------------------------------------
# The privacy filter


def test_rasa_never_logs_a_user_message_even_at_debug() -> None:
    out = configured(level="DEBUG")
    for name in ("rasa.core.processor", "rasa.nlu.classifiers.diet_classifier", "rasa.shared.core.trackers"):
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).debug("Received user message 'xyz' with intent '{'name': 'greet'}'")
    assert out.getvalue() == ""


def test_the_rest_channels_error_with_the_text_in_its_message_is_withheld() -> None:
    out = configured(level="DEBUG")
    text = f"xyz {SECRET}"
    try:
        {}[text]
    except KeyError:
        logging.getLogger("rasa.core.channels.rest").exception(
            f"An exception occured while handling user message '{text}'.")

    (line,) = lines(out)
    assert line["message"] == "rasa.core.channels.rest ERROR: details withheld (may contain personal data)"
    assert line["exc_type"] == "KeyError"
    assert line["stack"]
    assert "xyz" not in out.getvalue()
    assert_no_secret(out.getvalue())


def test_our_own_info_passes_and_our_debug_only_at_debug() -> None:
    out = configured(level="INFO")
    logging.getLogger("actions.answer").info("answered from %s", "the local offer")
    logging.getLogger("actions.answer").debug("not at INFO")
    assert [line["message"] for line in lines(out)] == ["answered from the local offer"]

    out = configured(level="DEBUG")
    logging.getLogger("actions.answer").debug("at DEBUG")
    assert [line["message"] for line in lines(out)] == ["at DEBUG"]


def test_library_lines_at_info_are_withheld_unless_known_to_be_safe() -> None:
    out = configured(level="DEBUG")
    logging.getLogger("rasa.core.processor").info("Loading model models/send-assistant.tar.gz...")
    logging.getLogger("rasa.core.processor").info("Loading model models/x.tar.gz... for 'xyz'")
    logging.getLogger("telegram.ext.Updater").info("Update {'message': {'chat': {'id': 123456789}}}")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot123:SECRET/sendMessage")
    logging.getLogger("some.new.library").warning("user said %s", "xyz")
    logging.getLogger("httpcore").debug("dropped below INFO")

    messages = [line["message"] for line in lines(out)]
    assert messages == [
        "Loading model models/send-assistant.tar.gz...",
        "rasa.core.processor INFO: details withheld (may contain personal data)",
        "telegram.ext.Updater INFO: details withheld (may contain personal data)",
        "httpx INFO: details withheld (may contain personal data)",
        "some.new.library WARNING: details withheld (may contain personal data)",
    ]


@pytest.mark.parametrize("name", logs.KNOWN_CONTENT_LOGGERS)
def test_every_logger_known_to_echo_content_is_withheld(name: str) -> None:
    out = configured(level="DEBUG")
    logging.getLogger(name).error("chat 123456789 said '%s'", "xyz")
    (line,) = lines(out)
    assert line["message"].endswith("details withheld (may contain personal data)")


def test_an_exception_from_outside_our_code_passed_as_an_argument_is_reduced_to_its_type() -> None:
    from bot.settings import SettingsError

    out = configured()
    logging.getLogger("bot.web").warning("lookup failed: %s", KeyError(SECRET))
    logging.getLogger("bot.web").error("%s", SettingsError("LOG_LEVEL must be one of DEBUG, INFO"))
    first, second = lines(out)
    assert first["message"] == "lookup failed: <KeyError: message withheld>"
    assert second["message"] == "LOG_LEVEL must be one of DEBUG, INFO"  # ours: written to be shown
    assert_no_secret(out.getvalue())


def test_the_aiohttp_access_line_keeps_method_path_status_and_time_but_not_the_query() -> None:
    out = configured()
    logging.getLogger("aiohttp.access").info('"GET /forum/surveys/ehcp-2025?q=Tom HTTP/1.1" 200 0.001234s',
                                             extra={"first_request_line": "GET /forum?q=Tom HTTP/1.1"})
    logging.getLogger("aiohttp.access").info('"POST /api/chat HTTP/1.1" 413 0.000100s')
    assert [line["message"] for line in lines(out)] == ["GET /forum/surveys/ehcp-2025?... 200 0.001234s",
                                                        "POST /api/chat 413 0.000100s"]
    assert_no_secret(out.getvalue())


def test_sanics_access_record_loses_the_clients_address() -> None:
    record = _record("sanic.access", logging.INFO, "")
    record.host, record.request = "203.0.113.9:5123", "GET http://127.0.0.1/conversations/t1/tracker"
    assert PrivacyFilter("INFO").filter(record)
    assert not hasattr(record, "host") and not hasattr(record, "request")
    assert "details withheld" in record.getMessage()


def test_a_warning_is_logged_with_its_category_and_place_only() -> None:
    out = configured()
    warnings.warn(f"slot value {SECRET} is odd", UserWarning)
    (line,) = lines(out)
    assert line["logger"] == "py.warnings"
    assert line["message"].startswith("UserWarning at tests/unit/test_logs.py:")
    assert_no_secret(out.getvalue())


def test_records_of_a_logger_without_handlers_go_through_the_filter_too() -> None:
    out = configured()
    orphan = logging.getLogger("tensorflow.test_orphan")
    orphan.propagate = False
    try:
        orphan.error("tensor for %s", SECRET)
    finally:
        orphan.propagate = True
    (line,) = lines(out)
    assert "details withheld" in line["message"]


def test_the_level_comes_from_settings_and_a_bad_environment_falls_back_to_info(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert PrivacyFilter().level == logging.DEBUG
    monkeypatch.setenv("RASA_PORT", "not a number")  # an unrelated bad setting must not break logging
    assert PrivacyFilter().level == logging.INFO


def test_configure_logging_replaces_console_handlers_and_can_be_called_again() -> None:
    logging.basicConfig(stream=sys.stderr)  # what the web app used to do: an unfiltered console handler
    first = configured()
    out = configured()
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if not type(handler).__module__.startswith("_pytest")]
    assert [type(handler) for handler in ours] == [PrivateHandler]
    logging.getLogger("rasa.core.processor").error("Received '%s'", SECRET)
    assert first.getvalue() == ""
    assert_no_secret(out.getvalue())
    assert "details withheld" in out.getvalue()


def test_a_private_handler_keeps_its_filter_even_if_its_filters_are_replaced() -> None:
    out = io.StringIO()
    handler = PrivateHandler("test", stream=out, privacy=PrivacyFilter("INFO"))
    handler.filters = []  # what coloredlogs does to the handler it installs
    handler.handle(_record("rasa.core.processor", logging.ERROR, "Received user message '%s'", SECRET))
    assert "details withheld" in out.getvalue()
    assert_no_secret(out.getvalue())


# ---------------------------------------------------------------------------------------------------------------
# The Rasa server's logging file


def test_the_rasa_logging_file_configures_the_privacy_filter_and_json(capsys: pytest.CaptureFixture) -> None:
    logging.config.dictConfig(yaml.safe_load(RASA_LOGGING_FILE.read_text(encoding="utf-8")))
    with request_id_context("req-rasa-0001"):
        logging.getLogger("rasa.core.processor").debug("Received user message 'xyz'")
        logging.getLogger("rasa.core.channels.rest").error(f"An exception occured while handling user message "
                                                           f"'{SECRET}'")
        logging.getLogger("root").info("Rasa server is up and running.")
        logging.getLogger().info("Rasa server is up and running.")
        logging.getLogger("channels.telegram").info("Telegram channel is on")
        logging.getLogger("sanic.error").error("Exception occurred while handling uri: 'http://x/%s'", SECRET)

    captured = capsys.readouterr()
    parsed = [json.loads(line) for line in captured.err.splitlines()]
    assert [(line["logger"], line["message"]) for line in parsed] == [
        ("rasa.core.channels.rest", "rasa.core.channels.rest ERROR: details withheld (may contain personal data)"),
        ("root", "Rasa server is up and running."),
        ("root", "Rasa server is up and running."),
        ("channels.telegram", "Telegram channel is on"),
        ("sanic.error", "sanic.error ERROR: details withheld (may contain personal data)"),
    ]
    assert all(line["service"] == "rasa" and line["request_id"] == "req-rasa-0001" for line in parsed)
    assert "xyz" not in captured.err + captured.out
    assert_no_secret(captured.err + captured.out)


def test_rasas_coloredlogs_after_the_logging_file_prints_nothing_of_its_own(capsys: pytest.CaptureFixture) -> None:
    import rasa.utils.io

    logging.config.dictConfig(logs.rasa_logging_config())
    rasa.utils.io.configure_colored_logging(logging.DEBUG)  # what `rasa run --debug` does next
    logging.getLogger("rasa.core.processor").error("Received user message '%s'", SECRET)
    logging.getLogger("rasa.core.processor").info("Loading model models/send-assistant.tar.gz...")

    captured = capsys.readouterr()
    parsed = [json.loads(line) for line in captured.err.splitlines()]  # every line is JSON: no coloredlogs line
    assert [line["message"] for line in parsed] == [
        "rasa.core.processor ERROR: details withheld (may contain personal data)",
        "Loading model models/send-assistant.tar.gz...",
    ]
    assert_no_secret(captured.err + captured.out)


def test_the_rasa_logging_file_does_not_treat_rasas_main_module_as_ours(capsys: pytest.CaptureFixture) -> None:
    logging.config.dictConfig(logs.rasa_logging_config())
    logging.getLogger("__main__").error("Failed for '%s'", SECRET)  # `python -m rasa`: __main__ is Rasa's
    assert_no_secret(capsys.readouterr().err)


# ---------------------------------------------------------------------------------------------------------------
# Request ids in the web app


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({"request_id": get_request_id(), "forward": forward_headers()})


async def _refuse(request: web.Request) -> web.Response:
    raise web.HTTPForbidden(text="no")


@pytest.fixture
async def client() -> Iterator[TestClient]:
    app = web.Application(middlewares=[request_id_middleware])
    app.router.add_get("/echo", _echo)
    app.router.add_get("/refuse", _refuse)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.mark.parametrize("header", [None, "07700900123", "lb-trace_0001", "short", "x" * 65, "has space in it",
                                    "semi;colon12", "ünïcode-id-1"])
async def test_the_public_app_always_makes_its_own_request_id(client: TestClient, header) -> None:
    """A client's X-Request-ID is never taken, however plain: "07700900123" would put a phone number in the logs."""
    response = await client.get("/echo", headers={"X-Request-ID": header} if header else {})
    body = await response.json()
    request_id = response.headers["X-Request-ID"]
    assert request_id != header and len(request_id) == 32 and int(request_id, 16) >= 0
    assert body == {"request_id": request_id, "forward": {"X-Request-ID": request_id}}


async def test_each_request_gets_its_own_id(client: TestClient) -> None:
    first = (await client.get("/echo")).headers["X-Request-ID"]
    second = (await client.get("/echo")).headers["X-Request-ID"]
    assert first != second


async def test_a_refusal_raised_as_an_http_error_carries_the_id_too(client: TestClient) -> None:
    response = await client.get("/refuse")
    assert response.status == 403
    assert len(response.headers["X-Request-ID"]) == 32


def test_outside_a_request_nothing_is_forwarded() -> None:
    assert forward_headers() == {}


# ---------------------------------------------------------------------------------------------------------------
# Request ids in Rasa and the action server


def test_the_rest_channel_keeps_its_name_and_puts_the_request_id_into_the_metadata() -> None:
    from channels.rest import RestInput

    channel = RestInput()
    assert RestInput.name() == "rest" and channel.url_prefix() == "rest"
    request = SimpleNamespace(headers={"X-Request-ID": "web-req-000001"}, json={"metadata": {"evil": SECRET}})
    assert channel.get_metadata(request) == {"request_id": "web-req-000001"}
    set_request_id(None)
    made = channel.get_metadata(SimpleNamespace(headers={"X-Request-ID": "bad id"}, json={}))
    assert set(made) == {"request_id"} and len(made["request_id"]) == 32


def test_the_rest_channel_claims_the_handlers_sanic_installs_when_rasas_api_is_on(
        capsys: pytest.CaptureFixture) -> None:
    import uuid

    from sanic import Sanic

    from channels.rest import RestInput

    from sanic.log import LOGGING_CONFIG_DEFAULTS

    logging.config.dictConfig(logs.rasa_logging_config())
    # What `rasa run --enable-api` builds: Sanic's own handlers on the console (here the test's captured streams).
    sanic_config = copy.deepcopy({key: value for key, value in LOGGING_CONFIG_DEFAULTS.items() if key != "handlers"})
    sanic_config["handlers"] = {name: {**handler, "stream": sys.stderr if name == "error_console" else sys.stdout}
                                for name, handler in LOGGING_CONFIG_DEFAULTS["handlers"].items()}
    Sanic(f"test_logs_{uuid.uuid4().hex}", log_config=sanic_config)
    assert not all(isinstance(h, PrivateHandler) for h in logging.getLogger("sanic.error").handlers)

    async def on_new_message(message) -> None:
        return None

    RestInput().blueprint(on_new_message)  # Rasa registers the channels right after building its app
    for name in logs.SANIC_LOGGERS:
        assert [type(handler) for handler in logging.getLogger(name).handlers] == [PrivateHandler]
    logging.getLogger("sanic.error").error("Exception occurred while handling uri: 'http://x/%s'", SECRET)
    captured = capsys.readouterr()
    assert "sanic.error ERROR: details withheld" in captured.err
    assert_no_secret(captured.err + captured.out)


@pytest.fixture
def action_server():
    """bot.action_server, without leaving its TensorFlow marker in this test process."""
    had_tensorflow = "tensorflow" in sys.modules
    import bot.action_server as module

    yield module
    if not had_tensorflow and sys.modules.get("tensorflow", 0) is None:
        del sys.modules["tensorflow"]


def _action_call(request_id, headers=None, compress=False):
    import zlib

    body = json.dumps({"next_action": "action_answer_question", "sender_id": "t1",
                       "tracker": {"sender_id": "t1", "latest_message": {"text": SECRET,
                                                                         "metadata": {"request_id": request_id}}}})
    data = body.encode()
    headers = dict(headers or {})
    if compress:
        data = zlib.compress(data)
        headers["Content-Encoding"] = "deflate"
    return SimpleNamespace(headers=headers, body=data)


async def test_the_action_server_takes_the_request_id_from_the_tracker(action_server) -> None:
    assert action_server.request_id_of(_action_call("web-req-000001")) == "web-req-000001"
    assert action_server.request_id_of(_action_call("web-req-000002", compress=True)) == "web-req-000002"
    assert action_server.request_id_of(_action_call("x", headers={"X-Request-ID": "hdr-req-00001"})) == \
        "hdr-req-00001"
    assert action_server.request_id_of(_action_call("not valid!")) is None
    assert action_server.request_id_of(SimpleNamespace(headers={}, body=b"not json")) is None
    assert action_server.request_id_of(SimpleNamespace(headers={}, body=b"")) is None

    await action_server.bind_request_id_middleware(_action_call("web-req-000003"))
    assert get_request_id() == "web-req-000003"
    await action_server.bind_request_id_middleware(SimpleNamespace(headers={}, body=b""))
    assert get_request_id() not in (None, "web-req-000003")  # a new id for a call without one, never the last


def test_sanic_takes_its_body_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from sanic.config import Config

    monkeypatch.setenv("SANIC_REQUEST_MAX_SIZE", "65536")
    monkeypatch.setenv("SANIC_ACCESS_LOG", "false")
    config = Config()
    assert config.REQUEST_MAX_SIZE == 65536 and config.ACCESS_LOG is False


def test_every_child_of_the_stack_gets_the_logging_settings_and_rasa_the_logging_file() -> None:
    from bot.settings import Settings
    from bot.stack import Stack

    stack = Stack(settings=Settings(log_level="DEBUG", log_format="text", max_body_bytes=4096))
    env = stack.child_env()
    assert (env["LOG_LEVEL"], env["LOG_FORMAT"], env["SANIC_REQUEST_MAX_SIZE"]) == ("DEBUG", "text", "4096")
    command = stack._rasa_command()
    assert command[command.index("--logging-config-file") + 1] == "bot/logging_rasa.yml"
    assert (PROJECT_DIR / "bot" / "logging_rasa.yml").is_file()
    assert env["SANIC_HOST"] == "127.0.0.1"  # the action server on loopback only
