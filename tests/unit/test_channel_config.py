"""Channel settings from the environment (a channel without its secrets is off, not an error) and the channels'
own texts (plain GSM-7 for SMS). Issue #4."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channel_config import (
    DEFAULT_TELEGRAM_API_BASE,
    DEFAULT_TWILIO_API_BASE,
    ChannelConfigError,
    ChannelOff,
    TelegramConfig,
    TwilioConfig,
    channel_hash_key,
    load_channel_texts,
)
from channels.render import SMS_PART_SEPTETS, gsm7_septets, is_gsm7

TWILIO_ENV = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "secret", "TWILIO_NUMBER": "+447700900000"}
TELEGRAM_ENV = {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_SECRET_TOKEN": "s3cret_token-1"}


def test_channels_are_off_without_their_secrets() -> None:
    """`make run` must start without Twilio or Telegram: the channel is off and says which variables to set."""
    sms, telegram = TwilioConfig.from_env({}), TelegramConfig.from_env({"TELEGRAM_TOKEN": "123:abc"})
    assert isinstance(sms, ChannelOff) and "TWILIO_AUTH_TOKEN" in sms.reason
    assert isinstance(telegram, ChannelOff) and "TELEGRAM_SECRET_TOKEN" in telegram.reason
    assert "TELEGRAM_TOKEN," not in telegram.reason


def test_twilio_settings_have_defaults() -> None:
    """The API base defaults to Twilio's; the webhook URL defaults to the request's own (None)."""
    config = TwilioConfig.from_env({**TWILIO_ENV, "CHANNEL_HASH_KEY": "h"})
    assert isinstance(config, TwilioConfig)
    assert config.api_base == DEFAULT_TWILIO_API_BASE and config.webhook_url is None
    assert config.hash_key == b"h"
    local = TwilioConfig.from_env({**TWILIO_ENV, "TWILIO_API_BASE": "http://127.0.0.1:9/", "CHANNEL_HASH_KEY": "k"})
    assert isinstance(local, TwilioConfig) and local.api_base == "http://127.0.0.1:9" and local.hash_key == b"k"


def test_telegram_settings_and_a_malformed_secret() -> None:
    """Telegram accepts only A-Z a-z 0-9 _ - in a secret token: anything else keeps the channel off."""
    config = TelegramConfig.from_env({**TELEGRAM_ENV, "CHANNEL_HASH_KEY": "h"})
    assert isinstance(config, TelegramConfig)
    assert config.bot_base_url == DEFAULT_TELEGRAM_API_BASE + "/bot"
    assert isinstance(TelegramConfig.from_env({**TELEGRAM_ENV, "TELEGRAM_SECRET_TOKEN": "has space"}), ChannelOff)


def test_the_hash_key_is_its_own_variable_and_required() -> None:
    """CHANNEL_HASH_KEY and nothing else: falling back to a token would orphan every opt-out when it is rotated."""
    assert channel_hash_key({"CHANNEL_HASH_KEY": "a", "TWILIO_AUTH_TOKEN": "b"}) == b"a"
    with pytest.raises(ChannelConfigError, match="CHANNEL_HASH_KEY must be set"):
        channel_hash_key({"TELEGRAM_TOKEN": "c", "TWILIO_AUTH_TOKEN": "b"})
    with pytest.raises(ChannelConfigError, match="CHANNEL_HASH_KEY"):
        TwilioConfig.from_env(TWILIO_ENV)


@pytest.mark.parametrize("missing", ["CHANNEL_HASH_KEY", "PRIVACY_KEY", "PANEL_ENCRYPTION_KEY"])
def test_a_channel_with_a_key_missing_refuses_to_start(monkeypatch: pytest.MonkeyPatch, missing: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Rasa stops at start-up with one sentence naming the variable, instead of running under a key nobody chose."""
    from channels.sms import SmsInput

    env = {**TWILIO_ENV, "CHANNEL_HASH_KEY": "h", "PRIVACY_KEY": "p", "PANEL_ENCRYPTION_KEY": "e"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    with pytest.raises(SystemExit, match=missing):
        SmsInput.from_credentials(None)
    assert missing in caplog.text


def test_the_unavailable_texts_give_the_send_team_number_from_the_facts() -> None:
    """When the assistant cannot answer, every channel says to try again shortly and gives the SEND team's number,
    taken from facts.yml (never typed twice)."""
    from bot.knowledge import load_knowledge

    phone = load_knowledge().facts["send_team_phone"].value
    texts = load_channel_texts()
    for text in (texts.sms.unavailable, texts.telegram.unavailable, texts.web.unavailable):
        assert phone in text and "try again shortly" in text and "999" in text and "{" not in text


def test_sms_texts_are_plain_gsm7_and_fit_one_part() -> None:
    """Our own SMS texts never switch a message to UCS-2 and never need more than two segments."""
    texts = load_channel_texts().sms
    for name, text in vars(texts).items():
        assert is_gsm7(text), name
        assert gsm7_septets(text) <= SMS_PART_SEPTETS, name


def test_telegram_commands_are_listed() -> None:
    """setMyCommands gets /start, /help, /privacy, /leave (the survey panel, issue #7) and /stop, each described."""
    texts = load_channel_texts().telegram
    assert [name for name, _ in texts.commands] == ["start", "help", "privacy", "leave", "stop"]
    assert all(description for _, description in texts.commands)


def test_a_missing_text_is_named(tmp_path: Path) -> None:
    """A broken texts file stops start-up with the missing text's name."""
    path = tmp_path / "channels.yml"
    path.write_text("sms:\n  help: Hi\ntelegram:\n  commands: {start: Start}\n")
    with pytest.raises(ChannelConfigError, match="sms.opted_out"):
        load_channel_texts(path)
