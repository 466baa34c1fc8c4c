"""The SMS channel through the running Rasa server: requests signed with twilio's ``RequestValidator`` as Twilio
signs them, replies captured by the local Twilio stand-in. Issue #4.

The sender (``TwilioMessages``) is also tested on its own against a stand-in that fails or hangs, for its retries.
"""

from __future__ import annotations

import asyncio
import secrets
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Dict, Iterator, List, Optional

import pytest
import redis
from twilio.request_validator import RequestValidator

from bot.channel_config import TwilioConfig, load_channel_texts
from bot.channel_state import ChannelState, identity_hash
from bot.stack import LOOPBACK, Stack, free_port
from channels.render import SMS_PART_SEPTETS, gsm7_septets, is_gsm7
from bot.twilio_messages import TwilioMessages
from channels.sms import IncomingSms, SmsInput
from tests.integration.clients import SMS_WEBHOOK_URL, Phone
from tests.integration.standins import TwilioStandIn

pytestmark = pytest.mark.integration

# Long enough for a turn that would have been sent to arrive (replies to other messages arrive in 1-3 s).
NOTHING_SENT_SECONDS = 6.0


def test_a_question_gets_the_answer_as_numbered_gsm7_parts(phone: Phone, redis_client: redis.Redis,
                                                           stored_tracker_key) -> None:
    """Happy path: the answer reaches the phone from our number, GSM-7, each part at most two segments."""
    reply = phone.ask("who can go to HAF holiday clubs")
    assert "free school meals" in reply
    texts = phone.twilio.calls(lambda r: r.fields.get("To") == phone.number)
    assert all(r.fields["From"] == phone.env["TWILIO_NUMBER"] for r in texts)
    assert all(is_gsm7(t) and gsm7_septets(t) <= SMS_PART_SEPTETS for t in phone.twilio.texts_to(phone.number))
    assert redis_client.exists(stored_tracker_key(phone.sender_id))  # stored under a hash of a hash, never the number
    assert phone.last_body.startswith("<?xml") and "<Response></Response>" in phone.last_body


def test_buttons_become_one_numbered_text_and_a_number_picks_one(phone: Phone) -> None:
    """The greeting's buttons are one text with "Reply 1 for ..."; "1" then answers the first option."""
    greeting = phone.ask("hello")
    assert len(phone.twilio.texts_to(phone.number)) == 1
    assert "Reply 1 for Funded nursery places" in greeting and "4 for Talk to a person" in greeting
    assert "/funding_overview" not in greeting  # payloads are never shown
    answer = phone.ask("1")
    assert "3- and 4-year-olds" in answer  # the answer to /funding_overview, the first button's payload


def test_a_forged_or_missing_signature_gets_403_and_reaches_nothing(phone: Phone, redis_client: redis.Redis,
                                                                   stored_tracker_key) -> None:
    """Only Twilio, signing with our auth token for our public URL, gets through; nothing else reaches Rasa."""
    fields = phone.fields("who can go to HAF holiday clubs")
    forged = RequestValidator("not-our-token").compute_signature(SMS_WEBHOOK_URL, fields)
    local_url = RequestValidator(phone.env["TWILIO_AUTH_TOKEN"]).compute_signature(phone.webhook, fields)
    assert phone.post(fields, signature=forged) == 403
    assert phone.post(fields, signature=None) == 403
    assert phone.post(fields, signature=local_url) == 403  # signed for another URL than the configured one
    genuine = RequestValidator(phone.env["TWILIO_AUTH_TOKEN"]).compute_signature(SMS_WEBHOOK_URL, fields)
    assert phone.post({**fields, "Body": "changed on the way"}, signature=genuine) == 403  # tampered with
    assert phone.twilio.quiet_for(lambda r: r.fields.get("To") == phone.number, NOTHING_SENT_SECONDS) == []
    assert not redis_client.exists(stored_tracker_key(phone.sender_id))


def test_stop_is_confirmed_once_and_then_nothing_is_sent(phone: Phone) -> None:
    """STOP: one confirmation; a second STOP, a question and HELP get nothing; START opts back in."""
    assert "no more texts" in phone.ask("STOP")
    for body in ("stop", "who can go to HAF holiday clubs", "HELP", "1"):
        assert phone.text(body) == 200
    phone.twilio.quiet_for(lambda r: False, NOTHING_SENT_SECONDS)
    assert len(phone.twilio.texts_to(phone.number)) == 1
    assert "Welcome back" in phone.ask("Start")
    assert "free school meals" in phone.ask("who can go to HAF holiday clubs")


@pytest.mark.parametrize("keyword", ["UNSUBSCRIBE", "end", "Quit.", "STOPALL", "revoke", "OPTOUT", "cancel"])
def test_every_opt_out_keyword_opts_out(phone: Phone, keyword: str) -> None:
    """All of Twilio's standard opt-out words work, in any case, with a full stop."""
    assert "no more texts" in phone.ask(keyword)


async def test_an_opt_out_is_kept_in_redis_for_a_new_process(phone: Phone, stack: Stack,
                                                             redis_client: redis.Redis) -> None:
    """Opt-outs survive a restart: a new process (a fresh client) finds them in Redis, under a hash only."""
    phone.ask("STOP")
    state = ChannelState.from_url(stack.settings.redis.url, phone.env["CHANNEL_HASH_KEY"].encode())
    try:
        assert await state.is_opted_out("sms", phone.number)
    finally:
        await state.close()
    assert redis_client.ttl(f"send:sms:optout:{phone.sender_id[len('sms-'):]}") == -1  # never expires
    digits = phone.number.lstrip("+")
    assert not [k for k in redis_client.scan_iter("*") if digits in k]
    assert not [k for k in redis_client.scan_iter("send:*") if redis_client.type(k) == "string"
                and digits in (redis_client.get(k) or "")]


def test_help_gets_the_help_text(phone: Phone) -> None:
    """HELP and INFO get the short help text, with how to stop."""
    assert "Text STOP" in phone.ask("HELP")
    assert "Text STOP" in phone.ask("info")


def test_a_twilio_retry_is_answered_once(phone: Phone) -> None:
    """The same MessageSid twice (Twilio retrying) gets one answer."""
    fields = phone.fields("HELP")
    assert phone.post(fields) == 200
    assert phone.post(fields) == 200
    phone.replies(1)
    assert len(phone.twilio.quiet_for(lambda r: r.fields.get("To") == phone.number, NOTHING_SENT_SECONDS)) == 1


@pytest.mark.parametrize(
    "extra", [{"Body": ""}, {"Body": "   ", "NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m.jpg"}],
    ids=["empty", "picture-without-text"],
)
def test_a_text_without_words_gets_a_request_for_words(phone: Phone, extra: Dict[str, str]) -> None:
    """An empty text or an MMS without words gets a short request to write the question."""
    before = len(phone.twilio.texts_to(phone.number))
    assert phone.post(phone.fields("", **extra)) == 200
    assert "only read words" in phone.replies(before + 1)[-1]


def test_a_signed_request_that_is_not_a_message_is_refused(phone: Phone) -> None:
    """Signed, but without From or MessageSid: 400, nothing sent."""
    fields = phone.fields("hello")
    del fields["From"]
    assert phone.post(fields) == 400


# --- The sender on its own: retries without duplicates ---------------------------------------------------------------


@pytest.fixture
def flaky_twilio() -> Iterator[TwilioStandIn]:
    """A Twilio stand-in of this test's own, to make fail or hang."""
    standin = TwilioStandIn(account_sid="AC" + uuid.uuid4().hex, auth_token="token").start()
    yield standin
    standin.stop()


def _sender(standin: TwilioStandIn) -> TwilioMessages:
    return TwilioMessages(TwilioConfig(account_sid=standin.account_sid, auth_token=standin.auth_token,
                                       number="+447700900000", hash_key=b"k", api_base=standin.url))


async def test_a_5xx_is_never_retried(flaky_twilio: TwilioStandIn) -> None:
    """Twilio answering 500 may already have queued the text: it is not sent again, so nobody gets it twice."""
    flaky_twilio.fail_next(500)
    sender = _sender(flaky_twilio)
    try:
        assert not await sender.send("+447700900999", "Hello")
    finally:
        await sender.close()
    assert len(flaky_twilio.calls()) == 1


async def test_a_429_is_retried_and_the_text_delivered_once(flaky_twilio: TwilioStandIn) -> None:
    """Twilio refusing for too many requests has queued nothing: the next try delivers one text."""
    flaky_twilio.fail_next(429)
    sender = _sender(flaky_twilio)
    try:
        assert await sender.send("+447700900997", "Hello")
    finally:
        await sender.close()
    assert len(flaky_twilio.calls()) == 2
    assert flaky_twilio.texts_to("+447700900997") == ["Hello"]


async def test_no_answer_after_sending_is_not_retried(flaky_twilio: TwilioStandIn,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that reached Twilio but timed out is not sent again: a retry could text the family twice."""
    import aiohttp

    import bot.twilio_messages

    monkeypatch.setattr(bot.twilio_messages, "SEND_TIMEOUT", aiohttp.ClientTimeout(total=1))
    flaky_twilio.hang_next(3)
    sender = _sender(flaky_twilio)
    try:
        assert not await sender.send("+447700900998", "Hello")
    finally:
        await sender.close()
    await asyncio.sleep(0.2)
    assert len(flaky_twilio.calls()) == 1


async def test_an_unreachable_twilio_is_retried_then_given_up() -> None:
    """Nobody listening: the request never left, so it is retried, then given up with an error (no crash)."""
    standin = TwilioStandIn(account_sid="AC" + uuid.uuid4().hex, auth_token="token")  # never started
    sender = _sender(standin)
    try:
        assert not await sender.send("+447700900997", "Hello")
    finally:
        await sender.close()


async def test_a_refused_message_is_not_retried(flaky_twilio: TwilioStandIn) -> None:
    """A 4xx (e.g. the number opted out at Twilio, error 21610) will not change on retry."""
    flaky_twilio.fail_next(400)
    sender = _sender(flaky_twilio)
    try:
        assert not await sender.send("+447700900996", "Hello")
    finally:
        await sender.close()
    assert len(flaky_twilio.calls()) == 1


# --- Redis down: a logged error or a calm reply, never a crash --------------------------------------------------------


def _channel_without_redis(standin: TwilioStandIn) -> SmsInput:
    """An SMS channel whose Redis is a port nobody listens on (Redis down)."""
    config = TwilioConfig(account_sid=standin.account_sid, auth_token=standin.auth_token, number="+447700900000",
                          hash_key=b"k", api_base=standin.url)
    return SmsInput(config, redis_url=f"redis://{LOOPBACK}:{free_port()}/0")


async def test_with_redis_down_a_question_gets_a_logged_error_and_no_text(
    flaky_twilio: TwilioStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """We cannot tell whether the number said STOP, so we send nothing and log why (fail closed); no crash."""
    channel = _channel_without_redis(flaky_twilio)
    reached_rasa: List[str] = []

    async def rasa(message) -> None:  # stands in for Rasa's handler
        reached_rasa.append(message.text)

    try:
        await channel.handle(IncomingSms("SM1", "+447700900995", "hello", 0), rasa)
    finally:
        await channel.close()
    assert reached_rasa == [] and flaky_twilio.calls() == []
    assert "cannot read the opt-out list" in caplog.text


async def test_with_redis_down_stop_is_confirmed_and_honoured(flaky_twilio: TwilioStandIn) -> None:
    """STOP during an outage is still confirmed, and nothing else is sent to that number afterwards."""
    channel = _channel_without_redis(flaky_twilio)

    async def rasa(message) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "An answer."})

    try:
        await channel.handle(IncomingSms("SM2", "+447700900994", "STOP", 0), rasa)
        await channel.handle(IncomingSms("SM3", "+447700900994", "hello", 0), rasa)
    finally:
        await channel.close()
    assert flaky_twilio.texts_to("+447700900994") == [load_channel_texts().sms.opted_out]
