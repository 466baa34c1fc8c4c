"""One rendering layer for every medium: SMS parts and numbered menus, Telegram keyboards. Issue #4."""

from __future__ import annotations

import re

import pytest

from bot.knowledge import load_knowledge
from channels.render import (
    SMS_PART_SEPTETS,
    TELEGRAM_CALLBACK_MAX_BYTES,
    TELEGRAM_TEXT_MAX_CHARS,
    BotMessage,
    Button,
    callback_data,
    callback_id,
    gsm7_septets,
    is_callback_id,
    is_gsm7,
    render_sms,
    render_telegram,
    sms_menu_choice,
    sms_menu_number,
    split_text,
    to_gsm7,
)

KNOWLEDGE = load_knowledge()
URL = re.compile(r"https?://\S+")
GREETING_BUTTONS = (
    Button("Funded nursery places", "/funding_overview"),
    Button("EHC needs assessments", "/ehc_what_is"),
    Button("HAF holiday clubs", "/haf_eligibility"),
    Button("Talk to a person", "/human_handoff"),
)


# --- Reading Rasa's messages ----------------------------------------------------------------------------------------


def test_a_rasa_message_with_buttons_is_read() -> None:
    """Text and buttons (or quick replies) are kept; an image becomes its link."""
    message = BotMessage.from_rasa({
        "text": "Hello", "image": "https://example.org/a.png",
        "buttons": [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "/deny"}],
    })
    assert message == BotMessage("Hello\nhttps://example.org/a.png", (Button("Yes", "yes"), Button("No", "/deny")))
    assert BotMessage.from_rasa({"quick_replies": [{"title": "A", "payload": "a"}]}).buttons == (Button("A", "a"),)


# --- GSM-7 ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it\u2019s \u201cfree\u201d", "it's \"free\""),
        ("6\u201316 weeks \u2014 or more\u2026", "6-16 weeks - or more..."),
        ("Hello \U0001F44B there \u2728!", "Hello there!"),
        ("caf\u00e9 \u00e1rbol na\u00efve", "caf\u00e9 arbol naive"),
        ("\u00a315,400 a year", "\u00a315,400 a year"),
        ("a\u00a0b\tc", "a b c"),
        ("line one \U0001F600\nline two", "line one\nline two"),
    ],
    ids=["curly-quotes", "dashes-and-ellipsis", "emoji-dropped", "accents", "pound-sign-kept", "odd-spaces",
         "emoji-at-line-end"],
)
def test_text_is_made_gsm7_safe(text: str, expected: str) -> None:
    """Curly quotes, dashes and ellipses become ASCII; emoji and other non-GSM characters are dropped."""
    assert to_gsm7(text) == expected
    assert is_gsm7(to_gsm7(text))


def test_extension_characters_count_twice() -> None:
    """[ ] { } ~ | ^ \\ and the euro sign take an escape septet each."""
    assert gsm7_septets("a[b]\u20ac") == 8


# --- SMS --------------------------------------------------------------------------------------------------------------


def test_buttons_become_one_numbered_menu_in_the_same_text() -> None:
    """Happy path: a greeting with four buttons is one SMS with "Reply 1 for ..."; payloads are never shown."""
    reply = render_sms([BotMessage("Hi! What would you like to know about?", GREETING_BUTTONS)])
    assert reply.parts == (
        "Hi! What would you like to know about?\nReply 1 for Funded nursery places, 2 for EHC needs assessments, "
        "3 for HAF holiday clubs or 4 for Talk to a person.",
    )
    assert reply.menu == ("/funding_overview", "/ehc_what_is", "/haf_eligibility", "/human_handoff")
    assert "/" not in reply.parts[0]


def test_all_messages_of_a_turn_are_joined() -> None:
    """Two short messages make one text, not two."""
    reply = render_sms([BotMessage("First."), BotMessage("Second.")])
    assert reply.parts == ("First.\nSecond.",)
    assert reply.menu == ()


def test_menu_numbers_run_on_across_a_turn_and_stop_at_nine() -> None:
    """Buttons of two messages share one numbering; a tenth option is left out (a reply is one digit)."""
    many = tuple(Button(f"Option {n}", f"/o{n}") for n in range(8))
    reply = render_sms([BotMessage("A?", (Button("Yes", "yes"), Button("No", "no"))), BotMessage("B?", many)])
    assert "Reply 1 for Yes or 2 for No." in reply.parts[0]
    assert "3 for Option 0" in "".join(reply.parts)
    assert len(reply.menu) == 9 and reply.menu[:2] == ("yes", "no")


@pytest.mark.parametrize("topic", KNOWLEDGE.topics)
def test_every_answer_fits_parts_of_two_segments(topic: str) -> None:
    """Each real answer becomes GSM-7 parts of at most 306 septets, split between sentences, links whole."""
    values = {name: "from 1 January 2027" for name in KNOWLEDGE.variables[topic]}
    messages = [BotMessage(t) for t in KNOWLEDGE.answer(topic, **values)]
    reply = render_sms(messages + [BotMessage("More?", GREETING_BUTTONS[:2])])
    original_urls = [u for m in messages for u in URL.findall(to_gsm7(m.text))]
    assert all(is_gsm7(p) and gsm7_septets(p) <= SMS_PART_SEPTETS for p in reply.parts)
    assert [u for p in reply.parts for u in URL.findall(p)] == original_urls
    assert all(re.search(r"[.!?:)]$|\S+://\S+$", p) for p in reply.parts), reply.parts


def test_long_text_splits_at_sentence_boundaries() -> None:
    """A reply longer than two segments is split after a full stop, never mid-sentence."""
    sentence = "This sentence is about forty characters. "
    parts = split_text(sentence * 12, SMS_PART_SEPTETS, gsm7_septets)
    assert len(parts) == 2
    assert all(p.endswith("characters.") and len(p) <= SMS_PART_SEPTETS for p in parts)
    assert " ".join(parts) == (sentence * 12).strip()


def test_a_link_is_never_cut() -> None:
    """A long sentence is split between words; the link stays whole in one part."""
    url = "https://www.coventry.gov.uk/" + "a" * 150
    text = "word " * 60 + url + " and then some more words."
    parts = split_text(text, SMS_PART_SEPTETS, gsm7_septets)
    assert any(url in p for p in parts)
    assert all(gsm7_septets(p) <= SMS_PART_SEPTETS for p in parts)
    assert " ".join(parts) == text.strip()


def test_extension_characters_are_counted_when_splitting() -> None:
    """A part full of [ ] stays within 306 septets, not 306 characters."""
    parts = split_text("[x] " * 100, SMS_PART_SEPTETS, gsm7_septets)
    assert all(gsm7_septets(p) <= SMS_PART_SEPTETS for p in parts)


def test_an_unbreakable_word_is_cut_only_as_a_last_resort() -> None:
    """Nothing is ever lost, even a 700-character word."""
    parts = split_text("x" * 700, SMS_PART_SEPTETS)
    assert "".join(parts) == "x" * 700 and max(len(p) for p in parts) <= SMS_PART_SEPTETS


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("1", "/a"), (" 2 ", "b c"), ("2.", "b c"), ("3", None), ("12", None), ("one", None), ("0", None)],
    ids=["one", "spaces", "full-stop", "past-the-menu", "two-digits", "a-word", "zero"],
)
def test_a_number_maps_back_to_its_payload(reply: str, expected: object) -> None:
    """"1"/"2" stands for the last menu's payload; anything else is not a menu choice."""
    assert sms_menu_choice(reply, ("/a", "b c")) == expected


def test_a_bare_number_is_recognised_without_a_menu() -> None:
    """The channel only asks Redis for a menu when the text is one digit."""
    assert sms_menu_number("4") == 4 and sms_menu_number("hi 4") is None


# --- Telegram -----------------------------------------------------------------------------------------------------


def test_telegram_buttons_become_an_inline_keyboard() -> None:
    """Short payloads travel as they are, one button per row, under the text."""
    [reply] = render_telegram(BotMessage("Hi!", GREETING_BUTTONS))
    assert reply.text == "Hi!"
    assert reply.keyboard[0] == ("Funded nursery places", "/funding_overview")
    assert reply.callbacks == {}


def test_long_payloads_get_a_short_id_to_remember() -> None:
    """callback_data is at most 64 bytes: a longer payload becomes a stable short id, kept in ``callbacks``."""
    payload = '/inform{"survey_answer": "' + "\u00e9" * 40 + '"}'
    [reply] = render_telegram(BotMessage("Pick", (Button("Long", payload),)))
    (title, data), = reply.keyboard
    assert len(data.encode()) <= TELEGRAM_CALLBACK_MAX_BYTES and is_callback_id(data)
    assert reply.callbacks == {data: payload}
    assert callback_id(payload) == data


def test_a_payload_that_looks_like_a_short_id_is_mapped_too() -> None:
    """So a callback's data can never be read two ways."""
    assert callback_data("cb:abc") != "cb:abc"
    assert callback_data("/greet") == "/greet"


def test_buttons_without_text_still_get_a_text() -> None:
    """Telegram refuses a keyboard on an empty message."""
    [reply] = render_telegram(BotMessage("", (Button("Yes", "yes"),)))
    assert reply.text and reply.keyboard == (("Yes", "yes"),)


def test_a_very_long_telegram_text_is_split_with_the_keyboard_last() -> None:
    """Past 4096 characters the text is split; the buttons go with the last part."""
    replies = render_telegram(BotMessage("A sentence here. " * 400, (Button("Yes", "yes"),)))
    assert len(replies) == 2
    assert all(len(r.text) <= TELEGRAM_TEXT_MAX_CHARS for r in replies)
    assert replies[0].keyboard == () and replies[1].keyboard == (("Yes", "yes"),)


def test_an_empty_message_renders_nothing() -> None:
    """No empty SMS and no empty Telegram message."""
    assert render_sms([BotMessage("")]).parts == ()
    assert render_telegram(BotMessage("  ")) == []
