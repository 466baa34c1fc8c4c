"""The sentence encoder gives all-MiniLM-L6-v2's own embeddings, and its tokenizer cuts words as BERT does."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.meaning_classifier import blend
from bot.nlu.sentence_encoder import SentenceEncoder, default_dir
from bot.nlu.wordpiece import basic_words


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    if not (default_dir() / "model.safetensors").exists():
        pytest.fail(f"the sentence encoder is not in {default_dir()}: `make install` fetches it")
    return SentenceEncoder.load()


def test_published_similarities_are_reproduced(encoder: SentenceEncoder) -> None:
    """sentence-transformers' documentation gives 0.7553 for this pair with all-MiniLM-L6-v2."""
    food, bread, horse = encoder.encode(["A man is eating food.", "A man is eating a piece of bread.",
                                         "A man is riding a horse."])
    assert float(food @ bread) == pytest.approx(0.7553, abs=0.001)
    assert float(food @ horse) < 0.3


def test_vectors_are_unit_length_and_batching_changes_nothing(encoder: SentenceEncoder) -> None:
    texts = ["hi", "can we get the 30 hrs if im on mat leave, OH works ft", "", "\U0001f600" * 3, "x " * 600]
    together = encoder.encode(texts, batch_size=2)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-5)


def test_rewording_lands_nearer_the_same_meaning(encoder: SentenceEncoder) -> None:
    question, same, other = encoder.encode([
        "my OH and I both work full time, can DS get the thirty hours",
        "free childcare for working parents",
        "how long does the council have to decide on an EHC needs assessment"])
    assert question @ same > question @ other


def test_basic_words_lower_case_strip_accents_and_split_punctuation() -> None:
    assert basic_words("Café, DS's EHCP!!") == ["cafe", ",", "ds", "'", "s", "ehcp", "!", "!"]
    assert basic_words("a\u0000b\tc") == ["ab", "c"]


def test_wordpieces_cut_unknown_words_into_known_pieces(encoder: SentenceEncoder) -> None:
    tokenizer = encoder.tokenizer
    ids = tokenizer.encode("ehcp", 16)
    vocabulary = {index: token for token, index in tokenizer.ids.items()}
    assert [vocabulary[i] for i in ids] == ["[CLS]", "eh", "##cp", "[SEP]"]
    assert len(tokenizer.encode("word " * 1000, 256)) == 256


def test_blend_mixes_both_opinions() -> None:
    diet = [{"name": "funding_30h", "confidence": 0.6}, {"name": "funding_universal", "confidence": 0.4}]
    mixed = blend(diet, {"funding_universal": 0.9, "funding_30h": 0.1}, weight=0.5)
    assert [e["name"] for e in mixed] == ["funding_universal", "funding_30h"]
    assert mixed[0]["confidence"] == pytest.approx(0.65)
