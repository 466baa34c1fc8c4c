"""Command line: ``python -m bot run`` starts the whole local stack (what ``make run`` calls);
``python -m bot telegram-webhook --url URL`` tells Telegram where to send updates (``make telegram-webhook``);
``python -m bot survey invite --survey ID [--dry-run]`` invites a survey's panel, each member once (``make invite``);
``python -m bot survey update --survey ID [--dry-run]`` sends the survey's "you said, we did" update to the panel
members who took part (``make survey-update``);
``python -m bot export --survey ID --format csv|xlsx|json|html --out PATH`` writes the forum's export (``make export``);
``python -m bot forum add-user NAME`` gives a forum member a dashboard account (``make forum-user``), and
``python -m bot forum remove-user NAME`` deletes it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Awaitable, Callable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from bot.channel_config import (
    TELEGRAM_ALLOWED_UPDATES,
    ChannelConfigError,
    ChannelOff,
    TelegramConfig,
    TwilioConfig,
    channel_hash_key,
    load_channel_texts,
)
from bot.settings import Settings, SettingsError
from bot.stack import DEV_SECRETS_FILE, VAR_DIR, Stack, StackError, with_dev_secrets

logger = logging.getLogger("bot")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

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
    update = survey_commands.add_parser(
        "update", help='send the "you said, we did" update to the panel members who took part (each once)'
    )
    update.add_argument("--survey", required=True, type=_survey_id, help="the survey's id, e.g. strong_voices")
    update.add_argument("--dry-run", action="store_true", help="count who would get it; send nothing")
    export = commands.add_parser("export", help="write a survey's results for the forum (small numbers suppressed)")
    export.add_argument("--survey", required=True, type=_survey_id, help="the survey's id, e.g. parent_carer_forum")
    export.add_argument("--format", required=True, choices=("csv", "xlsx", "json", "html"),
                        help="csv also writes <name>_summary.csv and <name>_dictionary.csv beside the file")
    export.add_argument("--out", required=True, help="the file to write (replaced if it exists)")
    export.add_argument("--from", dest="date_from", type=_day, help="only responses given on or after YYYY-MM-DD")
    export.add_argument("--to", dest="date_to", type=_day, help="only responses given on or before YYYY-MM-DD")
    export.add_argument("--closed-only", action="store_true",
                        help="refuse unless the survey has closed (final figures only)")
    export.add_argument("--threshold", type=_threshold, default=None,
                        help="the smallest count shown (default SUPPRESSION_THRESHOLD, 5)")
    forum = commands.add_parser("forum", help="dashboard accounts")
    forum_commands = forum.add_subparsers(dest="forum_command", required=True)
    add_user = forum_commands.add_parser("add-user", help="create a forum member's account (asks for a password)")
    add_user.add_argument("name", help="the user name: 2-40 lower-case letters, digits, '.', '_' or '-'")
    add_user.add_argument("--password-stdin", action="store_true",
                          help="read the password from the first line of standard input instead of asking")
    add_user.add_argument("--replace", action="store_true", help="set a new password for an existing account")
    remove_user = forum_commands.add_parser("remove-user", help="delete a forum member's account (they are logged out)")
    remove_user.add_argument("name", help="the user name")
    return main_from_args(parser.parse_args(argv))


def _day(value: str) -> date:
    """argparse type: a day as YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _threshold(value: str) -> int:
    """argparse type: the suppression threshold, 2 or more."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 2:
        raise argparse.ArgumentTypeError(f"expected a whole number of 2 or more, got {value!r}")
    return number


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
    if args.command == "survey" and args.survey_command == "update":
        return _survey_update(settings, args.survey, dry_run=args.dry_run)
    if args.command == "export":
        from bot.forum.cli import export

        survey = _find_survey(args.survey)
        return survey if isinstance(survey, int) else export(settings, args, survey)
    if args.command == "forum" and args.forum_command == "add-user":
        from bot.forum.cli import add_user

        return add_user(settings, args.name, password_stdin=args.password_stdin, replace=args.replace)
    if args.command == "forum" and args.forum_command == "remove-user":
        from bot.forum.cli import remove_user

        return remove_user(settings, args.name)
    return EXIT_USAGE


def _load_surveys() -> List[Any]:
    """Every survey defined in data/surveys (imported here, so other commands do not load the definitions)."""
    from bot.surveys.definitions import load_surveys

    surveys = load_surveys()
    return list(surveys.values() if isinstance(surveys, Mapping) else surveys)


def _survey_today() -> date:
    """Today in Coventry, the day survey dates are counted in."""
    from bot.surveys.definitions import survey_today

    return survey_today()


def _find_survey(survey_id: str) -> Any:
    """The survey with ``survey_id``, or the exit code after one line saying what is wrong."""
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
    return survey


@dataclass(frozen=True)
class _PanelJob:
    """What messaging a survey's panel needs, checked before anything is read from Redis or sent."""

    survey: Any
    settings: Settings
    twilio: "TwilioConfig | ChannelOff"
    telegram: "TelegramConfig | ChannelOff"
    texts: Any  # the invitation texts (for the Telegram button)
    hash_key: bytes  # CHANNEL_HASH_KEY: opt-outs are stored under it
    panel: Any

    @property
    def channels(self) -> List[str]:
        return [name for name, config in (("sms", self.twilio), ("telegram", self.telegram))
                if not isinstance(config, ChannelOff)]


def _prepare_panel_job(settings: Settings, survey_id: str, refused: str,
                       check: Callable[[Any, Settings], Any] = lambda survey, settings: None) -> "_PanelJob | int":
    """The job for ``survey_id``, or the exit code after one line saying what is wrong (``refused``: its start)."""
    from bot.surveys.invite import InviteError, load_invitation_texts
    from bot.surveys.panel import PanelStore

    survey = _find_survey(survey_id)
    if isinstance(survey, int):
        return survey
    if (not settings.privacy_key or not settings.panel_key) and (VAR_DIR / DEV_SECRETS_FILE).exists():
        # On a developer's machine `make run` keeps the keys in var/: use the same ones, or no member would match.
        settings = with_dev_secrets(settings)
    twilio = TwilioConfig.from_env(os.environ)
    telegram = TelegramConfig.from_env(os.environ)
    try:
        check(survey, settings)
        texts = load_invitation_texts()
        if isinstance(twilio, ChannelOff) and isinstance(telegram, ChannelOff):
            raise InviteError(f"no channel is on ({twilio.reason}; {telegram.reason})")
        job = _PanelJob(survey, settings, twilio, telegram, texts, channel_hash_key(os.environ),
                        PanelStore.from_settings(settings))
    except (InviteError, SettingsError, ChannelConfigError) as error:
        print(f"{refused}: {error}", file=sys.stderr)
        return EXIT_USAGE
    for config in (twilio, telegram):
        if isinstance(config, ChannelOff):
            print(f"{config.reason}; its panel members are skipped")
    return job


def _run_panel_job(job: _PanelJob, work: Callable[..., Awaitable[Any]], *, refused: str, done: str,
                   dry_run: bool) -> int:
    """Run ``work(job, state, stack, twilio=..., telegram_bot=...)`` with the channels open, print the one-line
    summary it returns, and turn its failures into exit codes.

    Returns:
        2 for a usage problem found on the way, 1 when Redis or Telegram fails (what was sent stays claimed, so
        running again skips it), 0 otherwise (failed sends are in the report, and the next run retries them).
    """
    from telegram.error import TelegramError  # here, so other commands do not load python-telegram-bot

    from bot.channel_state import ChannelStateUnavailable
    from bot.surveys.invite import InviteError
    from bot.surveys.store import SurveyStoreError, SurveyStoreUnavailable

    try:
        summary = asyncio.run(_with_channels(job, work, dry_run))
    except InviteError as error:
        print(f"{refused}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (SurveyStoreUnavailable, ChannelStateUnavailable):
        print(f"Redis is not available at {job.settings.redis.where}: start it (make run) or set REDIS_URL, then "
              f"run again (members already {done} are skipped)", file=sys.stderr)
        return EXIT_FAILED
    except SurveyStoreError as error:
        print(f"Redis refused: {error}", file=sys.stderr)
        return EXIT_FAILED
    except TelegramError as error:
        print(f"Telegram refused: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(summary)
    return EXIT_OK


async def _with_channels(job: _PanelJob, work: Callable[..., Awaitable[Any]], dry_run: bool) -> Any:
    """Open the opt-out store and the senders (none in a dry run), run ``work``, and close everything."""
    from contextlib import AsyncExitStack

    from bot.channel_state import ChannelState
    from bot.twilio_messages import TwilioMessages

    async with AsyncExitStack() as stack:
        stack.push_async_callback(job.panel.close)
        state = ChannelState.from_url(job.settings.redis_url, job.hash_key)
        stack.push_async_callback(state.close)
        sms = None
        bot = None
        if not dry_run and isinstance(job.twilio, TwilioConfig):
            sms = TwilioMessages(job.twilio)
            stack.push_async_callback(sms.close)
        if not dry_run and isinstance(job.telegram, TelegramConfig):
            from telegram import Bot

            logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs request URLs, which contain the token
            # Entering the Bot calls getMe: a wrong token fails here, before anyone is claimed.
            bot = await stack.enter_async_context(Bot(job.telegram.token, base_url=job.telegram.bot_base_url))
        return await work(job, state, stack, twilio=sms, telegram_bot=bot)


def _survey_invite(settings: Settings, survey_id: str, *, dry_run: bool) -> int:
    """Invite the panel of one survey and print the report (exit codes: ``_run_panel_job``; 2 for a survey that
    is closed or not open yet)."""
    from bot.surveys.invite import check_open

    job = _prepare_panel_job(settings, survey_id, "Cannot invite",
                             lambda survey, _: check_open(survey, _survey_today()))
    if isinstance(job, int):
        return job
    return _run_panel_job(job, functools.partial(_invite, dry_run=dry_run), refused="Cannot invite",
                          done="invited", dry_run=dry_run)


async def _invite(job: _PanelJob, state: Any, stack: Any, *, dry_run: bool, **senders: Any) -> str:
    from bot.surveys.invite import InvitationSender, invite_panel

    sender = InvitationSender(job.survey.id, job.texts, **senders)
    report = await invite_panel(job.survey, job.panel, is_opted_out=state.is_opted_out, send=sender.send,
                                rate_per_second=job.settings.invite_rate_per_second, today=_survey_today(),
                                texts=job.texts, channels=job.channels, dry_run=dry_run)
    return f"Survey {job.survey.id}: {report.summary()}"


def _survey_update(settings: Settings, survey_id: str, *, dry_run: bool) -> int:
    """Send the survey's "you said, we did" update to the panel members who completed it, and print the report
    (exit codes: ``_run_panel_job``; 2 when no update has been written yet)."""
    from bot.surveys.invite import load_update_texts

    job = _prepare_panel_job(settings, survey_id, "Cannot send the update",
                             lambda survey, keys: (load_update_texts(), keys.require_privacy_key()))
    if isinstance(job, int):
        return job
    return _run_panel_job(job, functools.partial(_send_update, dry_run=dry_run), refused="Cannot send the update",
                          done="sent the update", dry_run=dry_run)


async def _send_update(job: _PanelJob, state: Any, stack: Any, *, dry_run: bool, **senders: Any) -> str:
    """Find the update and send it to the members who completed the survey."""
    from bot.channel_state import sender_id
    from bot.forum.updates import UpdateStore
    from bot.privacy.hashing import respondent_id
    from bot.surveys.invite import InvitationSender, InviteError, load_update_texts, send_update
    from bot.surveys.store import SurveyStore, redis_client

    survey, privacy_key = job.survey, job.settings.require_privacy_key()
    client = redis_client(job.settings.redis_url)
    stack.push_async_callback(client.close)
    update = await UpdateStore(client).get(survey.id)
    if update is None:
        raise InviteError(f"survey {survey.id!r} has no \"you said, we did\" update yet: a forum member writes it on "
                          "the dashboard (/forum)")
    store = SurveyStore.from_settings(job.settings)
    stack.push_async_callback(store.close)

    async def took_part(member: Any) -> bool:
        # Worked out here, from the member's contact, and never stored: nothing in Redis links the two.
        person = respondent_id(privacy_key, survey.id, sender_id(job.hash_key, member.channel, member.contact))
        return await store.response(survey.id, person) is not None

    sender = InvitationSender(survey.id, job.texts, offer=False, **senders)
    report = await send_update(survey, update, job.panel, took_part=took_part, is_opted_out=state.is_opted_out,
                               send=sender.send, rate_per_second=job.settings.invite_rate_per_second,
                               texts=load_update_texts(), channels=job.channels, dry_run=dry_run)
    return f"Survey {survey.id} update: {report.summary()}"


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
    from bot.supervisor import STEP_INTERVAL_SECONDS, Supervisor

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
    # A service that dies is started again (1 s, 2 s, 4 s … 30 s apart); only Ctrl-C or SIGTERM stops the stack.
    supervisor = Supervisor(stack)
    try:
        while not stopping:
            supervisor.step()
            time.sleep(STEP_INTERVAL_SECONDS)
    finally:
        stack.stop()
    return EXIT_OK
