"""How the assistant's replies become each medium's form: one module for SMS, Telegram and (later) the web.

Rasa hands a channel one message at a time: a text and maybe buttons (``{"title", "payload"}``), where a payload is
either an intent (``"/funding_overview"``) or plain words (``"not sure"``). Each medium needs its own shape:

- **SMS** costs money per 160-character segment and has no buttons. All messages of one turn are joined, buttons
  become numbered options in the same text ("Reply 1 for X or 2 for Y"), payloads are never shown, and the text is
  kept to GSM-7 (one emoji would switch the whole message to UCS-2, 70 characters a segment). Long replies are split
  into parts of at most two concatenated segments, at sentence boundaries and never inside a link.
- **Telegram** has inline keyboards, but a button's ``callback_data`` is 1-64 bytes: longer payloads get a short id
  that the channel remembers.

Everything here is pure (no I/O), so every rule is unit tested; the channels do the sending and remembering.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

_SURROGATES = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> str:
    """A field as text, without lone surrogates: a slot echoed into a reply could carry one, and no medium's
    encoder (UTF-8 for Telegram, UTF-16 for its length rules) can send it."""
    return _SURROGATES.sub("", str(value or ""))


# --- GSM-7 --------------------------------------------------------------------------------------------------------
# The GSM 03.38 default alphabet (one septet each) and its extension table (two septets each: escape + character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€")
# Characters that look like ASCII ones and often arrive from word processors (curly quotes in answers.yml, dashes).
GSM7_LOOKALIKES: Mapping[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "-", "\u00b7": "-", "\u2023": "-", "\u2043": "-",
    "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ", "\u2002": " ", "\u2003": " ",
    "\t": " ", "\u00d7": "x", "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4",
}
SMS_CONCATENATED_SEGMENT_SEPTETS = 153  # each segment of a longer message (7 septets go to the joining header)
# A part is what we send as one API message: at most two concatenated segments, the most a reply should cost.
SMS_PART_SEPTETS = 2 * SMS_CONCATENATED_SEGMENT_SEPTETS

# --- SMS menus ----------------------------------------------------------------------------------------------------
SMS_MENU_INTRO = "Reply"
SMS_MENU_OPTION = "{number} for {title}"
SMS_MENU_LAST_JOIN = " or "
SMS_MENU_JOIN = ", "
# A numbered menu never goes past 9, so a reply is always one digit (a phone keypad's natural answer).
SMS_MENU_MAX_OPTIONS = 9

# --- Telegram -----------------------------------------------------------------------------------------------------
TELEGRAM_CALLBACK_MAX_BYTES = 64
TELEGRAM_TEXT_MAX_CHARS = 4096
# Long payloads travel as this prefix plus a hash; a payload that itself starts with it is always mapped, so a
# callback's data can never be read two ways.
CALLBACK_ID_PREFIX = "cb:"
CALLBACK_ID_HASH_CHARS = 16  # 96 bits of a SHA-256, base64url: no collisions among a bot's few hundred payloads
TELEGRAM_BUTTONS_ONLY_TEXT = "Choose one:"  # Telegram refuses a keyboard without text
# Buttons as short as a score ("0" to "10") share rows, so a 0-10 scale fits a phone screen.
TELEGRAM_SHORT_TITLE_CHARS = 3
TELEGRAM_SHORT_BUTTONS_PER_ROW = 6

# A sentence ends at . ! ? (maybe followed by a closing quote or bracket) before a space, or at a line break.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]?[ ]+|\n+")
_MENU_NUMBER = re.compile(r"\s*([1-9])\s*[.)]?\s*")
_SPACES = re.compile(r"[ ]{2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ ]+(?=[.,!?;:])")


@dataclass(frozen=True)
class Button:
    """One choice offered with a message."""

    title: str  # what the user sees
    payload: str  # what Rasa gets back when it is chosen: "/intent" or plain words


@dataclass(frozen=True)
class BotMessage:
    """One message from Rasa, reduced to what any of our media can show."""

    text: str  # may be empty when the message is only buttons
    buttons: Tuple[Button, ...] = ()

    @classmethod
    def from_rasa(cls, message: Mapping[str, Any]) -> "BotMessage":
        """Read a Rasa bot message (``text``, ``buttons`` or ``quick_replies``, ``image``, ``attachment``).

        Images and attachments become their link on a line of their own: none of our media shows them inline
        reliably, and a link is what a parent can open on any phone. ``custom`` payloads are not for these media.

        Args:
            message: the dict Rasa passes to ``OutputChannel.send_response``.

        Returns:
            The message as text and buttons.
        """
        lines = [_text(message.get("text")).strip()]
        lines += [_text(message[key]).strip() for key in ("image", "attachment") if isinstance(message.get(key), str)]
        raw_buttons = message.get("buttons") or message.get("quick_replies") or []
        if not isinstance(raw_buttons, (list, tuple)):
            raw_buttons = []  # "buttons: 5" (a slip in domain.yml) must not stop the text from being sent
        buttons = tuple(
            Button(title=_text(b.get("title") or b.get("payload")).strip(), payload=_text(b.get("payload")))
            for b in raw_buttons
            if isinstance(b, Mapping) and (b.get("payload") or b.get("title"))
        )
        return cls(text="\n".join(line for line in lines if line), buttons=buttons)


# --- GSM-7 --------------------------------------------------------------------------------------------------------


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` can be sent in a GSM-7 SMS."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def gsm7_septets(text: str) -> int:
    """How many septets ``text`` takes in a GSM-7 SMS (extension characters such as ``€`` or ``[`` take two)."""
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def to_gsm7(text: str) -> str:
    """Make ``text`` safe to send as GSM-7.

    Curly quotes, dashes and ellipses become their ASCII forms, accented letters outside GSM-7 lose their accent
    (``á`` -> ``a``), and anything else (emoji, symbols) is dropped: one such character would make the whole message
    UCS-2, cutting a segment from 160 characters to 70 and doubling what a reply costs.

    Args:
        text: any text.

    Returns:
        Text made only of GSM-7 characters, with the spaces a dropped character leaves tidied up.
    """
    text = text.replace("\r\n", "\n")
    out: List[str] = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
        elif ch in GSM7_LOOKALIKES:
            out.append(GSM7_LOOKALIKES[ch])
        else:
            # "á" decomposes to "a" + a combining accent; keep the letter, drop what GSM-7 cannot carry.
            out.extend(c for c in unicodedata.normalize("NFKD", ch) if c in GSM7_BASIC and c not in "\n\r")
    cleaned = _SPACE_BEFORE_PUNCTUATION.sub("", _SPACES.sub(" ", "".join(out)))
    return "\n".join(line.strip() for line in cleaned.split("\n")).strip()


# --- Splitting long text ------------------------------------------------------------------------------------------


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> List[str]:
    """Split ``text`` into parts of at most ``limit`` (as ``measure`` counts), at sentence boundaries.

    A sentence longer than ``limit`` is split between words; a single word (a link) is only ever cut when it alone is
    longer than ``limit``, which no link of ours is. Line breaks inside a part are kept.

    Args:
        text: the text to split.
        limit: the most each part may measure.
        measure: how to count a part's size (``len``, or ``gsm7_septets`` for SMS).

    Returns:
        The parts, in order, none of them empty.
    """
    text = text.strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    pieces = _pieces(text, limit, measure)
    parts: List[str] = []
    current = ""
    for piece, separator in pieces:
        candidate = f"{current}{piece}" if current else piece
        if current and measure(candidate.rstrip()) > limit:
            parts.append(current.rstrip())
            candidate = piece
        current = candidate + separator
    if current.strip():
        parts.append(current.rstrip())
    return parts


def _pieces(text: str, limit: int, measure: Callable[[str], int]) -> List[Tuple[str, str]]:
    """Sentences (or, for an over-long sentence, words) each with the separator that followed it."""
    pieces: List[Tuple[str, str]] = []
    position = 0
    for match in _SENTENCE_BREAK.finditer(text):
        sentence = text[position:match.start()] + match.group(0).rstrip(" \n")
        separator = "\n" if "\n" in match.group(0) else " "
        pieces.extend(_fit(sentence, separator, limit, measure))
        position = match.end()
    pieces.extend(_fit(text[position:], "", limit, measure))
    return [(p, s) for p, s in pieces if p]


def _fit(sentence: str, separator: str, limit: int, measure: Callable[[str], int]) -> List[Tuple[str, str]]:
    if measure(sentence) <= limit:
        return [(sentence, separator)]
    words = sentence.split(" ")
    fitted: List[Tuple[str, str]] = []
    for index, word in enumerate(words):
        after = separator if index == len(words) - 1 else " "
        while measure(word) > limit:  # a word longer than a whole part: the only place we ever cut
            cut = _longest_prefix(word, limit, measure)
            fitted.append((word[:cut], ""))
            word = word[cut:]
        fitted.append((word, after))
    return fitted


def _longest_prefix(word: str, limit: int, measure: Callable[[str], int]) -> int:
    cut = min(len(word), limit)
    while cut > 1 and measure(word[:cut]) > limit:
        cut -= 1
    return cut


# --- SMS ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsReply:
    """One turn of the conversation as SMS."""

    parts: Tuple[str, ...]  # each sent as one message: GSM-7 only, at most SMS_PART_SEPTETS septets
    menu: Tuple[str, ...] = ()  # the payload a reply of "1", "2", ... stands for (index + 1); empty: no menu


def sms_menu_sentence(numbered_titles: Sequence[Tuple[int, str]]) -> str:
    """``[(1, "Yes"), (2, "No")]`` -> ``"Reply 1 for Yes or 2 for No."``."""
    options = [SMS_MENU_OPTION.format(number=number, title=title) for number, title in numbered_titles]
    listed = options[0] if len(options) == 1 else SMS_MENU_JOIN.join(options[:-1]) + SMS_MENU_LAST_JOIN + options[-1]
    return f"{SMS_MENU_INTRO} {listed}."


def render_sms(messages: Sequence[BotMessage], part_septets: int = SMS_PART_SEPTETS) -> SmsReply:
    """Turn all of one turn's bot messages into SMS parts and a numbered menu.

    Buttons become numbered options right after the message that offered them, numbered on across the turn (at most
    ``SMS_MENU_MAX_OPTIONS``), so one digit answers any of them; their payloads stay in ``menu`` for the channel to
    remember and are never shown.

    Args:
        messages: the turn's messages, in order.
        part_septets: the most one part may take (default: two concatenated segments).

    Returns:
        The parts to send, in order, and the menu.
    """
    lines: List[str] = []
    menu: List[str] = []
    for message in messages:
        text = to_gsm7(message.text)
        if text:
            lines.append(text)
        numbered: List[Tuple[int, str]] = []
        for button in message.buttons:
            title = to_gsm7(button.title)
            if len(menu) >= SMS_MENU_MAX_OPTIONS or not title:
                continue
            menu.append(button.payload)
            numbered.append((len(menu), title))
        if numbered:
            lines.append(sms_menu_sentence(numbered))
    return SmsReply(parts=tuple(split_text("\n".join(lines), part_septets, gsm7_septets)), menu=tuple(menu))


def sms_menu_number(reply: str) -> Optional[int]:
    """The option number a reply such as ``"2"`` (or ``" 2."``) gives, or None when it is not just a number."""
    match = _MENU_NUMBER.fullmatch(reply)
    return int(match.group(1)) if match else None


def sms_menu_choice(reply: str, menu: Sequence[str]) -> Optional[str]:
    """The payload a reply such as ``"2"`` stands for in ``menu``, or None when it is not one of its numbers."""
    number = sms_menu_number(reply)
    return menu[number - 1] if number is not None and number <= len(menu) else None


# --- Telegram -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TelegramReply:
    """One Telegram message: plain text and an inline keyboard, one button per row."""

    text: str  # sent without parse_mode, so nothing in it is read as markup
    keyboard: Tuple[Tuple[str, str], ...] = ()  # (title, callback_data), each callback_data 1-64 bytes
    callbacks: Mapping[str, str] = field(default_factory=dict)  # short id -> payload, for the channel to remember


def callback_id(payload: str) -> str:
    """The short id that stands for ``payload`` in a callback (the same id for the same payload, every time)."""
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return CALLBACK_ID_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")[:CALLBACK_ID_HASH_CHARS]


def is_callback_id(data: str) -> bool:
    """True when a callback's data is a short id (to look up) rather than the payload itself."""
    return data.startswith(CALLBACK_ID_PREFIX)


def callback_data(payload: str) -> str:
    """What a button's ``callback_data`` should carry: the payload when it fits in 64 bytes, else its short id."""
    size = len(payload.encode("utf-8"))
    if 0 < size <= TELEGRAM_CALLBACK_MAX_BYTES and not is_callback_id(payload):
        return payload
    return callback_id(payload)


def _utf16_units(text: str) -> int:
    """Telegram counts a message's length in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def render_telegram(message: BotMessage) -> List[TelegramReply]:
    """Turn one bot message into Telegram messages (more than one only past Telegram's 4096 characters).

    The keyboard goes with the last message, under the text it belongs to.

    Args:
        message: one message from Rasa.

    Returns:
        The messages to send, in order; empty when there is nothing to show.
    """
    texts = split_text(message.text, TELEGRAM_TEXT_MAX_CHARS, _utf16_units)
    if not message.buttons:
        return [TelegramReply(text=t) for t in texts]
    keyboard: List[Tuple[str, str]] = []
    callbacks: Dict[str, str] = {}
    for button in message.buttons:
        title = button.title if button.title.strip() else button.payload
        if not title.strip():
            continue  # Telegram refuses a button without text, and the whole message with it
        data = callback_data(button.payload)
        if data != button.payload:
            callbacks[data] = button.payload
        keyboard.append((title, data))
    if not keyboard:
        return [TelegramReply(text=t) for t in texts]
    texts = texts or [TELEGRAM_BUTTONS_ONLY_TEXT]
    last = TelegramReply(text=texts[-1], keyboard=tuple(keyboard), callbacks=callbacks)
    return [TelegramReply(text=t) for t in texts[:-1]] + [last]


def keyboard_rows(keyboard: Sequence[Tuple[str, str]]) -> List[List[Tuple[str, str]]]:
    """Lay out an inline keyboard: one button per row, or rows of up to six when every title is a short score."""
    if keyboard and all(len(title) <= TELEGRAM_SHORT_TITLE_CHARS for title, _ in keyboard):
        return [list(keyboard[i:i + TELEGRAM_SHORT_BUTTONS_PER_ROW])
                for i in range(0, len(keyboard), TELEGRAM_SHORT_BUTTONS_PER_ROW)]
    return [[button] for button in keyboard]
