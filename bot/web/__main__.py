"""Run the web chat page: ``python -m bot.web``.

Settings come from the environment (``WEB_HOST``, ``WEB_PORT``, ``RASA_URL``, ...; see ``bot.settings``).
"""

from __future__ import annotations

import logging
from typing import Mapping, Optional

from aiohttp import web

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError
from bot.web.app import create_app

logger = logging.getLogger("bot.web")

SERVICE = "web"
# aiohttp's default access line starts with the client's IP address; families' addresses are not ours to keep, so
# log only the request line, the status and the time taken. The line goes through bot.logs like every other one,
# which shows it without its query string.
ACCESS_LOG_FORMAT = '"%r" %s %Tfs'


def main(environ: Optional[Mapping[str, str]] = None) -> None:
    """Read the settings and serve the chat page until interrupted.

    Args:
        environ: the environment to read settings from; ``None`` means ``os.environ`` (tests pass a dict).

    Raises:
        SystemExit: a setting is unusable; the message names the variable, and the exit code is 2.
    """
    # JSON at INFO until the settings are read, so a bad setting is reported like every other line.
    configure_logging(SERVICE, level="INFO", fmt="json")
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        logger.error("%s", error)
        raise SystemExit(2) from error
    configure_logging(SERVICE, settings)
    app = create_app(settings)
    logger.info("Web chat on http://%s:%s/ (Rasa at %s)", settings.web_host, settings.web_port, settings.rasa_url)
    # print=None: our line above replaces aiohttp's "Running on ..." banner, so the log has one line, not three.
    web.run_app(
        app,
        host=settings.web_host,
        port=settings.web_port,
        print=None,
        access_log_format=ACCESS_LOG_FORMAT,
    )


if __name__ == "__main__":
    main()
