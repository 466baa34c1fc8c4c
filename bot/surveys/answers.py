"""Reading survey replies typed as words, numbers or emoji, and survey commands (skip, back, stop, start again).

People answer a survey the way they text: "4", "4/5", "four", "agree", "👍", "1 and 3", "nursery and haf". Every
reply is compared as a whole message after normalising it (case, punctuation, apostrophes, emoji skin tones and
variation selectors), never by searching inside it: "disagree" contains "agree" and "not sure" contains "sure", so
a substring test would read both the wrong way round. A reply that is not understood gives None, and the caller
asks again with the options spelled out.

The word lists below are small and generic (what "agree" or "nope" means); what a survey asks, and its options'
labels and synonyms, live in ``data/surveys``. Nothing here raises, whatever the text (emoji, lone surrogates,
control characters, very long messages): a survey reply arrives from the outside world.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from typing import Any, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

from bot.surveys.definitions import (
    AGREE, DISAGREE, FREE_TEXT, LIKERT, LIKERT_VALUES, MULTIPLE_CHOICE, NO, NONE_OF_THESE, NPS, NPS_VALUES, PASS,
    SINGLE_CHOICE, STATEMENT, STATEMENT_LABELS, YES, YES_NO, YES_NO_LABELS, Option, Question,
)

# A choice or a score is a few words: a longer reply is a message for someone, not an answer to read.
MAX_CHOICE_REPLY_CHARS = 200
# Characters that only change how an emoji looks: variation selectors, the keycap mark (so "7️⃣" reads as 7),
# the zero-width joiner, skin tones and the gender signs of sequences such as 🤷‍♀️.
_EMOJI_MODIFIERS = frozenset({0xFE0E, 0xFE0F, 0x20E3, 0x200D, 0x2640, 0x2642, *range(0x1F3FB, 0x1F400)})
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})
_SLASH = "/"
_FREE_TEXT_SPACES = re.compile(r"\s+")
# Separators between the choices of a multiple-choice reply: "1, 3", "1 and 3", "nursery & haf", "1/3".
_CHOICE_SEPARATORS = re.compile(r"[,;&+/\n]|\band\b|\bplus\b|\bor\b|\balso\b")

NUMBER_WORDS: Mapping[str, int] = {
    "zero": 0, "nought": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}
_EMOJI_NUMBERS: Mapping[str, int] = {"🔟": 10}
# Words people put around a score ("I'd say 7", "probably a 4"); stripped only when reading a number.
_NUMBER_FILLERS = (
    "i would say", "id say", "i would give it", "id give it", "i give it", "i think", "i guess", "maybe", "probably",
    "about", "around", "its", "it is", "a", "score", "number", "option",
)
# Politeness around any reply ("skip please", "agree thanks").
_POLITE_ENDS = ("please", "pls", "plz", "thanks", "thank you", "thankyou", "ta")

LIKERT_WORDS: Mapping[str, int] = {
    **dict.fromkeys(("strongly disagree", "i strongly disagree", "totally disagree", "completely disagree",
                     "really disagree", "disagree strongly", "definitely disagree", "disagree a lot"), 1),
    **dict.fromkeys(("disagree", "i disagree", "dont agree", "i dont agree", "do not agree", "i do not agree",
                     "mostly disagree", "kind of disagree", "sort of disagree"), 2),
    **dict.fromkeys(("not sure", "im not sure", "unsure", "neutral", "meh", "dont know", "i dont know", "idk",
                     "dunno", "neither", "neither agree nor disagree", "in between", "in the middle", "so so"), 3),
    **dict.fromkeys(("agree", "i agree", "agreed", "mostly agree", "i mostly agree", "kind of agree",
                     "sort of agree"), 4),
    **dict.fromkeys(("strongly agree", "i strongly agree", "totally agree", "completely agree", "really agree",
                     "agree strongly", "definitely agree", "agree a lot"), 5),
}
LIKERT_EMOJI: Mapping[str, int] = {
    "😡": 1, "🤬": 1,
    "👎": 2, "😞": 2, "☹": 2, "🙁": 2, "😠": 2, "😟": 2, "😢": 2,
    "😐": 3, "😶": 3, "🤷": 3,
    "👍": 4, "😀": 4, "😊": 4, "🙂": 4, "😃": 4, "😄": 4,
    "❤": 5, "♥": 5, "🤩": 5, "😍": 5, "💯": 5,
}
YES_WORDS: FrozenSet[str] = frozenset({
    "yes", "y", "ye", "yea", "yeah", "yeh", "yep", "yup", "yes please", "sure", "ok", "okay", "k", "of course",
    "definitely", "absolutely", "i do", "yes i do", "yes they do", "yes it is", "correct", "true", "1", "👍", "✅",
    "✔", "☑", "👌",
})
NO_WORDS: FrozenSet[str] = frozenset({
    "no", "n", "nope", "nah", "na", "not really", "no thanks", "no thank you", "i dont", "no i dont", "i do not",
    "never", "definitely not", "not at all", "false", "2", "👎", "❌", "✖", "✗",
})
STATEMENT_WORDS: Mapping[str, str] = {
    **dict.fromkeys(("agree", "i agree", "agreed", "strongly agree", "i strongly agree", "totally agree",
                     "mostly agree", "yes", "y", "yeah", "yep", "true", "1", "👍", "✅"), AGREE),
    **dict.fromkeys(("disagree", "i disagree", "strongly disagree", "i strongly disagree", "totally disagree",
                     "dont agree", "i dont agree", "do not agree", "i do not agree", "no", "n", "nope", "nah",
                     "not really", "false", "not true", "2", "👎", "❌"), DISAGREE),
    **dict.fromkeys(("pass", "not sure", "im not sure", "unsure", "dont know", "i dont know", "do not know",
                     "i do not know", "idk", "dunno", "no idea", "maybe", "neither", "neutral", "3", "🤷", "😐"),
                    PASS),
}
# "All of these" in a multiple-choice reply: every option except "None of these".
ALL_WORDS: FrozenSet[str] = frozenset({"all", "all of them", "all of these", "all of those", "all of the above",
                                       "everything", "the lot"})
# Words that carry no meaning of their own when matching part of a label ("the holiday club" -> "HAF holiday club").
_STOP_WORDS: FrozenSet[str] = frozenset({"the", "a", "an", "my", "our", "his", "her", "their", "of", "i", "we",
                                         "it", "is", "was", "to", "at", "in", "on", "for", "with", "just"})
# Words that cannot choose an option on their own, though they may be part of a longer fragment ("not sure").
_WEAK_WORDS: FrozenSet[str] = frozenset({"not", "no", "yes", "very", "so", "some", "all", "any"})
_NEGATIONS: FrozenSet[str] = frozenset({"not", "no", "dont", "never", "none", "nothing", "neither", "nor", "isnt",
                                        "didnt", "wasnt", "cant", "cannot", "without"})


class Command(Enum):
    """What a reply asks the survey to do instead of answering."""

    SKIP = "skip"  # move on without an answer
    BACK = "back"  # go to the previous question
    STOP = "stop"  # leave the survey (progress is kept)
    RESTART = "restart"  # clear the answers and start from question 1


COMMAND_WORDS: Mapping[str, Command] = {
    **dict.fromkeys(("skip", "skip it", "skip this", "skip this one", "skip question", "skip this question",
                     "skip the question", "next", "next question", "next one", "pass", "pass on this"), Command.SKIP),
    **dict.fromkeys(("back", "go back", "go back one", "back one", "previous", "previous question",
                     "last question", "the last question", "undo", "i want to go back", "can i go back",
                     "take me back", "back a question", "go back a question"), Command.BACK),
    **dict.fromkeys(("stop", "stop the survey", "stop survey", "stop this", "stop this survey", "stop asking",
                     "exit", "exit survey", "exit the survey", "quit", "quit survey", "quit the survey", "end",
                     "end survey", "end the survey", "cancel", "cancel survey", "cancel the survey", "leave survey",
                     "leave the survey", "i want to stop", "i want to exit", "i want to quit", "i want to leave",
                     "no more", "no more questions", "not now", "later", "maybe later", "finish later",
                     "ill finish later"), Command.STOP),
    **dict.fromkeys(("start again", "restart", "start over", "restart survey", "restart the survey",
                     "start the survey again", "begin again", "from the start", "go back to the start",
                     "back to the start", "from the beginning", "start from the beginning"), Command.RESTART),
}


def parse_command(text: str) -> Optional[Command]:
    """The command a whole message gives ("skip", "go back", "stop the survey", "start again"), or None.

    Only the whole message counts: "I want to go back to school" is an answer, not BACK. "pass" is SKIP here; the
    flow reads it as an answer to a statement first (Pol.is "pass").
    """
    if not isinstance(text, str) or len(text) > MAX_CHOICE_REPLY_CHARS:
        return None
    words = [w for w in _words(text) if w != _SLASH]  # Telegram-style "/skip" too
    return COMMAND_WORDS.get(" ".join(_polite(words))) if len(words) <= 12 else None


def parse_answer(question: Question, text: str) -> Optional[Any]:
    """The value ``text`` gives as an answer to ``question``, or None when it is not understood.

    Returns:
        likert: int 1..5; nps: int 0..10; yes_no: "yes"/"no"; statement: "agree"/"disagree"/"pass";
        single_choice: an option value; multiple_choice: a tuple of option values in option order;
        free_text: the text without control characters and repeated spaces, 1..max_chars characters.
    """
    if question.kind == FREE_TEXT:
        return _free_text(text, question.max_chars)
    if not isinstance(text, str) or len(text) > MAX_CHOICE_REPLY_CHARS:
        return None
    words = _words(text)
    value = _read(question, words, text)
    polite = _polite(words)
    if value is None and polite != words:  # "no thanks" may be an option's words; "agree thanks" is "agree"
        value = _read(question, polite, text)
    return value


def answer_label(question: Question, value: Any) -> str:
    """The words a stored ``value`` stands for: "Agree", "7", "Nursery funded hours, HAF holiday club"."""
    if question.kind in (LIKERT, SINGLE_CHOICE):
        option = question.option(str(value))
        return option.label if option else str(value)
    if question.kind in (YES_NO, STATEMENT) and isinstance(value, str):
        return (YES_NO_LABELS if question.kind == YES_NO else STATEMENT_LABELS).get(value, value)
    if question.kind == MULTIPLE_CHOICE and isinstance(value, (tuple, list)):
        return ", ".join(_option_label(question, v) for v in value)
    return str(value)


def normalise(text: str) -> str:
    """``text`` as compared: lower case, no punctuation or apostrophes, emoji without skin tones, single spaces."""
    return " ".join(_words(text))


def _read(question: Question, words: List[str], text: str) -> Optional[Any]:
    if not words:
        return None
    if question.kind == MULTIPLE_CHOICE:
        return _multiple_choice(question, words, text)
    reader = _READERS.get(question.kind)
    return reader(question, words) if reader else None


# --- reading each kind ------------------------------------------------------------------------------------------


def _likert(question: Question, words: List[str]) -> Optional[int]:
    number = _number(words, LIKERT_VALUES[-1])
    if number is not None:
        return number if number in LIKERT_VALUES else None
    emoji = _emoji(words, LIKERT_EMOJI)
    if emoji is not None:
        return emoji
    option = _exact_option(question.options, words)
    if option is not None:
        return int(option.value)
    key = " ".join(words)
    if key in LIKERT_WORDS:
        return LIKERT_WORDS[key]
    option = _partial_option(question.options, words)
    return int(option.value) if option is not None else None


def _nps(question: Question, words: List[str]) -> Optional[int]:
    if len(words) == 1 and words[0] in _EMOJI_NUMBERS:
        return _EMOJI_NUMBERS[words[0]]
    number = _number(words, NPS_VALUES[-1])
    return number if number in NPS_VALUES else None


def _yes_no(question: Question, words: List[str]) -> Optional[str]:
    key = " ".join(words)
    if key in YES_WORDS or _emoji(words, dict.fromkeys(YES_WORDS, YES)):
        return YES
    if key in NO_WORDS or _emoji(words, dict.fromkeys(NO_WORDS, NO)):
        return NO
    return None


def _statement(question: Question, words: List[str]) -> Optional[str]:
    key = " ".join(words)
    return STATEMENT_WORDS.get(key) or _emoji(words, STATEMENT_WORDS)


def _single_choice(question: Question, words: List[str]) -> Optional[str]:
    option = _choice(question, words)
    return option.value if option is not None else None


def _multiple_choice(question: Question, words: List[str], text: str) -> Optional[Tuple[str, ...]]:
    options = question.options
    if " ".join(words) in ALL_WORDS:
        return tuple(o.value for o in options if o.value != NONE_OF_THESE)
    chosen = _numbers_chosen(options, words)
    if chosen is None:
        whole = _choice_by_words(options, words)
        chosen = [whole] if whole is not None else None
    if chosen is None:
        chosen = []
        for piece in _CHOICE_SEPARATORS.split(text.casefold()):
            piece_words = _polite(_words(piece))
            if not piece_words:
                continue
            by_number = _numbers_chosen(options, piece_words)
            option = None if by_number else _choice_by_words(options, piece_words)
            if not by_number and option is None:
                return None  # one part not understood: ask again rather than keep half an answer
            chosen.extend(by_number or [option])
    values = {o.value for o in chosen}
    if not values or (NONE_OF_THESE in values and len(values) > 1):
        return None
    return tuple(o.value for o in options if o.value in values)


def _free_text(text: Any, max_chars: int) -> Optional[str]:
    if not isinstance(text, str):
        return None
    kept = "".join(_free_text_char(ch) for ch in text[: max_chars * 4 + 64])
    kept = _FREE_TEXT_SPACES.sub(" ", kept).strip()
    if len(kept) > max_chars:
        kept = kept[:max_chars].rstrip()  # a long message is cut, not refused: the family meant it
    return kept or None


_READERS = {
    LIKERT: _likert, NPS: _nps, YES_NO: _yes_no, STATEMENT: _statement, SINGLE_CHOICE: _single_choice,
}


# --- helpers ----------------------------------------------------------------------------------------------------


def _free_text_char(ch: str) -> str:
    """A character as kept in free text: no lone surrogates, no control or invisible format characters."""
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return ""
    category = unicodedata.category(ch)
    if category == "Cc" or category in ("Zl", "Zp"):
        return " "
    if category == "Cf" and code != 0x200D:  # keep the joiner inside emoji such as 👨‍👩‍👧
        return ""
    return ch


def _words(text: Any) -> List[str]:
    """The words of ``text`` as compared: lower case, digits apart, each emoji its own word, "/" kept apart."""
    if not isinstance(text, str):
        return []
    cleaned = "".join(ch for ch in text if not 0xD800 <= ord(ch) <= 0xDFFF)
    cleaned = unicodedata.normalize("NFKC", cleaned).translate(_APOSTROPHES).replace("'", "").casefold()
    out: List[str] = []
    current: List[str] = []
    for ch in cleaned:
        if ord(ch) in _EMOJI_MODIFIERS:
            continue
        if ch.isalnum():
            current.append(ch)
            continue
        if current:
            out.append("".join(current))
            current = []
        if ch == _SLASH or unicodedata.category(ch) == "So":
            out.append(ch)
    if current:
        out.append("".join(current))
    return out


def _polite(words: List[str]) -> List[str]:
    """``words`` without "please" or "thanks" at either end."""
    changed = True
    while changed and words:
        changed = False
        for end in _POLITE_ENDS:
            end_words = end.split()
            if len(words) > len(end_words) and words[-len(end_words):] == end_words:
                words, changed = words[:-len(end_words)], True
            if len(words) > len(end_words) and words[:len(end_words)] == end_words:
                words, changed = words[len(end_words):], True
    return words


def _strip_fillers(words: List[str]) -> List[str]:
    changed = True
    while changed:
        changed = False
        for filler in _NUMBER_FILLERS:
            filler_words = filler.split()
            if len(words) > len(filler_words) and words[:len(filler_words)] == filler_words:
                words, changed = words[len(filler_words):], True
    return words


def _as_int(word: str) -> Optional[int]:
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    if word.isascii() and word.isdigit() and len(word) <= 3:
        return int(word)
    return None


def _number(words: List[str], top: int) -> Optional[int]:
    """A score such as "7", "seven", "7/10", "7 out of 10", "i'd say 7" (an "out of" must be ``top``)."""
    words = _strip_fillers(words)
    if not words:
        return None
    value = _as_int(words[0])
    if value is None:
        return None
    rest = words[1:]
    if not rest:
        return value
    for joiner in (["/"], ["out", "of"], ["of"]):
        if rest[: len(joiner)] == joiner and len(rest) == len(joiner) + 1:
            scale = _as_int(rest[-1])
            return value if scale == top else None
    return None


def _emoji(words: List[str], table: Mapping[str, Any]) -> Optional[Any]:
    """The value of an emoji reply ("👍", or the same emoji repeated); None for words or mixed emoji."""
    if words and all(w == words[0] for w in words) and len(words[0]) == 1 and not words[0].isalnum():
        return table.get(words[0])
    return None


def _option_keys(option: Option) -> Iterable[List[str]]:
    yield _words(option.label)
    for synonym in option.synonyms:
        yield _words(synonym)
    yield _words(option.value.replace("_", " "))


def _option_label(question: Question, value: Any) -> str:
    option = question.option(str(value))
    return option.label if option else str(value)


def _exact_option(options: Sequence[Option], words: List[str]) -> Optional[Option]:
    for option in options:
        if any(key == words for key in _option_keys(option)):
            return option
    return None


def _partial_option(options: Sequence[Option], words: List[str]) -> Optional[Option]:
    """The one option whose label (or a synonym) holds every meaningful word of the reply ("nursery", "holiday")."""
    meaningful = [w for w in words if w not in _STOP_WORDS]
    if not meaningful or not set(meaningful) - _WEAK_WORDS or any(w.isdigit() for w in meaningful):
        return None
    said = set(meaningful)
    # A label's "not" must be in the reply too: "sure" is not "Not sure", "well" is not "Not well".
    matches = [o for o in options
               if any(said <= set(key) and set(key) & _NEGATIONS <= set(words) for key in _option_keys(o))]
    return matches[0] if len(matches) == 1 else None


def _choice_by_words(options: Sequence[Option], words: List[str]) -> Optional[Option]:
    return _exact_option(options, words) or _partial_option(options, words)


def _option_in_reply(options: Sequence[Option], words: List[str]) -> Optional[Option]:
    """The one option whose label (or a synonym) is said whole inside a longer reply ("yes i do", "no we havent").

    A reply naming two options ("yes and no"), or carrying a negation its option does not ("not yes"), is not read.
    """
    matches = []
    for option in options:
        for key in _option_keys(option):
            negative_key = bool(set(key) & _NEGATIONS)
            if key and _contains(words, key) and (negative_key or set(words) & _NEGATIONS <= set(key)):
                matches.append(option)
                break
    return matches[0] if len(matches) == 1 else None


def _contains(words: List[str], phrase: List[str]) -> bool:
    size = len(phrase)
    return any(words[i:i + size] == phrase for i in range(len(words) - size + 1))


def _option_number(options: Sequence[Option], words: List[str]) -> Optional[Option]:
    """The option a number such as "2", "option 2" or "number two" picks."""
    words = _strip_fillers(words)
    if len(words) == 1:
        number = _as_int(words[0])
        if number is not None and 1 <= number <= len(options):
            return options[number - 1]
    return None


def _numbers_chosen(options: Sequence[Option], words: List[str]) -> Optional[List[Option]]:
    """Options picked by numbers only: "1 3", "2", or "13" run together (one digit per option, at most 9)."""
    words = _strip_fillers(words)
    if not words or not all(w.isascii() and w.isdigit() or w in NUMBER_WORDS for w in words):
        return None
    chosen: List[Option] = []
    for word in words:
        number = _as_int(word) if len(word) <= 3 else None
        if number is not None and 1 <= number <= len(options):
            chosen.append(options[number - 1])
            continue
        digits = [int(d) for d in word] if word.isdigit() else []
        if not digits or len(set(digits)) != len(digits) or not all(1 <= d <= len(options) for d in digits):
            return None
        chosen.extend(options[d - 1] for d in digits)
    return chosen


def _band_by_number(question: Question, words: List[str]) -> Optional[Option]:
    """For a band question, the band an exact value falls in ("15" -> "14 to 16"); only the band is kept."""
    if not question.band:
        return None
    words = _strip_fillers(words)
    if len(words) != 1 or _as_int(words[0]) is None:
        return None
    value = _as_int(words[0])
    for option in question.options:
        label = _words(option.label)
        if len(label) == 3 and label[1] in ("to", "-") and label[0].isdigit() and label[2].isdigit():
            if int(label[0]) <= value <= int(label[2]):  # type: ignore[operator]
                return option
    return None


def _choice(question: Question, words: List[str]) -> Optional[Option]:
    return (_option_number(question.options, words) or _band_by_number(question, words)
            or _choice_by_words(question.options, words) or _option_in_reply(question.options, words))

