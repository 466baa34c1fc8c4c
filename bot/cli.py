"""Command line: ``python -m bot run`` starts the whole local stack (what ``make run`` calls);
``python -m bot telegram-webhook --url URL`` tells Telegram where to send updates (``make telegram-webhook``);
``python -m bot survey invite --survey ID [--dry-run]`` invites a survey's panel, each member once (``make invite``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sys
import time
from datetime import date, datetime
from typing import Any, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.channel_config import (
    TELEGRAM_ALLOWED_UPDATES,
    ChannelConfigError,
    ChannelOff,
    TelegramConfig,
    TwilioConfig,
    channel_hash_key,
    load_channel_texts,
)
from bot.settings import RedisAddress, Settings, SettingsError
from bot.stack import DEV_SECRETS_FILE, VAR_DIR, Stack, StackError, with_dev_secrets

logger = logging.getLogger("bot")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# Survey dates are Coventry's: a survey that closes on the 31st is open until midnight in the UK.
SURVEY_TIMEZONE = ZoneInfo("Europe/London")
SURVEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


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
    survey = commands.add_parser("survey", help="survey tasks")
    survey_commands = survey.add_subparsers(dest="survey_command", required=True)
    invite = survey_commands.add_parser(
        "invite", help="invite the survey's panel by SMS and Telegram (each member once; safe to run again)"
    )
    invite.add_argument("--survey", required=True, type=_survey_id, help="the survey's id, e.g. strong_voices")
    invite.add_argument("--dry-run", action="store_true",
                        help="count who would be invited; send nothing and record nothing")
    return main_from_args(parser.parse_args(argv))


def _survey_id(value: str) -> str:
    """argparse type: a survey id is letters, digits, '_', '.' and '-' (it is part of Redis keys)."""
    if not SURVEY_ID_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"expected a survey id such as strong_voices, got {value!r}")
    return value


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
    if args.command == "survey" and args.survey_command == "invite":
        return _survey_invite(settings, args.survey, dry_run=args.dry_run)
    return EXIT_USAGE


def _load_surveys() -> List[Any]:
    """Every survey defined in data/surveys (imported here, so other commands do not load the definitions)."""
    from bot.surveys.definitions import load_surveys

    surveys = load_surveys()
    return list(surveys.values() if isinstance(surveys, Mapping) else surveys)


def _survey_today() -> date:
    """Today in Coventry, the day survey dates are counted in."""
    return datetime.now(SURVEY_TIMEZONE).date()


def _survey_invite(settings: Settings, survey_id: str, *, dry_run: bool) -> int:
    """Invite the panel of one survey and print the report.

    Returns:
        2 for an unknown, closed or not yet open survey or a configuration error, 1 when Redis or Telegram fails,
        0 otherwise (failed sends are in the report, and the next run retries them).
    """
    from telegram.error import TelegramError  # here, so other commands do not load python-telegram-bot

    from bot.channel_state import ChannelStateUnavailable
    from bot.surveys.invite import InviteError, check_open, load_invitation_texts
    from bot.surveys.panel import PanelStore
    from bot.surveys.store import SurveyStoreError, SurveyStoreUnavailable

    try:
        surveys = _load_surveys()
    except (OSError, ValueError) as error:
        print(f"Could not read the survey definitions: {error}", file=sys.stderr)
        return EXIT_USAGE
    survey = next((s for s in surveys if s.id == survey_id), None)
    if survey is None:
        known = ", ".join(sorted(s.id for s in surveys)) or "none"
        print(f"Unknown survey {survey_id!r} (known: {known})", file=sys.stderr)
        return EXIT_USAGE
    if (not settings.privacy_key or not settings.panel_key) and (VAR_DIR / DEV_SECRETS_FILE).exists():
        # On a developer's machine `make run` keeps the keys in var/: use the same ones, or no member would match.
        settings = with_dev_secrets(settings)
    twilio = TwilioConfig.from_env(os.environ)
    telegram = TelegramConfig.from_env(os.environ)
    try:
        check_open(survey, _survey_today())
        texts = load_invitation_texts()
        if isinstance(twilio, ChannelOff) and isinstance(telegram, ChannelOff):
            raise InviteError(f"no channel is on ({twilio.reason}; {telegram.reason})")
        hash_key = channel_hash_key(os.environ)  # opt-outs are stored under it
        panel = PanelStore.from_settings(settings)
    except (InviteError, SettingsError, ChannelConfigError) as error:
        print(f"Cannot invite: {error}", file=sys.stderr)
        return EXIT_USAGE
    for config in (twilio, telegram):
        if isinstance(config, ChannelOff):
            print(f"{config.reason}; its panel members are skipped")
    try:
        report = asyncio.run(_invite(settings, survey, panel, texts, twilio, telegram, hash_key, dry_run))
    except InviteError as error:
        print(f"Cannot invite: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (SurveyStoreUnavailable, ChannelStateUnavailable):
        print(f"Redis is not available at {_redis_where(settings)}: start it (make run) or set REDIS_URL, then run "
              "again (members already invited are skipped)", file=sys.stderr)
        return EXIT_FAILED
    except SurveyStoreError as error:
        print(f"Redis refused: {error}", file=sys.stderr)
        return EXIT_FAILED
    except TelegramError as error:
        print(f"Telegram refused: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Survey {survey.id}: {report.summary()}")
    return EXIT_OK


def _redis_where(settings: Settings) -> str:
    """host:port of REDIS_URL, never its password."""
    address = RedisAddress.from_url(settings.redis_url)
    return f"{address.host}:{address.port}"


async def _invite(settings: Settings, survey: Any, panel: Any, texts: Any, twilio: "TwilioConfig | ChannelOff",
                  telegram: "TelegramConfig | ChannelOff", hash_key: bytes, dry_run: bool) -> Any:
    """Open the senders and the opt-out store, run the invite, and close everything whatever happens."""
    from contextlib import AsyncExitStack

    from bot.channel_state import ChannelState
    from bot.surveys.invite import InvitationSender, invite_panel
    from bot.twilio_messages import TwilioMessages

    async with AsyncExitStack() as stack:
        stack.push_async_callback(panel.close)
        state = ChannelState.from_url(settings.redis_url, hash_key)
        stack.push_async_callback(state.close)
        sms = None
        bot = None
        if not dry_run and isinstance(twilio, TwilioConfig):
            sms = TwilioMessages(twilio)
            stack.push_async_callback(sms.close)
        if not dry_run and isinstance(telegram, TelegramConfig):
            from telegram import Bot

            logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs request URLs, which contain the token
            # Entering the Bot calls getMe: a wrong token fails here, before anyone is claimed.
            bot = await stack.enter_async_context(Bot(telegram.token, base_url=telegram.bot_base_url))
        sender = InvitationSender(survey.id, texts, twilio=sms, telegram_bot=bot)
        channels = [name for name, config in (("sms", twilio), ("telegram", telegram))
                    if not isinstance(config, ChannelOff)]
        return await invite_panel(survey, panel, is_opted_out=state.is_opted_out, send=sender.send,
                                  rate_per_second=settings.invite_rate_per_second, today=_survey_today(),
                                  texts=texts, channels=channels, dry_run=dry_run)


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
    stack = Stack(with_dev_secrets(settings))
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
