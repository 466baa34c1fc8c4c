"""Command line: ``python -m bot run`` starts the whole local stack (what ``make run`` calls);
``python -m bot telegram-webhook --url URL`` tells Telegram where to send updates (``make telegram-webhook``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from typing import List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from bot.channel_config import (
    TELEGRAM_ALLOWED_UPDATES,
    ChannelConfigError,
    ChannelOff,
    TelegramConfig,
    load_channel_texts,
)
from bot.settings import Settings, SettingsError
from bot.stack import VAR_DIR, Stack, StackError

logger = logging.getLogger("bot")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def main(argv: Optional[List[str]] = None) -> int:
    """Parse the arguments and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start Redis, the action server, the Rasa server and the web app; Ctrl-C stops all")
    webhook = commands.add_parser(
        "telegram-webhook", help="register the Telegram webhook (with TELEGRAM_SECRET_TOKEN) and the command menu"
    )
    webhook.add_argument("--url", required=True, type=_https_url,
                         help="the public HTTPS address of /webhooks/telegram/webhook")
    return main_from_args(parser.parse_args(argv))


def _https_url(value: str) -> str:
    """argparse type: Telegram only calls HTTPS webhooks."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"expected the public https:// address of /webhooks/telegram/webhook, got {value!r}"
        )
    return value


def main_from_args(args: argparse.Namespace) -> int:
    """Do the work of a parsed command line; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        return _run(settings)
    if args.command == "telegram-webhook":
        return _telegram_webhook(args.url)
    return EXIT_USAGE


def _telegram_webhook(url: str) -> int:
    """Point Telegram at ``url`` with our secret token, and publish the command menu."""
    from telegram.error import TelegramError  # here, so `make run` does not load python-telegram-bot for nothing

    config = TelegramConfig.from_env(os.environ)
    if isinstance(config, ChannelOff):
        print(config.reason, file=sys.stderr)
        return EXIT_USAGE
    try:
        commands = load_channel_texts().telegram.commands
        asyncio.run(_register_telegram(config, url, commands))
    except ChannelConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except TelegramError as error:
        print(f"Telegram refused: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Telegram will send updates to {url} (with the secret token); commands: "
          f"{', '.join('/' + name for name, _ in commands)}")
    return EXIT_OK


async def _register_telegram(config: TelegramConfig, url: str, commands: Sequence[Tuple[str, str]]) -> None:
    from telegram import Bot, BotCommand

    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs request URLs, which contain the bot token
    # Entering the Bot calls getMe, so a wrong token fails here with a clear message before anything is changed.
    async with Bot(config.token, base_url=config.bot_base_url) as bot:
        await bot.set_webhook(url, secret_token=config.secret_token, allowed_updates=list(TELEGRAM_ALLOWED_UPDATES))
        await bot.set_my_commands([BotCommand(name, description) for name, description in commands])


def _run(settings: Settings) -> int:
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # Ctrl-C reaches only us (each service has its own process group): we stop them in order.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    stack = Stack(settings)
    try:
        stack.start(redis_dir=VAR_DIR / "redis")
    except StackError as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"\n  The chat is ready: open {stack.web_url}  (Ctrl-C stops everything)\n", flush=True)
    code = EXIT_OK
    try:
        while not stopping:
            exited = stack.first_exited()
            if exited:
                logger.error("%s stopped unexpectedly (exit code %s); stopping the rest", exited.name,
                             exited.process.returncode)
                code = EXIT_FAILED
                break
            time.sleep(0.5)
    finally:
        stack.stop()
    return code
