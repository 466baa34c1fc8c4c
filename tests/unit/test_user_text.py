"""Cleaning what people type (bot/user_text.py): no crash for bad input, and nothing a person meant is lost. Issue #10.

The examples are what real messages carry: half an emoji from a JSON escape, a right-to-left override that makes a
survey answer display backwards, NUL from a cheap phone, Windows line ends, and the emoji and scripts (Welsh,
Polish, Urdu) that must come through untouched. The properties say the same for any text at all.
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.user_text import INVISIBLE_CHARACTERS, clean_user_text, neutralise_command

FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # 👨‍👩‍👧: three people joined by ZWJ
RED_HEART = "\u2764\ufe0f"  # ❤️: a heart with the emoji variation selector
WELSH_FLAG = "\U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073\U000E007F"  # 🏴󠁧󠁢󠁷󠁬󠁳󠁿: tag characters
THUMBS_UP_MEDIUM = "\U0001F44D\U0001F3FD"  # 👍🏽: skin tone modifier


def _is_surrogate(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


def _is_dropped_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in "\n\t"


# --- Examples ---------------------------------------------------------------------------------------------------


def test_a_lone_surrogate_from_a_json_escape_is_dropped() -> None:
    """ "\\ud800" decodes fine in Python but crashes the first UTF-8 encoder (Redis, logs); the words survive."""
    typed = json.loads('"my son \\ud800is 4"')
    cleaned = clean_user_text(typed)
    assert cleaned == "my son is 4"
    cleaned.encode("utf-8")  # would raise UnicodeEncodeError before cleaning


def test_a_surrogate_pair_kept_as_two_code_points_becomes_its_emoji() -> None:
    """Half of an emoji is dropped, but both halves together are the emoji the person sent."""
    assert clean_user_text("thanks \ud83d\ude00") == "thanks \U0001F600"
    assert clean_user_text("thanks \ud83d") == "thanks"
    assert clean_user_text("\ude00\ud83d") == ""  # the wrong order is no character at all


def test_a_right_to_left_override_cannot_disguise_an_answer() -> None:
    """U+202E makes "school is great\u202etaerg ton" display differently from what is stored: removed."""
    assert clean_user_text("school is \u202etaerg ton") == "school is taerg ton"
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert clean_user_text(f"a{ch}b") == "ab", hex(ord(ch))


def test_invisible_characters_inside_words_are_removed() -> None:
    """Zero-width spaces, word joiners and a stray BOM would hide a word from filters and reviewers."""
    assert clean_user_text("\ufeffsch\u200bool\u2060 run") == "school run"


def test_nul_and_other_control_characters_are_removed() -> None:
    assert clean_user_text("help\x00 me") == "help me"
    assert clean_user_text("a\x07\x08\x1b[31mb\x7f\x85c\x9f") == "a[31mb\nc"  # NEL (U+0085) is a line break


def test_line_breaks_and_tabs_are_kept_in_one_form() -> None:
    """CRLF and a lone CR become "\\n"; runs of blank lines become one; a tab is kept."""
    assert clean_user_text("line one\r\nline two\rline three") == "line one\nline two\nline three"
    assert clean_user_text("a\n\n\n\n\nb") == "a\n\nb"
    assert clean_user_text("a\n \n\t\n  \nb") == "a\n\nb"
    assert clean_user_text("name:\tJo") == "name:\tJo"
    assert clean_user_text("  \n hello \t\n ") == "hello"


@pytest.mark.parametrize("emoji", [FAMILY, RED_HEART, WELSH_FLAG, THUMBS_UP_MEDIUM, "7\ufe0f\u20e3"])
def test_emoji_are_kept_whole(emoji: str) -> None:
    """The joiner, variation selectors, tags and skin tones are part of the emoji, not formatting to remove."""
    assert clean_user_text(f"we are {emoji}") == f"we are {emoji}"


@pytest.mark.parametrize("text", [
    "Mae fy mab yn mynd i'r ysgol feithrin. Dw i'n poeni am ei iaith a'i ŵyl.",  # Welsh, with ŵ
    "Zażółć gęślą jaźń. Mój syn ma orzeczenie o potrzebie kształcenia specjalnego.",  # Polish
    "میرے بیٹے کو اسکول میں مدد چاہیے",  # Urdu, right to left
    "\u0645\u0631\u062d\u0628\u0627 \u200fhello\u200e",  # Arabic with RLM/LRM marks, which cannot reorder text
    "Mein Sohn hat Förderbedarf – ist das £15 oder €15?",
])
def test_text_in_other_languages_is_kept(text: str) -> None:
    assert clean_user_text(text) == unicodedata.normalize("NFC", text)


def test_one_letter_written_two_ways_becomes_one_form() -> None:
    """ "é" as one code point or as "e" + U+0301 compares, counts and redacts the same."""
    assert clean_user_text("cafe\u0301") == clean_user_text("caf\u00e9") == "caf\u00e9"


@pytest.mark.parametrize(("typed", "expected"), [
    ("/restart", "restart"),
    ('/survey_offer{"survey":"x"}', 'survey_offer{"survey":"x"}'),
    ("  /restart", "restart"),
    ("// / stop", "stop"),
    ("///", ""),
    ("/", ""),
    ("/ \n ", ""),
])
def test_a_typed_command_is_read_as_words(typed: str, expected: str) -> None:
    """A message that Rasa would take as "/intent{entities}" loses its slashes, so it cannot set slots."""
    assert neutralise_command(typed) == expected


@pytest.mark.parametrize("typed", ["yes/no", "1/2 hours", "24/7 care", " hello", "", "and/or \u2215x"])
def test_text_not_starting_with_a_slash_is_unchanged(typed: str) -> None:
    assert neutralise_command(typed) == typed


# --- Properties -------------------------------------------------------------------------------------------------

# Every code point, lone surrogates and control characters included, mixed with the characters this module treats
# specially, so the properties meet them often rather than once in a million examples.
_SPECIAL = (
    "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\ude00", "\x00", "\r", "\n", "\r\n", "\t", "\x0b", "\x0c",
    "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029", " ", "\u00a0", "\u3000", "/", "\u0301", "e", "\u200d",
    "\ufe0f", "\U000e0067", *sorted(INVISIBLE_CHARACTERS), FAMILY, RED_HEART, "\u0645", "\u0175",
)
ANY_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=())),
    st.lists(st.sampled_from(_SPECIAL), max_size=20).map("".join),
    st.lists(st.one_of(st.sampled_from(_SPECIAL), st.characters(blacklist_categories=())), max_size=30).map("".join),
)


@settings(max_examples=500, deadline=None)
@given(text=ANY_TEXT)
def test_cleaning_never_raises_and_is_idempotent(text: str) -> None:
    cleaned = clean_user_text(text)
    assert clean_user_text(cleaned) == cleaned


@settings(max_examples=500, deadline=None)
@given(text=ANY_TEXT)
def test_cleaned_text_is_safe_to_store_send_and_log(text: str) -> None:
    """No surrogate, no control character but \\n and \\t, no bidi or invisible formatting; UTF-8 and JSON work."""
    cleaned = clean_user_text(text)
    assert not any(_is_surrogate(ch) for ch in cleaned)
    assert not any(_is_dropped_control(ch) for ch in cleaned)
    assert not set(cleaned) & INVISIBLE_CHARACTERS
    assert "\r" not in cleaned and "\u2028" not in cleaned and "\u2029" not in cleaned
    assert "\n\n\n" not in cleaned
    assert cleaned == cleaned.strip()
    assert unicodedata.is_normalized("NFC", cleaned)
    assert json.loads(json.dumps(cleaned, ensure_ascii=False).encode("utf-8")) == cleaned


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp"))))
def test_ordinary_text_loses_nothing_but_surrounding_space(text: str) -> None:
    """Letters, digits, symbols, marks and spaces of any script: only NFC and the outer whitespace change."""
    assert clean_user_text(text) == unicodedata.normalize("NFC", text).strip()


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
def test_a_neutralised_message_never_starts_with_a_slash(text: str) -> None:
    """Whatever was typed, Rasa never sees "/" first; cleaning first means no invisible character hides one."""
    safe = neutralise_command(clean_user_text(text))
    assert not safe.lstrip().startswith("/")
    assert neutralise_command(safe) == safe
    assert not neutralise_command(text).lstrip().startswith("/")
    if not text.lstrip().startswith("/"):
        assert neutralise_command(text) == text
