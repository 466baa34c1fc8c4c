"""The Telegram channel through the running Rasa server: updates built as the Bot API sends them (JSON, with the
secret token header), replies captured by the local Bot API stand-in. Issue #4."""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional

import pytest

from bot.channel_config import TelegramConfig
from bot.channel_state import ChannelState
from bot.cli import main as cli_main
from bot.stack import LOOPBACK, Stack, free_port
from channels.render import callback_id
from channels.telegram import TelegramIncoming, TelegramInput
from tests.integration.clients import UPDATE_IDS, Chat
from tests.integration.standins import Received, TelegramStandIn

pytestmark = pytest.mark.integration

NOTHING_SENT_SECONDS = 6.0


def _keyboard(message: Received) -> List[Dict[str, str]]:
    return [button for row in message.fields.get("reply_markup", {}).get("inline_keyboard", []) for button in row]


def test_a_message_gets_a_reply_with_an_inline_keyboard(chat: Chat) -> None:
    """Happy path: "hello" gets the greeting, its buttons as an inline keyboard with callback data ≤ 64 bytes."""
    replies = chat.say(chat.message("hello"))
    buttons = [b for r in replies for b in _keyboard(r)]
    assert {"text": "Funded nursery places", "callback_data": "/funding_overview"} in buttons
    assert all(0 < len(b["callback_data"].encode()) <= 64 for b in buttons)
    assert all("parse_mode" not in r.fields for r in replies)  # plain text: nothing in it is read as markup


def test_a_button_press_is_answered_and_the_next_message_arrives(chat: Chat) -> None:
    """A callback query gets answerCallbackQuery (the spinner stops) and its payload's answer."""
    greeting = [r for r in chat.say(chat.message("hello")) if _keyboard(r)][-1]
    press = chat.press("/haf_eligibility", under=greeting)
    replies = chat.say(press)
    answered = chat.telegram.wait_for(lambda r: r.method == "answerCallbackQuery"
                                      and r.fields.get("callback_query_id") == press["callback_query"]["id"])
    assert len(answered) == 1
    assert "free school meals" in " ".join(r.fields["text"] for r in replies)


def test_a_long_payload_travels_as_a_short_id(chat: Chat, stack: Stack, channel_env: Dict[str, str]) -> None:
    """A button whose payload was too long for callback_data is pressed by its short id and still works."""
    import asyncio

    payload = "/haf_eligibility"
    short = callback_id(payload + " " * 60)  # as render.py would make for a payload over 64 bytes

    async def remember() -> None:
        state = ChannelState.from_url(stack.settings.redis.url, channel_env["CHANNEL_HASH_KEY"].encode())
        try:
            await state.save_callbacks("telegram", {short: payload})
            await state.save_offered("telegram", str(chat.chat_id), [payload])  # as sending the button does
        finally:
            await state.close()

    asyncio.run(remember())
    assert "free school meals" in " ".join(r.fields["text"] for r in chat.say(chat.press(short)))


def test_an_unknown_short_id_asks_to_type(chat: Chat) -> None:
    """A button older than we remember is still answered, and the user is asked to type instead."""
    replies = chat.say(chat.press("cb:nothing-stored"))
    assert "too old" in replies[0].fields["text"]
    chat.telegram.wait_for(lambda r: r.method == "answerCallbackQuery")


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""], ids=["missing", "wrong", "empty"])
def test_a_forged_update_gets_403_and_reaches_nothing(chat: Chat, secret: Optional[str]) -> None:
    """Without our secret token, an update is refused and nothing is sent to the chat."""
    assert chat.post(chat.message("hello"), secret=secret) == 403
    assert chat.telegram.quiet_for(lambda r: str(r.fields.get("chat_id")) == str(chat.chat_id), 2.0) == []


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"message": {"text": "no update id"}}'],
    ids=["not-json", "not-an-object", "no-update-id"],
)
def test_an_undecodable_update_gets_400(chat: Chat, body: bytes) -> None:
    """Something that is not a Telegram Update is refused with 400."""
    assert chat.post(None, raw=body) == 400


def test_other_update_kinds_are_acknowledged_and_ignored(chat: Chat) -> None:
    """my_chat_member (the user blocked the bot) gets 200, so Telegram does not retry, and no reply."""
    update = {"update_id": next(UPDATE_IDS), "my_chat_member": {
        "chat": {"id": chat.chat_id, "first_name": "Sam", "type": "private"}, "from": chat.user,
        "date": int(time.time()),
        "old_chat_member": {"user": TelegramStandIn.BOT_USER, "status": "member"},
        "new_chat_member": {"user": TelegramStandIn.BOT_USER, "status": "kicked", "until_date": 0}}}
    assert chat.post(update) == 200
    assert chat.telegram.quiet_for(lambda r: str(r.fields.get("chat_id")) == str(chat.chat_id), 2.0) == []


def test_start_with_a_deep_link_greets(chat: Chat) -> None:
    """/start with a deep-link payload (e.g. a survey id) greets with the topic buttons."""
    replies = chat.say(chat.message("/start survey_2026-spring"))
    assert any(_keyboard(r) for r in replies)


@pytest.mark.parametrize(("command", "expected"), [("/help", "/privacy"), ("/privacy", "24 hours"),
                                                   ("/help@CovSendTestBot", "/stop")],
                         ids=["help", "privacy", "help-addressed-to-the-bot"])
def test_help_and_privacy_commands(chat: Chat, command: str, expected: str) -> None:
    """/help and /privacy answer from data/knowledge/channels.yml."""
    assert expected in chat.say(chat.message(command))[0].fields["text"]


async def test_stop_and_start_record_the_choice(chat: Chat, stack: Stack, channel_env: Dict[str, str]) -> None:
    """/stop deletes the conversation and survey answers (issue #7), is confirmed and kept in Redis (invitations will
    not be sent); /start turns messages back on."""
    replies = [r.fields["text"] for r in chat.say(chat.message("/stop"))]
    assert "deleted our conversation" in replies[0] and "/start" in replies[-1]
    state = ChannelState.from_url(stack.settings.redis.url, channel_env["CHANNEL_HASH_KEY"].encode())
    try:
        assert await state.is_opted_out("telegram", str(chat.chat_id))
        chat.say(chat.message("/start"))
        assert not await state.is_opted_out("telegram", str(chat.chat_id))
    finally:
        await state.close()


def test_an_edited_message_is_answered(chat: Chat) -> None:
    """Correcting a typo re-asks the question."""
    update = chat.message("who can go to HAF holiday clubs", edit_date=int(time.time()))
    update["edited_message"] = update.pop("message")
    assert "free school meals" in " ".join(r.fields["text"] for r in chat.say(update))


def test_a_sticker_gets_a_request_for_words(chat: Chat) -> None:
    """A message without text gets a short request to type."""
    sticker = {"file_id": "x", "file_unique_id": "y", "width": 512, "height": 512, "is_animated": False,
               "is_video": False, "type": "regular"}
    assert "only read words" in chat.say(chat.message(sticker=sticker))[0].fields["text"]


def test_a_retried_update_is_answered_once(chat: Chat) -> None:
    """Telegram re-sending the same update_id gets one answer."""
    update = chat.message("/help")
    assert chat.post(update) == 200
    assert chat.post(update) == 200
    chat.sent(1)
    assert len(chat.telegram.quiet_for(lambda r: r.method == "sendMessage"
                                       and str(r.fields.get("chat_id")) == str(chat.chat_id), 3.0)) == 1


# --- make telegram-webhook ---------------------------------------------------------------------------------------------


def test_the_webhook_is_registered_with_the_secret_and_commands(telegram_standin: TelegramStandIn,
                                                                channel_env: Dict[str, str]) -> None:
    """`python -m bot telegram-webhook --url URL` calls setWebhook with our secret token, then setMyCommands."""
    url = "https://bot.example.org/webhooks/telegram/webhook"
    assert cli_main(["telegram-webhook", "--url", url]) == 0
    [webhook] = telegram_standin.calls(lambda r: r.method == "setWebhook")[-1:]
    assert webhook.fields["url"] == url
    assert webhook.fields["secret_token"] == channel_env["TELEGRAM_SECRET_TOKEN"]
    assert webhook.fields["allowed_updates"] == ["message", "edited_message", "callback_query"]
    [commands] = telegram_standin.calls(lambda r: r.method == "setMyCommands")[-1:]
    assert [c["command"] for c in commands.fields["commands"]] == ["start", "help", "privacy", "leave", "stop"]


def test_the_webhook_command_refuses_a_plain_http_url(channel_env: Dict[str, str]) -> None:
    """Telegram only calls HTTPS: a bad URL is refused before anything is sent."""
    with pytest.raises(SystemExit) as stopped:
        cli_main(["telegram-webhook", "--url", "http://bot.example.org/hook"])
    assert stopped.value.code == 2


async def test_with_redis_down_a_message_is_still_answered(telegram_standin: TelegramStandIn) -> None:
    """Telegram replies need no opt-out check: with Redis down the reply still goes, without the buttons (a press
    could not be checked against what was offered), and nothing crashes."""
    config = TelegramConfig(token=telegram_standin.token, secret_token="s", hash_key=b"k",
                            api_base=telegram_standin.url)
    channel = TelegramInput(config, redis_url=f"redis://{LOOPBACK}:{free_port()}/0")
    chat_id = secrets.randbelow(10**9) + 10**9

    async def rasa(message) -> None:  # stands in for Rasa's handler
        await message.output_channel.send_response(message.sender_id, {
            "text": "Pick one", "buttons": [{"title": "Short", "payload": "/greet"},
                                            {"title": "Long", "payload": "/inform" + "x" * 80}]})

    try:
        await channel.handle(TelegramIncoming(update_id=1, chat_id=chat_id, text="hello"), rasa)
    finally:
        await channel.close()
    [reply] = telegram_standin.sent_to(chat_id)
    assert reply.fields["text"] == "Pick one" and _keyboard(reply) == []
