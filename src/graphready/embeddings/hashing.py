"""A deterministic feature-hashing embedder: no model, no extra dependency, microseconds a text.

Used as a fast real implementation in tests and on machines too small for a neural model. Its
vectors capture shared words and word pieces (character trigrams), not meaning.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from graphready.stores.base import Vectors

_WORD = re.compile(r"\w+", re.UNICODE)
_TRIGRAM_WEIGHT = 0.5


def _features(text: str) -> Counter[str]:
    """Lowercase words (prefixed ``w:``) and the character trigrams of ``#word#`` (``c:``)."""
    counts: Counter[str] = Counter()
    for word in _WORD.findall(text.lower()):
        counts["w:" + word] += 1
        padded = f"#{word}#"
        for i in range(len(padded) - 2):
            counts["c:" + padded[i : i + 3]] += 1
    return counts


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    """A stable (unsalted) bucket and sign for ``feature``."""
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return (value >> 1) % dim, 1.0 if value & 1 else -1.0


class HashingEmbedder:
    """Hashes words and character trigrams into ``dim`` signed buckets, with sublinear term
    frequency (1 + log tf), and L2-normalises. Deterministic across processes and machines."""

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError("dim must be >= 8")
        self._dim = dim

    @property
    def model_id(self) -> str:
        return f"hashing-blake2b/{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One vector a text; a text without words gives a fixed unit vector."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            self._fill(out[row], text)
        return out

    def _fill(self, row: Vectors, text: str) -> None:
        for feature, tf in _features(text).items():
            index, sign = _bucket(feature, self._dim)
            weight = 1.0 if feature.startswith("w:") else _TRIGRAM_WEIGHT
            row[index] += sign * weight * (1.0 + math.log(tf))
        norm = float(np.linalg.norm(row))
        if norm > 0.0:
            row /= norm
        else:
            row[0] = 1.0
