"""What the SMS and Telegram channels are configured with: their secrets (from the environment) and their fixed
texts (from ``data/knowledge/channels.yml``).

It lives in ``bot/`` because two sides need it and the arrows point one way: the channels (``channels/``) and the
CLI's ``telegram-webhook`` command (``bot/cli.py``), which must not import ``channels/``.

A channel whose secrets are not set is simply off: Rasa refuses an unset ``${VAR}`` in ``credentials.yml``, so each
channel reads the environment here, in its ``from_credentials``, and a developer without a Twilio account can still
``make run``. ``from_env`` therefore returns ``None`` (with the reason) instead of raising.

Errors::

    ChannelConfigError      the texts file is malformed, or a value set in the environment is unusable
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping, Optional, Tuple, Type, TypeVar

import yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "data" / "knowledge"
CHANNEL_TEXTS_FILE = KNOWLEDGE_DIR / "channels.yml"

DEFAULT_TWILIO_API_BASE = "https://api.twilio.com"
DEFAULT_TELEGRAM_API_BASE = "https://api.telegram.org"
# Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - as a webhook secret (Bot API, setWebhook).
TELEGRAM_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")

# The update kinds the Telegram channel handles; setWebhook asks Telegram for only these.
TELEGRAM_ALLOWED_UPDATES = ("message", "edited_message", "callback_query")

TWILIO_SECRETS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER")
TELEGRAM_SECRETS = ("TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN")
# Phone numbers and chat ids are stored as HMACs under this key. Changing it orphans every stored opt-out, so it is
# its own variable and required: falling back to a token would un-do every opt-out when the token is rotated.
HASH_KEY_VARIABLE = "CHANNEL_HASH_KEY"
# Keys every channel needs besides its own secrets: the conversation hashes and the survey panel's contacts.
REQUIRED_KEY_VARIABLES = (HASH_KEY_VARIABLE, "PRIVACY_KEY", "PANEL_ENCRYPTION_KEY")


class ChannelConfigError(ValueError):
    """The channel texts are malformed, or a channel variable is set to something unusable."""


@dataclass(frozen=True)
class ChannelOff:
    """Why a channel is off: the one log line its ``from_credentials`` writes."""

    reason: str


@dataclass(frozen=True)
class TwilioConfig:
    """The SMS channel's settings, with the environment variable that sets each."""

    account_sid: str  # TWILIO_ACCOUNT_SID
    auth_token: str  # TWILIO_AUTH_TOKEN: signs Twilio's webhooks and authenticates our API calls
    number: str  # TWILIO_NUMBER: the number our replies come from, E.164 (+447...)
    hash_key: bytes  # CHANNEL_HASH_KEY (or the auth token): keys the HMAC of phone numbers
    webhook_url: Optional[str] = None  # SMS_WEBHOOK_URL: the public URL Twilio signs; None: the request's own URL
    api_base: str = DEFAULT_TWILIO_API_BASE  # TWILIO_API_BASE: tests point it at a local stand-in

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "TwilioConfig | ChannelOff":
        """The SMS settings, or why the channel is off (a secret is unset)."""
        missing = [name for name in TWILIO_SECRETS if not env.get(name)]
        if missing:
            return ChannelOff(f"SMS channel is off: set {', '.join(missing)} to turn it on")
        return cls(
            account_sid=env["TWILIO_ACCOUNT_SID"],
            auth_token=env["TWILIO_AUTH_TOKEN"],
            number=env["TWILIO_NUMBER"],
            hash_key=channel_hash_key(env),
            webhook_url=env.get("SMS_WEBHOOK_URL") or None,
            api_base=(env.get("TWILIO_API_BASE") or DEFAULT_TWILIO_API_BASE).rstrip("/"),
        )


@dataclass(frozen=True)
class TelegramConfig:
    """The Telegram channel's settings, with the environment variable that sets each."""

    token: str  # TELEGRAM_TOKEN: from @BotFather
    secret_token: str  # TELEGRAM_SECRET_TOKEN: Telegram sends it back on every update; anything else is forged
    hash_key: bytes  # CHANNEL_HASH_KEY (or a token): keys the HMAC of chat ids
    api_base: str = DEFAULT_TELEGRAM_API_BASE  # TELEGRAM_API_BASE: tests point it at a local stand-in

    @property
    def bot_base_url(self) -> str:
        """The ``base_url`` python-telegram-bot's ``Bot`` takes (it appends the token)."""
        return f"{self.api_base}/bot"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "TelegramConfig | ChannelOff":
        """The Telegram settings, or why the channel is off (a secret is unset or the secret is malformed)."""
        missing = [name for name in TELEGRAM_SECRETS if not env.get(name)]
        if missing:
            return ChannelOff(f"Telegram channel is off: set {', '.join(missing)} to turn it on")
        if not TELEGRAM_SECRET_PATTERN.fullmatch(env["TELEGRAM_SECRET_TOKEN"]):
            return ChannelOff("Telegram channel is off: TELEGRAM_SECRET_TOKEN must be 1-256 of A-Z a-z 0-9 _ -")
        return cls(
            token=env["TELEGRAM_TOKEN"],
            secret_token=env["TELEGRAM_SECRET_TOKEN"],
            hash_key=channel_hash_key(env),
            api_base=(env.get("TELEGRAM_API_BASE") or DEFAULT_TELEGRAM_API_BASE).rstrip("/"),
        )


def channel_hash_key(env: Mapping[str, str]) -> bytes:
    """The key for hashing phone numbers and chat ids (CHANNEL_HASH_KEY).

    Raises:
        ChannelConfigError: it is unset; the message says what to set (a channel never starts without it).
    """
    value = env.get(HASH_KEY_VARIABLE)
    if not value:
        raise ChannelConfigError(
            f"{HASH_KEY_VARIABLE} must be set when a channel is on: a long random string, kept for good "
            "(opt-outs are stored under it; `make run` makes one in var/)"
        )
    return value.encode("utf-8")


def missing_keys(env: Mapping[str, str]) -> Tuple[str, ...]:
    """The keys a switched-on channel needs that are unset (empty when it may start)."""
    return tuple(name for name in REQUIRED_KEY_VARIABLES if not env.get(name))


# --- Texts ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsTexts:
    """What the SMS channel says itself (everything else comes from Rasa)."""

    opted_out: str  # the one confirmation after STOP
    opted_in: str  # after START/YES/UNSTOP from an opted-out number
    help: str  # HELP/INFO
    no_text: str  # an empty message or a picture without words
    unavailable: str  # the assistant failed to answer (e.g. the action server is down)
    slow_down: str  # once, to a sender over the rate limit
    panel_joined: str  # after JOIN <keyword>; "{panel}" is the panel's name
    panel_left: str  # after LEAVE
    panel_not_member: str  # LEAVE from someone on no panel
    panel_which: str  # JOIN without a known survey keyword


@dataclass(frozen=True)
class TelegramTexts:
    """What the Telegram channel says itself (everything else comes from Rasa)."""

    help: str  # /help
    privacy: str  # /privacy
    stopped: str  # /stop
    no_text: str  # a sticker, photo or voice note
    unavailable: str  # the assistant failed to answer (e.g. the action server is down)
    slow_down: str  # once, to a sender over the rate limit
    button_expired: str  # a button whose payload we no longer remember
    start_message: str  # what /start sends to Rasa, e.g. "/greet"
    panel_joined: str  # after the "Join the panel" button; "{panel}" is the panel's name
    panel_left: str  # after /leave
    panel_not_member: str  # /leave from someone on no panel
    commands: Tuple[Tuple[str, str], ...]  # (command, description) for setMyCommands, in menu order


@dataclass(frozen=True)
class WebTexts:
    """What the web app says itself, as JSON errors the chat page shows."""

    unavailable: str  # the assistant failed to answer
    slow_down: str  # a sender over the rate limit


@dataclass(frozen=True)
class ChannelTexts:
    """Every channel's own texts, as in ``data/knowledge/channels.yml``."""

    sms: SmsTexts
    telegram: TelegramTexts
    web: WebTexts


_T = TypeVar("_T")


def load_channel_texts(path: Path = CHANNEL_TEXTS_FILE) -> ChannelTexts:
    """Read and check the channels' texts, with facts (``{send_team_phone}``) filled in from ``facts.yml``.

    Raises:
        ChannelConfigError: the file is missing, is not YAML, lacks a text, or names an unknown fact.
    """
    try:
        data = yaml.safe_load(_with_facts(path.read_text(encoding="utf-8"), path)) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ChannelConfigError(f"cannot read {path}: {error}") from error
    telegram = dict(data.get("telegram") or {})
    raw_commands = telegram.pop("commands", None) or {}
    if not isinstance(raw_commands, Mapping) or not raw_commands:
        raise ChannelConfigError(f"{path}: telegram.commands must map each command to its description")
    commands = tuple((str(name), str(description)) for name, description in raw_commands.items())
    return ChannelTexts(
        sms=_texts(SmsTexts, data.get("sms"), "sms", path),
        telegram=_texts(TelegramTexts, {**telegram, "commands": commands}, "telegram", path),
        web=_texts(WebTexts, data.get("web"), "web", path),
    )


FACT_PLACEHOLDER = re.compile(r"\{fact:([a-z0-9_]+)\}")


def _with_facts(text: str, path: Path) -> str:
    """Replace ``{fact:name}`` with the fact's value: phone numbers live once, in facts.yml."""
    names = set(FACT_PLACEHOLDER.findall(text))
    if not names:
        return text
    from bot.knowledge import load_knowledge  # only when a text needs a fact

    facts = load_knowledge(path.parent).facts
    unknown = names - facts.keys()
    if unknown:
        raise ChannelConfigError(f"{path}: unknown fact(s) {', '.join(sorted(unknown))}")
    return FACT_PLACEHOLDER.sub(lambda match: facts[match.group(1)].value, text)


def _texts(cls: Type[_T], section: object, name: str, path: Path) -> _T:
    if not isinstance(section, Mapping):
        raise ChannelConfigError(f"{path}: '{name}' must be a mapping of texts")
    values = {}
    for item in fields(cls):  # type: ignore[arg-type]
        value = section.get(item.name)
        if item.name != "commands" and (not isinstance(value, str) or not value.strip()):
            raise ChannelConfigError(f"{path}: {name}.{item.name} must be a non-empty text")
        values[item.name] = value.strip() if isinstance(value, str) else value
    return cls(**values)
