"""What a person typed, made safe to pass on: every channel cleans a message here before it goes anywhere.

A message reaches Rasa, Redis, the logs and (through surveys) the forum's reviewers, and each of those breaks on
something different that real people send:

- **Lone UTF-16 surrogates** (U+D800-U+DFFF). A JSON body may carry ``"\\ud800"`` on its own (a phone keyboard that
  cut an emoji in half, a client that truncated a string by UTF-16 units). Python decodes it happily, but the first
  UTF-8 encoder it meets (the Redis client, ``json.dumps(ensure_ascii=False)``, a log handler) raises, and the
  family's message is lost with a traceback. A surrogate *pair* stored as two code points is joined back into the
  character it stands for; anything left over is dropped.
- **Control characters.** Cheap phones and copy-and-paste from PDFs and word processors bring NUL, backspace,
  form feed, escape and C1 controls. NUL truncates strings in some C libraries and terminals; the rest garble logs
  and exports. Line breaks are kept (as ``\\n``, whatever the sender used) and so are tabs.
- **Bidirectional overrides and invisible characters.** U+202E (RIGHT-TO-LEFT OVERRIDE) and its relatives make
  text *display* in a different order from the one it is stored in, so a survey answer shown to a forum reviewer
  can read as something other than what was said, and a filter or redactor reading the stored order misses it.
  Zero-width spaces, word joiners and a stray byte-order mark hide inside words for the same effect. These are
  removed. The zero-width joiner (U+200D), variation selectors (U+FE0E/U+FE0F) and emoji tag characters are kept:
  they are part of emoji such as 👨‍👩‍👧, ❤️ and the Welsh flag 🏴󠁧󠁢󠁷󠁬󠁳󠁿, and the left-to-right / right-to-left *marks*
  (U+200E, U+200F, U+061C) are kept too, because Urdu and Arabic keyboards insert them in ordinary mixed text and
  they cannot reorder anything on their own.
- **Several encodings of one letter.** "é" can arrive as one code point or as "e" plus a combining accent; NFC makes
  them the same string, so matching, counting and redaction see one form.

Cleaning never raises and is idempotent, so a channel can call it without a ``try`` and a message cleaned twice is
unchanged. ``neutralise_command`` is separate because only *typed* text needs it: button payloads are meant to be
``/intent`` commands.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, Optional

# Line breaks as phones, Windows, old Macs and Unicode spell them; all become "\n".
_LINE_BREAKS = re.compile("\r\n|[\r\u0085\u2028\u2029]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# More than one blank line (lines of only spaces or tabs count as blank) says nothing more than one does.
_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n){2,}")
MAX_BLANK_LINES_RUN = "\n\n"
KEPT_CONTROLS = frozenset("\n\t")

# Characters that change how text is displayed without being seen themselves: removed so what is shown is what is
# stored. Bidi embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069), zero-width space, word joiner,
# invisible operators, byte-order mark, soft hyphen, Mongolian vowel separator, interlinear annotation marks.
INVISIBLE_CHARACTERS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200b", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064", "\ufeff", "\u00ad", "\u180e"]
    + ["\ufff9", "\ufffa", "\ufffb"]
)


def _is_dropped_control(code: int) -> bool:
    """C0 controls, DEL and C1 controls, except the line break and tab a message may really contain."""
    return (code < 0x20 or 0x7F <= code <= 0x9F) and chr(code) not in KEPT_CONTROLS


# One ``str.translate`` table does every deletion in a single pass, however long the message.
_DELETIONS: Dict[int, Optional[str]] = {
    **{code: None for code in range(0xA0) if _is_dropped_control(code)},
    **{ord(ch): None for ch in INVISIBLE_CHARACTERS},
}

COMMAND_PREFIX = "/"  # Rasa reads a message starting with this as "/intent{entities}", not as words
_LEADING_COMMAND = re.compile(r"[\s/]+")


def _join_surrogate_pair(match: "re.Match[str]") -> str:
    high, low = (ord(ch) for ch in match.group(0))
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def clean_user_text(text: str) -> str:
    """Make what a person typed safe for Rasa, Redis, JSON and the logs, without changing what they meant.

    Letters of every script, emoji (with their joiners and variation selectors), line breaks and tabs are kept.
    The module docstring says what is removed and why.

    Args:
        text: the message as the channel received it.

    Returns:
        The message as NFC text that encodes to UTF-8, with no control, bidi-override or invisible formatting
        characters, line breaks as ``\\n`` with at most one blank line in a row, and no surrounding whitespace.
        ``""`` when nothing visible was sent; callers treat that as an empty message.
    """
    text = _SURROGATE_PAIR.sub(_join_surrogate_pair, text)
    text = _SURROGATE.sub("", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = text.translate(_DELETIONS)
    text = unicodedata.normalize("NFC", text)
    text = _BLANK_LINES.sub(MAX_BLANK_LINES_RUN, text)
    return text.strip()


def neutralise_command(text: str) -> str:
    """Stop a typed message from being read by Rasa as an intent with entities.

    Rasa takes ``/restart`` or ``/survey_offer{"survey":"x"}`` as that intent with those slots, so anyone could
    jump the conversation or set a slot by typing one. Without its leading slashes the message is read as words.
    Call it on typed text only (after ``clean_user_text``, so no invisible character can hide a slash), never on a
    button's payload, which is meant to be a command.

    Args:
        text: a typed message.

    Returns:
        ``text`` unchanged unless it starts with "/" (after leading whitespace); otherwise ``text`` without the
        leading run of slashes and whitespace, which is ``""`` when that was all there was (``"///"``).
    """
    if not text.lstrip().startswith(COMMAND_PREFIX):
        return text
    match = _LEADING_COMMAND.match(text)
    return text[match.end():] if match else text
