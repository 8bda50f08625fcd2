"""HashingEmbedder: deterministic, normalised, and sensitive to shared words."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from graphready.embeddings.base import Embedder
from graphready.embeddings.hashing import HashingEmbedder


def test_implements_protocol() -> None:
    embedder: Embedder = HashingEmbedder()
    assert embedder.dim == 256
    assert embedder.model_id == "hashing-blake2b/256"
    assert HashingEmbedder(dim=64).model_id == "hashing-blake2b/64"


def test_shape_dtype_and_unit_norm() -> None:
    vectors = HashingEmbedder(dim=128).embed(["hello world", "", "!!!", "Ünïcödé wörds"])
    assert vectors.shape == (4, 128)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_list() -> None:
    assert HashingEmbedder().embed([]).shape == (0, 256)


def test_deterministic_across_processes() -> None:
    """Python's hash() is salted per process; the embedder must not depend on it."""
    code = (
        "from graphready.embeddings.hashing import HashingEmbedder;"
        "print(HashingEmbedder().embed(['stable hashing please']).tobytes().hex())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(runs) == 1
    here = HashingEmbedder().embed(["stable hashing please"]).tobytes().hex()
    assert runs == {here}


def test_case_insensitive() -> None:
    a, b = HashingEmbedder().embed(["The Cat Sat", "the cat sat"])
    np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("dim", [128, 256, 1024])
def test_shared_words_score_higher(dim: int) -> None:
    query, related, unrelated = HashingEmbedder(dim=dim).embed(
        [
            "Who directed the film Titanic?",
            "Titanic is a 1997 film directed by James Cameron.",
            "The stock market fell sharply on Monday morning.",
        ]
    )
    assert float(query @ related) > float(query @ unrelated) + 0.2


def test_sublinear_term_frequency() -> None:
    embedder = HashingEmbedder()
    base, repeated, other = embedder.embed(["apple banana", "apple apple apple banana", "banana"])
    assert float(base @ repeated) > float(other @ repeated)


def test_rejects_tiny_dim() -> None:
    with pytest.raises(ValueError):
        HashingEmbedder(dim=2)
