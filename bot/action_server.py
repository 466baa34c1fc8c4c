"""Run the action server: ``python -m bot.action_server --actions actions`` (what ``make run`` starts).

It is rasa_sdk's own server, started without TensorFlow. The actions need none, but the redactor loads spaCy, and
spaCy's thinc imports TensorFlow only to see whether it is there: 450 MB and 3 s for each action server process. Marking
it absent before anything imports it makes thinc carry on without it (its import is wrapped in ``except
ImportError``). The Rasa server, which needs TensorFlow, is a separate process and is not affected.

It is started here rather than through rasa_sdk's ``__main__`` for its logging: that one installs coloredlogs, which
prints every library line as it is, including rasa_sdk's own about the actions it runs and why they failed. Here the
process logs through ``bot.logs`` like the others, and each request takes the turn's request id from the tracker Rasa
posts (``latest_message.metadata.request_id``; an ``X-Request-ID`` header wins), so an action's lines can be put
beside Rasa's and the web app's. rasa_sdk's command line is kept (``--actions``, ``--port``, ``--cors``, TLS);
its logging options (``-v``, ``--debug``, ``--log-file``, ``--logging-config-file``) are accepted and ignored:
LOG_LEVEL and LOG_FORMAT decide, as everywhere else.
"""

from __future__ import annotations

import sys

# None in sys.modules makes `import tensorflow` raise ImportError, the way a missing package does.
sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]

import json  # noqa: E402  (after the TensorFlow marker, like every import below)
import logging  # noqa: E402
import zlib  # noqa: E402
from typing import Any, List, Optional  # noqa: E402

import pluggy  # noqa: E402
from sanic import Sanic  # noqa: E402
from sanic.config import DEFAULT_CONFIG  # noqa: E402
from sanic.request import Request  # noqa: E402

from bot.logs import REQUEST_ID_HEADER, REQUEST_ID_METADATA, bind_request_id, configure_logging  # noqa: E402
from bot.logs import valid_request_id  # noqa: E402
from bot.settings import Settings, SettingsError  # noqa: E402

logger = logging.getLogger("bot.action_server")

SERVICE = "action-server"
# SANIC_REQUEST_MAX_SIZE (MAX_BODY_BYTES) is for the public Rasa server and reaches this process too; but what Rasa
# posts here is the whole tracker (every event of the conversation) and often the domain, which outgrow a chat
# message's limit in a long conversation. Only Rasa calls this server, so it keeps Sanic's own limit.
ACTION_CALL_MAX_BYTES = int(DEFAULT_CONFIG["REQUEST_MAX_SIZE"])  # type: ignore[arg-type]

hookimpl = pluggy.HookimplMarker("rasa_sdk")


def request_id_of(request: Request) -> Optional[str]:
    """The request id of an action call: a valid ``X-Request-ID`` header, else the tracker's latest message's.

    Never raises: a body that is not an action call just has no request id.
    """
    header = valid_request_id(request.headers.get(REQUEST_ID_HEADER))
    if header:
        return header
    try:
        body = request.body
        if not body:
            return None
        if request.headers.get("Content-Encoding") == "deflate":
            body = zlib.decompress(body)
        call: Any = json.loads(body)
        return valid_request_id(call["tracker"]["latest_message"]["metadata"][REQUEST_ID_METADATA])
    except (ValueError, TypeError, KeyError, IndexError, zlib.error):
        return None


async def bind_request_id_middleware(request: Request) -> None:
    """Make the call's request id (or a new one, so one call's lines still belong together) the current one.

    Sanic serves the requests of one connection in one task, so it is bound anew for every request.
    """
    bind_request_id(request_id_of(request))


class Extensions:
    """What this server adds to rasa_sdk's Sanic app, through rasa_sdk's own plugin hook."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.register_middleware(bind_request_id_middleware, "request")
        # Sanic's access record holds the client's address and the URL; Rasa is the only client.
        app.config.ACCESS_LOG = False
        app.config.REQUEST_MAX_SIZE = ACTION_CALL_MAX_BYTES


def main(argv: Optional[List[str]] = None) -> None:
    """Parse rasa_sdk's command line, set up our logging and serve the actions until stopped.

    Raises:
        SystemExit: a setting is unusable (code 2), or the command line is (argparse's code 2).
    """
    from rasa_sdk.endpoint import create_argument_parser, run
    from rasa_sdk.plugin import plugin_manager

    args = create_argument_parser().parse_args(argv)
    configure_logging(SERVICE, level="INFO", fmt="json")  # until the settings are read, so their error is logged
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        logger.error("%s", error)
        raise SystemExit(2) from error
    configure_logging(SERVICE, settings)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # as rasa_sdk's own start does
    plugin_manager().register(Extensions())
    run(args.actions, args.port, args.cors, args.ssl_certificate, args.ssl_keyfile, args.ssl_password,
        args.auto_reload)


if __name__ == "__main__":
    main()
