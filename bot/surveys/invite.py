"""Inviting a survey's panel: each member once, by SMS or Telegram, at a gentle pace (``python -m bot survey invite``).

For each member of the survey's panel the invite skips anyone who has opted out (SMS STOP, Telegram /stop), then
*claims* the invitation in Redis before sending, so a second run, or two runs at once, never texts anyone twice; a
send that fails releases the claim, so the next run tries that member again. Sends are paced to at most
``rate_per_second`` (INVITE_RATE_PER_SECOND), measured on the monotonic clock: a slow send is not followed by a
needless pause.

The texts are data (``data/surveys/invitations.yml``), for the forum to word. Telegram's invitation carries a "Take
part" button whose callback data is ``/survey_offer{"survey":"<id>"}`` (Telegram allows 64 bytes).

Errors::

    InviteError
    ├── SurveyNotOpen            the survey is closed, or not open yet, on the day of the run
    └── InvitationTextsError     invitations.yml is unreadable, lacks a text, or has an unknown placeholder

plus ``SurveyStoreUnavailable`` (the panel's Redis) and whatever ``is_opted_out`` raises (``ChannelStateUnavailable``),
which end the run; everything already sent stays claimed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Collection, Dict, FrozenSet, Mapping, Optional

import yaml

from bot.surveys.definitions import offer_payload
from bot.surveys.panel import SMS, TELEGRAM, PanelStore
from bot.surveys.store import INVITED, UPDATED
from bot.twilio_messages import TwilioMessages

logger = logging.getLogger(__name__)

INVITATIONS_FILE = Path(__file__).resolve().parent.parent.parent / "data" / "surveys" / "invitations.yml"
MAX_CALLBACK_DATA_BYTES = 64  # Telegram's limit for an inline button's callback_data
PLACEHOLDERS = ("title", "closes", "keyword")
CHANNELS = (SMS, TELEGRAM)
# Telegram asks us to slow down with RetryAfter; we wait that long once, then count the member as failed.
MAX_TELEGRAM_WAIT_SECONDS = 60.0


class InviteError(RuntimeError):
    """The invitations cannot be sent."""


class SurveyNotOpen(InviteError):
    """The survey is closed, or not open yet: inviting people to it would waste their time."""


class InvitationTextsError(InviteError):
    """``invitations.yml`` is unreadable or incomplete."""


@dataclass(frozen=True)
class InvitationTexts:
    """The invitation templates, as in ``data/surveys/invitations.yml``."""

    sms: str  # the text message (GSM-7), with {title}, {closes}, {keyword}
    telegram: str  # the Telegram message, with the same placeholders
    telegram_button: str  # the label of the button that starts the survey


@dataclass
class InviteReport:
    """What one run did (in a dry run: what it would have done)."""

    sent: int = 0  # invitations sent now (dry run: that would be sent)
    already_invited: int = 0  # members this survey invited before
    opted_out: int = 0  # members who asked for no more messages
    failed: int = 0  # sends that failed; released, so the next run tries them again
    channel_off: int = 0  # members on a channel whose secrets are not set here
    did_not_take_part: int = 0  # an update: members who did not complete the survey
    dry_run: bool = False  # nothing was sent or claimed

    def summary(self) -> str:
        """One line for the CLI."""
        sent = "would send" if self.dry_run else "sent"
        line = (f"{sent} {self.sent}, already invited {self.already_invited}, opted out {self.opted_out}, "
                f"failed {self.failed}")
        if self.channel_off:
            line += f", on a channel that is off {self.channel_off}"
        if self.did_not_take_part:
            line += f", did not take part {self.did_not_take_part}"
        if self.failed and not self.dry_run:
            line += " (run again to retry the failed ones)"
        return line


def load_invitation_texts(path: Path = INVITATIONS_FILE) -> InvitationTexts:
    """Read and check the invitation templates.

    Raises:
        InvitationTextsError: the file is missing or not YAML, a text is missing, or a template uses a placeholder
            other than {title}, {closes} and {keyword}.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise InvitationTextsError(f"cannot read {path}: {error}") from error
    telegram = data.get("telegram") if isinstance(data, dict) else None
    telegram = telegram if isinstance(telegram, dict) else {}
    texts = {"sms": data.get("sms") if isinstance(data, dict) else None, "telegram": telegram.get("text"),
             "telegram_button": telegram.get("button")}
    for name, value in texts.items():
        if not isinstance(value, str) or not value.strip():
            raise InvitationTextsError(f"{path}: {name.replace('_', '.')} must be a non-empty text")
    for name in ("sms", "telegram"):
        try:
            texts[name].format(**{placeholder: "" for placeholder in PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as error:
            raise InvitationTextsError(f"{path}: {name} has a bad placeholder ({error}); use "
                                       f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}") from error
    return InvitationTexts(sms=texts["sms"].strip(), telegram=texts["telegram"].strip(),
                           telegram_button=texts["telegram_button"].strip())


@dataclass(frozen=True)
class UpdateTexts:
    """The "you said, we did" templates, as in ``data/surveys/invitations.yml`` under ``update``."""

    sms: str  # with {title} and {update}
    telegram: str


UPDATE_PLACEHOLDERS = ("title", "update")
# A forum member may type curly quotes or long dashes; by SMS each would double the cost of every text.
GSM_REPLACEMENTS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                                  "\u2014": "-", "\u2026": "...", "\u00a0": " "})


def load_update_texts(path: Path = INVITATIONS_FILE) -> UpdateTexts:
    """Read and check the update templates.

    Raises:
        InvitationTextsError: the ``update`` texts are missing or use a placeholder other than {title}, {update}.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise InvitationTextsError(f"cannot read {path}: {error}") from error
    update = data.get("update") if isinstance(data, dict) else None
    update = update if isinstance(update, dict) else {}
    texts = {}
    for name in ("sms", "telegram"):
        value = update.get(name)
        if not isinstance(value, str) or "{update}" not in value:
            raise InvitationTextsError(f"{path}: update.{name} must be a text with {{update}} in it")
        try:
            value.format(**{placeholder: "" for placeholder in UPDATE_PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as error:
            raise InvitationTextsError(f"{path}: update.{name} has a bad placeholder ({error})") from error
        texts[name] = value.strip()
    return UpdateTexts(**texts)


def render_update(survey: Any, update: Any, channel: str, texts: UpdateTexts) -> str:
    """The update's message for one channel; by SMS, typographic punctuation becomes plain (GSM-7)."""
    if channel not in CHANNELS:
        raise ValueError(f"no update text for channel {channel!r}")
    body = update.text.strip()
    if channel == SMS:
        body = body.translate(GSM_REPLACEMENTS)
        return texts.sms.format(title=survey.title, update=body)
    return texts.telegram.format(title=survey.title, update=body)


def update_version(update: Any) -> str:
    """A short fingerprint of the update's words and day: a reworded update is sent again, the same one never."""
    import hashlib

    return hashlib.sha256(f"{update.written.isoformat()}\n{update.text.strip()}".encode("utf-8")).hexdigest()[:12]


def offer_callback_data(survey_id: str) -> str:
    """The Telegram button's callback data: ``/survey_offer{"survey":"<id>"}``, the intent the assistant handles.

    Raises:
        InviteError: it would be longer than Telegram's 64 bytes (a survey id over 38 characters).
    """
    data = offer_payload(survey_id)
    if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
        raise InviteError(f"survey id {survey_id!r} is too long for a Telegram button (callback data over "
                          f"{MAX_CALLBACK_DATA_BYTES} bytes)")
    return data


def format_day(day: date) -> str:
    """A day as families write it: "31 January" (the year is plain from context)."""
    return f"{day.day} {day:%B}"


def render_invitation(survey: Any, channel: str, texts: InvitationTexts) -> str:
    """The invitation text for one channel, filled in for the survey.

    Raises:
        ValueError: an unknown channel.
    """
    if channel not in CHANNELS:
        raise ValueError(f"no invitation text for channel {channel!r}")
    template = texts.sms if channel == SMS else texts.telegram
    return template.format(title=survey.title, closes=format_day(survey.closes), keyword=survey.keyword)


def check_open(survey: Any, today: date) -> None:
    """Refuse a survey that is not open on ``today``.

    Raises:
        SurveyNotOpen: with a sentence saying when it ran or will run.
    """
    if today > survey.closes:
        raise SurveyNotOpen(f"survey {survey.id!r} closed on {survey.closes.isoformat()}; nobody is invited to a "
                            "closed survey")
    if today < survey.opens:
        raise SurveyNotOpen(f"survey {survey.id!r} opens on {survey.opens.isoformat()}; invite on or after that day")


class _Pacer:
    """At most ``rate`` sends per second: waits only for what is left of each interval (monotonic clock)."""

    def __init__(self, rate_per_second: float) -> None:
        if not rate_per_second > 0:
            raise ValueError("rate_per_second must be greater than 0")
        self._interval = 1.0 / rate_per_second
        self._next: Optional[float] = None  # the earliest monotonic time the next send may start

    async def wait(self) -> None:
        """Return when the next send may start."""
        now = time.monotonic()
        while self._next is not None and now < self._next:
            await asyncio.sleep(self._next - now)
            now = time.monotonic()
        self._next = now + self._interval


async def invite_panel(
    survey: Any,
    panel: PanelStore,
    *,
    is_opted_out: Callable[[str, str], Awaitable[bool]],
    send: Callable[[str, str, str], Awaitable[bool]],
    rate_per_second: float,
    today: date,
    texts: Optional[InvitationTexts] = None,
    channels: Optional[Collection[str]] = None,
    dry_run: bool = False,
) -> InviteReport:
    """Invite every member of ``survey.panel`` who has not been invited to this survey yet.

    Args:
        survey: the survey (``id``, ``title``, ``panel``, ``keyword``, ``opens``, ``closes``).
        panel: the panel store.
        is_opted_out: ``(channel, contact) -> True`` for someone who asked for no more messages.
        send: ``(channel, contact, text) -> True`` when the invitation was accepted for delivery.
        rate_per_second: the most sends started in any second.
        today: the date now (Europe/London).
        texts: the templates (default: ``data/surveys/invitations.yml``).
        channels: the channels that can send here (default: both); members on others are counted, not claimed.
        dry_run: count who would be invited; send nothing and claim nothing.

    Returns:
        The counts of this run.

    Raises:
        SurveyNotOpen: the survey is not open on ``today`` (nothing is read or sent).
        SurveyStoreUnavailable: the panel's Redis is down (members already sent to stay claimed).
    """
    check_open(survey, today)
    texts = texts or load_invitation_texts()
    rendered: Dict[str, str] = {channel: render_invitation(survey, channel, texts) for channel in CHANNELS}
    report = await _message_panel(survey, panel, rendered, kind=INVITED, item=lambda member: member.member_id,
                                  is_opted_out=is_opted_out, send=send, rate_per_second=rate_per_second,
                                  channels=channels, dry_run=dry_run)
    logger.info("survey %s invitations: %s", survey.id, report.summary())
    return report


async def send_update(
    survey: Any,
    update: Any,
    panel: PanelStore,
    *,
    took_part: Callable[[Any], Awaitable[bool]],
    is_opted_out: Callable[[str, str], Awaitable[bool]],
    send: Callable[[str, str, str], Awaitable[bool]],
    rate_per_second: float,
    texts: Optional[UpdateTexts] = None,
    channels: Optional[Collection[str]] = None,
    dry_run: bool = False,
) -> InviteReport:
    """Send a "you said, we did" update to the panel members who took part in the survey, each once.

    Joining a panel is agreeing to hear from it (the join message says so), and only those who also completed this
    survey get its update. A new update (other words) is a new message: each version is claimed on its own.

    Args:
        survey: the survey (``id``, ``title``, ``panel``, ``closes``).
        update: the ``bot.forum.results.Update`` (``text``, ``written``).
        panel: the panel store.
        took_part: ``(member) -> True`` when that member completed the survey.
        is_opted_out, send, rate_per_second, channels, dry_run: as for ``invite_panel``.
        texts: the templates (default: ``data/surveys/invitations.yml``, ``update``).

    Raises:
        SurveyStoreUnavailable: Redis is down (members already sent to stay claimed).
    """
    texts = texts or load_update_texts()
    rendered = {channel: render_update(survey, update, channel, texts) for channel in CHANNELS}
    version = update_version(update)
    report = await _message_panel(survey, panel, rendered, kind=UPDATED,
                                  item=lambda member: f"{member.member_id}:{version}", include=took_part,
                                  is_opted_out=is_opted_out, send=send, rate_per_second=rate_per_second,
                                  channels=channels, dry_run=dry_run)
    logger.info("survey %s update %s: %s", survey.id, version, report.summary())
    return report


async def _message_panel(
    survey: Any,
    panel: PanelStore,
    rendered: Mapping[str, str],
    *,
    kind: str,
    item: Callable[[Any], str],
    is_opted_out: Callable[[str, str], Awaitable[bool]],
    send: Callable[[str, str, str], Awaitable[bool]],
    rate_per_second: float,
    include: Optional[Callable[[Any], Awaitable[bool]]] = None,
    channels: Optional[Collection[str]] = None,
    dry_run: bool = False,
) -> InviteReport:
    """Send ``rendered[channel]`` to each member of the survey's panel once: skip those on a channel that is off,
    those who opted out and those ``include`` leaves out; claim before sending, release when a send fails."""
    usable: FrozenSet[str] = frozenset(CHANNELS if channels is None else channels) & frozenset(CHANNELS)
    pacer = _Pacer(rate_per_second)
    report = InviteReport(dry_run=dry_run)
    async for member in panel.members(survey.panel):
        if member.channel not in usable:
            report.channel_off += 1
            continue
        if await is_opted_out(member.channel, member.contact):
            report.opted_out += 1
            continue
        if include is not None and not await include(member):
            report.did_not_take_part += 1
            continue
        claimed = item(member)
        if dry_run:
            if await panel.is_claimed(survey.id, kind, claimed):
                report.already_invited += 1
            else:
                report.sent += 1
            continue
        if not await panel.claim(survey.id, kind, claimed, until=survey.closes):
            report.already_invited += 1
            continue
        await pacer.wait()
        try:
            accepted = await send(member.channel, member.contact, rendered[member.channel])
        except Exception:
            # Not known to be sent: let the next run try again, then let the error end this run.
            await panel.release(survey.id, kind, claimed)
            raise
        if accepted:
            report.sent += 1
        else:
            logger.warning("%s message of survey %s for panel member %s failed; released for the next run", kind,
                           survey.id, member.member_id)
            await panel.release(survey.id, kind, claimed)
            report.failed += 1
    return report


class InvitationSender:
    """Sends one survey's invitations: SMS through ``TwilioMessages``, Telegram through python-telegram-bot's
    ``Bot`` with the "Take part" button. A channel given no client is off."""

    def __init__(self, survey_id: str, texts: InvitationTexts, *, twilio: Optional[TwilioMessages] = None,
                 telegram_bot: Any = None, offer: bool = True) -> None:
        """Prepare the sender.

        Args:
            survey_id: the survey the button offers.
            texts: the templates (for the button's label).
            twilio: the SMS sender, or None when SMS is off.
            telegram_bot: an initialised ``telegram.Bot``, or None when Telegram is off.
            offer: add the "Take part" button (an invitation); False for a "you said, we did" update.

        Raises:
            InviteError: the survey id is too long for the button's callback data.
        """
        self._twilio = twilio
        self._bot = telegram_bot
        self._button = texts.telegram_button
        self._callback_data = offer_callback_data(survey_id)
        self._offer = offer

    @property
    def channels(self) -> FrozenSet[str]:
        """The channels this sender can send on."""
        return frozenset(name for name, client in ((SMS, self._twilio), (TELEGRAM, self._bot)) if client is not None)

    async def send(self, channel: str, contact: str, text: str) -> bool:
        """Send one invitation; True when the channel's API accepted it (errors are logged, never the contact)."""
        if channel == SMS and self._twilio is not None:
            return await self._twilio.send(contact, text)
        if channel == TELEGRAM and self._bot is not None:
            return await self._send_telegram(contact, text)
        logger.error("no sender for channel %s", channel)
        return False

    async def _send_telegram(self, chat_id: str, text: str) -> bool:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup
        from telegram.error import RetryAfter, TelegramError

        markup = (InlineKeyboardMarkup([[InlineKeyboardButton(self._button, callback_data=self._callback_data)]])
                  if self._offer else None)
        for attempt in range(2):
            try:
                await self._bot.send_message(chat_id=int(chat_id), text=text, reply_markup=markup)
                return True
            except RetryAfter as error:
                # Telegram refused this one and says when to try again: nothing was sent, so a retry is safe.
                wait = error.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                if attempt or seconds > MAX_TELEGRAM_WAIT_SECONDS:
                    logger.error("Telegram asked to wait %.0f s; giving up on this invitation", seconds)
                    return False
                logger.warning("Telegram asked to wait %.0f s before the next message", seconds)
                await asyncio.sleep(seconds)
            except TelegramError as error:
                # Forbidden (the person blocked the bot), BadRequest, a network error: logged by type, no chat id.
                logger.error("Telegram did not take an invitation: %s", type(error).__name__)
                return False
        return False
