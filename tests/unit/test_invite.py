"""Inviting a survey's panel (issue #7, part 7): through the Twilio and Telegram stand-ins, each member once, paced,
opt-outs honoured, failures retried by the next run; and ``python -m bot survey invite``'s exit codes."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import AsyncIterator, Iterator, List, Tuple

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from telegram import Bot

import bot.cli
from bot.channel_config import TwilioConfig
from bot.channel_state import ChannelState
from bot.stack import LOOPBACK, free_port
from bot.surveys.invite import (
    MAX_CALLBACK_DATA_BYTES,
    InvitationSender,
    InviteError,
    InviteReport,
    SurveyNotOpen,
    invite_panel,
    load_invitation_texts,
    offer_callback_data,
    render_invitation,
)
from bot.surveys.panel import PanelStore
from bot.surveys.store import DAY_SECONDS
from channels.render import gsm7_septets, is_gsm7
from tests.unit.survey_doubles import Question, Survey
from tests.integration.standins import TelegramStandIn, TwilioStandIn

PRIVACY_KEY = "test-privacy-key-" + "i" * 32
FERNET_KEY = Fernet.generate_key()
CHANNEL_HASH_KEY = b"test-channel-key-" + b"c" * 32
OUR_NUMBER = "+447700900000"
TODAY = date.today()
SMS_NUMBERS = ("+447700900101", "+447700900102", "+447700900103")
TELEGRAM_CHATS = ("2001", "2002")
FAST = 200.0  # sends per second for tests that are not about pacing
MAX_SMS_SEPTETS = 306  # two SMS parts: what channels.yml allows a text




SURVEY = Survey(id="strong_voices", title="Strong Voices check-in", panel="strong_voices", keyword="VOICES",
                opens=TODAY - timedelta(days=3), closes=TODAY + timedelta(days=14),
                questions=(Question("feel", "likert"),))


@pytest.fixture
def twilio_api() -> Iterator[TwilioStandIn]:
    """A local Twilio Messages API recording the texts sent."""
    standin = TwilioStandIn(account_sid="AC" + uuid.uuid4().hex, auth_token=secrets.token_hex(16)).start()
    yield standin
    standin.stop()


@pytest.fixture
def telegram_api() -> Iterator[TelegramStandIn]:
    """A local Telegram Bot API recording the messages sent."""
    standin = TelegramStandIn(token=f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(24)}").start()
    yield standin
    standin.stop()


def _panel(url: str) -> PanelStore:
    return PanelStore(aioredis.Redis.from_url(url, decode_responses=True), fernet_key=FERNET_KEY,
                      hash_key=PRIVACY_KEY.encode(), retention_seconds=365 * DAY_SECONDS)


async def _fill_panel(panel: PanelStore) -> None:
    for number in SMS_NUMBERS:
        await panel.join(SURVEY.panel, f"sms:{number}", "sms", number)
    for chat in TELEGRAM_CHATS:
        await panel.join(SURVEY.panel, f"telegram:{chat}", "telegram", chat)


@pytest.fixture
async def panel(redis_url: str) -> AsyncIterator[PanelStore]:
    """The survey's panel with three SMS and two Telegram members."""
    store = _panel(redis_url)
    await _fill_panel(store)
    yield store
    await store.close()


@pytest.fixture
async def channel_state(redis_url: str) -> AsyncIterator[ChannelState]:
    """Where the channels record STOP and /stop."""
    state = ChannelState.from_url(redis_url, CHANNEL_HASH_KEY)
    yield state
    await state.close()


@pytest.fixture
async def sender(twilio_api: TwilioStandIn, telegram_api: TelegramStandIn) -> AsyncIterator[InvitationSender]:
    """The real senders (TwilioMessages, python-telegram-bot's Bot) pointed at the stand-ins."""
    from bot.twilio_messages import TwilioMessages

    twilio = TwilioMessages(TwilioConfig(account_sid=twilio_api.account_sid, auth_token=twilio_api.auth_token,
                                         number=OUR_NUMBER, hash_key=CHANNEL_HASH_KEY, api_base=twilio_api.url))
    async with Bot(telegram_api.token, base_url=f"{telegram_api.url}/bot") as telegram_bot:
        yield InvitationSender(SURVEY.id, load_invitation_texts(), twilio=twilio, telegram_bot=telegram_bot)
    await twilio.close()


def _sms_sent(twilio_api: TwilioStandIn) -> List[str]:
    return sorted(r.fields["To"] for r in twilio_api.calls(lambda r: r.fields["accepted"]))


def _telegram_sent(telegram_api: TelegramStandIn) -> List[str]:
    return sorted(str(r.fields["chat_id"]) for r in telegram_api.calls(lambda r: r.method == "sendMessage"))


async def test_everyone_is_invited_once(panel: PanelStore, channel_state: ChannelState, sender: InvitationSender,
                                        twilio_api: TwilioStandIn, telegram_api: TelegramStandIn) -> None:
    """Each member gets one invitation on their channel; a second run sends nothing (issue #7)."""
    run = dict(is_opted_out=channel_state.is_opted_out, send=sender.send, rate_per_second=FAST, today=TODAY)
    first = await invite_panel(SURVEY, panel, **run)
    assert first == InviteReport(sent=5, already_invited=0, opted_out=0, failed=0)
    assert _sms_sent(twilio_api) == sorted(SMS_NUMBERS)
    assert _telegram_sent(telegram_api) == sorted(TELEGRAM_CHATS)
    sms = twilio_api.calls()[0].fields
    assert sms["From"] == OUR_NUMBER and "Text VOICES to take part" in sms["Body"]
    second = await invite_panel(SURVEY, panel, **run)
    assert second == InviteReport(sent=0, already_invited=5, opted_out=0, failed=0)
    assert len(twilio_api.calls()) == 3 and len(_telegram_sent(telegram_api)) == 2


async def test_opted_out_members_are_skipped(panel: PanelStore, channel_state: ChannelState,
                                             sender: InvitationSender, twilio_api: TwilioStandIn,
                                             telegram_api: TelegramStandIn) -> None:
    """Someone who texted STOP or sent /stop gets no invitation, and is invited after opting back in (issue #7)."""
    await channel_state.opt_out("sms", SMS_NUMBERS[0])
    await channel_state.opt_out("telegram", TELEGRAM_CHATS[1])
    run = dict(is_opted_out=channel_state.is_opted_out, send=sender.send, rate_per_second=FAST, today=TODAY)
    report = await invite_panel(SURVEY, panel, **run)
    assert report == InviteReport(sent=3, already_invited=0, opted_out=2, failed=0)
    assert SMS_NUMBERS[0] not in _sms_sent(twilio_api)
    assert _telegram_sent(telegram_api) == [TELEGRAM_CHATS[0]]
    await channel_state.opt_in("sms", SMS_NUMBERS[0])
    again = await invite_panel(SURVEY, panel, **run)
    assert again == InviteReport(sent=1, already_invited=3, opted_out=1, failed=0)
    assert SMS_NUMBERS[0] in _sms_sent(twilio_api)


async def test_a_failed_send_is_released_and_retried(panel: PanelStore, channel_state: ChannelState,
                                                     sender: InvitationSender, twilio_api: TwilioStandIn) -> None:
    """A text Twilio refuses is not claimed: the next run sends it, and only it (issue #7)."""
    twilio_api.fail_next(400)  # refused for good: TwilioMessages does not retry it
    run = dict(is_opted_out=channel_state.is_opted_out, send=sender.send, rate_per_second=FAST, today=TODAY)
    first = await invite_panel(SURVEY, panel, **run)
    assert first == InviteReport(sent=4, already_invited=0, opted_out=0, failed=1)
    refused = twilio_api.calls(lambda r: not r.fields["accepted"])[0].fields["To"]
    assert refused not in _sms_sent(twilio_api)
    second = await invite_panel(SURVEY, panel, **run)
    assert second == InviteReport(sent=1, already_invited=4, opted_out=0, failed=0)
    assert _sms_sent(twilio_api) == sorted(SMS_NUMBERS)


async def test_a_send_that_raises_is_released(panel: PanelStore, channel_state: ChannelState) -> None:
    """A sender that raises ends the run without keeping that member's claim (issue #7)."""
    async def broken(channel: str, contact: str, text: str) -> bool:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await invite_panel(SURVEY, panel, is_opted_out=channel_state.is_opted_out, send=broken,
                           rate_per_second=FAST, today=TODAY)
    member_ids = [m.member_id async for m in panel.members(SURVEY.panel)]
    assert not any([await panel.is_invited(SURVEY.id, member_id) for member_id in member_ids])


@pytest.mark.parametrize("today", [
    pytest.param(SURVEY.closes + timedelta(days=1), id="closed"),
    pytest.param(SURVEY.opens - timedelta(days=1), id="not-open-yet"),
])
async def test_a_survey_that_is_not_open_is_refused(panel: PanelStore, channel_state: ChannelState,
                                                    sender: InvitationSender, twilio_api: TwilioStandIn,
                                                    today: date) -> None:
    """Nobody is invited to a closed survey, or one that has not opened (issue #7)."""
    with pytest.raises(SurveyNotOpen):
        await invite_panel(SURVEY, panel, is_opted_out=channel_state.is_opted_out, send=sender.send,
                           rate_per_second=FAST, today=today)
    assert twilio_api.calls() == []


async def test_sends_are_paced(panel: PanelStore, channel_state: ChannelState, sender: InvitationSender) -> None:
    """N sends at rate r take at least (N-1)/r seconds, measured on the monotonic clock (issue #7)."""
    rate = 10.0
    starts: List[float] = []

    async def timed(channel: str, contact: str, text: str) -> bool:
        starts.append(time.monotonic())
        return await sender.send(channel, contact, text)

    started = time.monotonic()
    report = await invite_panel(SURVEY, panel, is_opted_out=channel_state.is_opted_out, send=timed,
                                rate_per_second=rate, today=TODAY)
    elapsed = time.monotonic() - started
    assert report.sent == 5
    assert elapsed >= (5 - 1) / rate
    assert all(later - earlier >= 1 / rate - 1e-3 for earlier, later in zip(starts, starts[1:]))
    assert elapsed < 2.0


async def test_a_slow_send_is_not_followed_by_a_needless_pause(panel: PanelStore,
                                                               channel_state: ChannelState) -> None:
    """When a send takes longer than the interval, the next one starts at once (issue #7)."""
    starts: List[float] = []

    async def slow(channel: str, contact: str, text: str) -> bool:
        starts.append(time.monotonic())
        await asyncio.sleep(0.2)
        return True

    await invite_panel(SURVEY, panel, is_opted_out=channel_state.is_opted_out, send=slow, rate_per_second=10.0,
                       today=TODAY)
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    assert len(gaps) == 4 and all(0.2 <= gap < 0.28 for gap in gaps)


async def test_dry_run_sends_and_claims_nothing(panel: PanelStore, channel_state: ChannelState,
                                                sender: InvitationSender, twilio_api: TwilioStandIn,
                                                telegram_api: TelegramStandIn) -> None:
    """A dry run counts who would be invited, and changes nothing (issue #7)."""
    await channel_state.opt_out("sms", SMS_NUMBERS[2])
    run = dict(is_opted_out=channel_state.is_opted_out, send=sender.send, rate_per_second=FAST, today=TODAY)
    report = await invite_panel(SURVEY, panel, dry_run=True, **run)
    assert report == InviteReport(sent=4, opted_out=1, dry_run=True)
    assert twilio_api.calls() == [] and _telegram_sent(telegram_api) == []
    assert (await invite_panel(SURVEY, panel, **run)).sent == 4
    assert await invite_panel(SURVEY, panel, dry_run=True, **run) == InviteReport(already_invited=4, opted_out=1,
                                                                                  dry_run=True)


async def test_members_on_a_channel_that_is_off_are_left_for_later(panel: PanelStore, channel_state: ChannelState,
                                                                   sender: InvitationSender,
                                                                   twilio_api: TwilioStandIn) -> None:
    """With Telegram off, its members are counted, not claimed, so a run with it on invites them (issue #7)."""
    run = dict(is_opted_out=channel_state.is_opted_out, send=sender.send, rate_per_second=FAST, today=TODAY)
    report = await invite_panel(SURVEY, panel, channels=["sms"], **run)
    assert report == InviteReport(sent=3, channel_off=2)
    assert (await invite_panel(SURVEY, panel, **run)) == InviteReport(sent=2, already_invited=3)


async def test_invitation_texts_fit_their_channels(panel: PanelStore, channel_state: ChannelState,
                                                   sender: InvitationSender, telegram_api: TelegramStandIn) -> None:
    """The SMS invitation is GSM-7 and at most two parts; the Telegram button's callback data is
    /survey_offer{"survey":"<id>"} within Telegram's 64 bytes (issue #7)."""
    texts = load_invitation_texts()
    longest = replace(SURVEY, title="Parent Carer Forum pulse check for families", keyword="FORUMPULSE",
                      closes=date(2026, 9, 30))
    sms = render_invitation(longest, "sms", texts)
    assert is_gsm7(sms) and is_gsm7(texts.sms) and gsm7_septets(sms) <= MAX_SMS_SEPTETS
    assert "Text FORUMPULSE to take part" in sms and "until 30 September" in sms
    assert "LEAVE" in sms and "STOP" in sms
    assert "/leave" in render_invitation(SURVEY, "telegram", texts)
    await invite_panel(SURVEY, panel, is_opted_out=channel_state.is_opted_out, send=sender.send,
                       rate_per_second=FAST, today=TODAY)
    message = telegram_api.calls(lambda r: r.method == "sendMessage")[0].fields
    [[button]] = message["reply_markup"]["inline_keyboard"]
    assert button["text"] == texts.telegram_button == "Take part"
    assert button["callback_data"] == '/survey_offer{"survey":"strong_voices"}'
    assert len(button["callback_data"].encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
    assert len(offer_callback_data("a" * 38).encode()) == MAX_CALLBACK_DATA_BYTES
    with pytest.raises(InviteError):
        offer_callback_data("a" * 39)


def test_real_surveys_fit_a_telegram_button() -> None:
    """Every survey in data/surveys gets a button Telegram accepts (issue #7)."""
    definitions = pytest.importorskip("bot.surveys.definitions")
    texts = load_invitation_texts()
    for survey in definitions.load_surveys().values():
        assert len(offer_callback_data(survey.id).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
        assert is_gsm7(render_invitation(survey, "sms", texts))


# --- The CLI ---------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, redis_url: str, twilio_api: TwilioStandIn,
            telegram_api: TelegramStandIn) -> pytest.MonkeyPatch:
    """The environment `python -m bot survey invite` reads, pointed at the test Redis and the stand-ins; the
    survey definitions replaced by our one survey."""
    env = {
        "REDIS_URL": redis_url, "PRIVACY_KEY": PRIVACY_KEY, "PANEL_ENCRYPTION_KEY": FERNET_KEY.decode(),
        "INVITE_RATE_PER_SECOND": "100", "CHANNEL_HASH_KEY": CHANNEL_HASH_KEY.decode(),
        "TWILIO_ACCOUNT_SID": twilio_api.account_sid, "TWILIO_AUTH_TOKEN": twilio_api.auth_token,
        "TWILIO_NUMBER": OUR_NUMBER, "TWILIO_API_BASE": twilio_api.url,
        "TELEGRAM_TOKEN": telegram_api.token, "TELEGRAM_SECRET_TOKEN": secrets.token_urlsafe(16),
        "TELEGRAM_API_BASE": telegram_api.url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(bot.cli, "_load_surveys", lambda: [SURVEY])
    return monkeypatch


def _fill(redis_url: str) -> None:
    async def fill() -> None:
        store = _panel(redis_url)
        await _fill_panel(store)
        await store.close()

    asyncio.run(fill())


def test_cli_invites_once(cli_env: pytest.MonkeyPatch, redis_url: str, twilio_api: TwilioStandIn,
                          telegram_api: TelegramStandIn, capsys: pytest.CaptureFixture) -> None:
    """`survey invite` sends every invitation and exits 0; `--dry-run` and a second run send nothing (issue #7)."""
    _fill(redis_url)
    assert bot.cli.main(["survey", "invite", "--survey", SURVEY.id, "--dry-run"]) == 0
    assert "would send 5" in capsys.readouterr().out
    assert twilio_api.calls() == [] and telegram_api.calls(lambda r: r.method == "sendMessage") == []
    assert bot.cli.main(["survey", "invite", "--survey", SURVEY.id]) == 0
    assert "sent 5, already invited 0" in capsys.readouterr().out
    assert _sms_sent(twilio_api) == sorted(SMS_NUMBERS) and _telegram_sent(telegram_api) == sorted(TELEGRAM_CHATS)
    assert bot.cli.main(["survey", "invite", "--survey", SURVEY.id]) == 0
    assert "sent 0, already invited 5" in capsys.readouterr().out
    assert len(twilio_api.calls()) == 3


def test_cli_skips_a_channel_that_is_off(cli_env: pytest.MonkeyPatch, redis_url: str,
                                         telegram_api: TelegramStandIn, capsys: pytest.CaptureFixture) -> None:
    """With Twilio's secrets unset, SMS members are skipped with one line of output (issue #7)."""
    cli_env.delenv("TWILIO_AUTH_TOKEN")
    _fill(redis_url)
    assert bot.cli.main(["survey", "invite", "--survey", SURVEY.id]) == 0
    out = capsys.readouterr().out
    assert "SMS channel is off" in out and "on a channel that is off 3" in out
    assert _telegram_sent(telegram_api) == sorted(TELEGRAM_CHATS)


def test_cli_unknown_survey_exits_2(cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """An unknown survey id is a usage error with a one-line message (issue #7)."""
    assert bot.cli.main(["survey", "invite", "--survey", "no_such_survey"]) == 2
    err = capsys.readouterr().err
    assert "Unknown survey 'no_such_survey'" in err and "strong_voices" in err and len(err.strip().splitlines()) == 1


def test_cli_closed_survey_exits_2(cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                   twilio_api: TwilioStandIn) -> None:
    """A closed survey is refused with a one-line message, and nothing is sent (issue #7)."""
    closed = replace(SURVEY, opens=TODAY - timedelta(days=30), closes=TODAY - timedelta(days=2))
    cli_env.setattr(bot.cli, "_load_surveys", lambda: [closed])
    assert bot.cli.main(["survey", "invite", "--survey", SURVEY.id]) == 2
    err = capsys.readouterr().err
    assert "closed on" in err and len(err.strip().splitlines()) == 1
    assert twilio_api.calls() == []


def test_cli_redis_down_exits_1(cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """With Redis down the command says so in one line, without a traceback, and exits 1 (issue #7)."""
    port = free_port()
    cli_env.setenv("REDIS_URL", f"redis://:hunter2@{LOOPBACK}:{port}/0")
    cli_env.delenv("TELEGRAM_TOKEN")
    started = time.monotonic()
    assert bot.cli.main(["survey", "invite", "--survey", SURVEY.id]) == 1
    assert time.monotonic() - started < 5
    captured = capsys.readouterr()
    assert f"Redis is not available at {LOOPBACK}:{port}" in captured.err
    assert "Traceback" not in captured.err + captured.out and "hunter2" not in captured.err


def test_cli_refuses_a_malformed_survey_id(cli_env: pytest.MonkeyPatch) -> None:
    """A survey id that could not be a key is rejected by argparse (exit 2) (issue #7)."""
    with pytest.raises(SystemExit) as caught:
        bot.cli.main(["survey", "invite", "--survey", "bad id"])
    assert caught.value.code == 2



# --- "You said, we did" updates (issue #8, part 6) --------------------------------------------------------------


def _took_part(redis_url: str, members: List[Tuple[str, str]]) -> None:
    """Complete the survey as these (channel, contact) people, under the respondent ids the channels would use."""
    from bot.channel_state import sender_id
    from bot.privacy.hashing import respondent_id
    from bot.surveys.store import SurveyStore

    async def answer() -> None:
        store = SurveyStore(aioredis.Redis.from_url(redis_url, decode_responses=True),
                            retention_seconds=365 * DAY_SECONDS, draft_seconds=DAY_SECONDS)
        for channel, contact in members:
            person = respondent_id(PRIVACY_KEY.encode(), SURVEY.id, sender_id(CHANNEL_HASH_KEY, channel, contact))
            await store.submit(SURVEY, person, {"feel": 4}, submitted=TODAY)
        await store.close()

    asyncio.run(answer())


def _write_update(redis_url: str, text: str, written: date = TODAY) -> None:
    from bot.forum.updates import UpdateStore

    async def write() -> None:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        await UpdateStore(client).set(SURVEY.id, text, "alex", written)
        await client.close()

    asyncio.run(write())


def test_cli_sends_the_update_to_members_who_took_part_once(cli_env: pytest.MonkeyPatch, redis_url: str,
                                                           twilio_api: TwilioStandIn,
                                                           telegram_api: TelegramStandIn,
                                                           capsys: pytest.CaptureFixture) -> None:
    """`survey update` texts the update to the panel members who completed the survey (and to nobody else), without
    a "Take part" button; a second run sends nothing; a reworded update is sent again (issue #8)."""
    _fill(redis_url)
    _took_part(redis_url, [("sms", SMS_NUMBERS[0]), ("telegram", TELEGRAM_CHATS[1])])
    assert bot.cli.main(["survey", "update", "--survey", SURVEY.id]) == 2  # nothing written yet
    assert "no \"you said, we did\" update yet" in capsys.readouterr().err
    _write_update(redis_url, "You said clubs were hard to join. We trained 12 clubs \u2013 see the Local Offer.")
    assert bot.cli.main(["survey", "update", "--survey", SURVEY.id, "--dry-run"]) == 0
    assert "would send 2" in capsys.readouterr().out and twilio_api.calls() == []
    assert bot.cli.main(["survey", "update", "--survey", SURVEY.id]) == 0
    out = capsys.readouterr().out
    assert "sent 2" in out and "did not take part 3" in out
    texts = twilio_api.calls(lambda r: r.fields["accepted"])
    assert [r.fields["To"] for r in texts] == [SMS_NUMBERS[0]]
    body = texts[0].fields["Body"]
    assert "you said, we did" in body and "12 clubs - see" in body and is_gsm7(body) and "STOP" in body
    messages = telegram_api.calls(lambda r: r.method == "sendMessage")
    assert [str(r.fields["chat_id"]) for r in messages] == [TELEGRAM_CHATS[1]]
    assert "reply_markup" not in messages[0].fields or not messages[0].fields["reply_markup"]
    assert bot.cli.main(["survey", "update", "--survey", SURVEY.id]) == 0
    assert "sent 0, already invited 2" in capsys.readouterr().out
    _write_update(redis_url, "Update: the clubs list is now on the Local Offer.")
    assert bot.cli.main(["survey", "update", "--survey", SURVEY.id]) == 0
    assert "sent 2" in capsys.readouterr().out


def test_the_update_skips_members_who_opted_out(cli_env: pytest.MonkeyPatch, redis_url: str,
                                                twilio_api: TwilioStandIn, capsys: pytest.CaptureFixture) -> None:
    """Someone who texted STOP gets no update even though they took part (issue #8)."""
    _fill(redis_url)
    _took_part(redis_url, [("sms", SMS_NUMBERS[0]), ("sms", SMS_NUMBERS[1])])
    _write_update(redis_url, "We changed the holiday club booking form.")

    async def stop() -> None:
        state = ChannelState.from_url(redis_url, CHANNEL_HASH_KEY)
        await state.opt_out("sms", SMS_NUMBERS[1])
        await state.close()

    asyncio.run(stop())
    cli_env.delenv("TELEGRAM_TOKEN")
    assert bot.cli.main(["survey", "update", "--survey", SURVEY.id]) == 0
    assert "opted out 1" in capsys.readouterr().out
    assert [r.fields["To"] for r in twilio_api.calls(lambda r: r.fields["accepted"])] == [SMS_NUMBERS[0]]
