"""MiniLMEmbedder against the real int8 ONNX model shipped in the installed packages."""

from __future__ import annotations

import numpy as np
import pytest

from graphready.embeddings.base import Embedder
from graphready.embeddings.minilm import MiniLMEmbedder


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder(threads=1, batch_size=4)


def test_implements_protocol(embedder: MiniLMEmbedder) -> None:
    as_protocol: Embedder = embedder
    assert as_protocol.dim == 384
    assert as_protocol.model_id == "all-MiniLM-L6-v2-int8-onnx/128"


def test_model_id_names_max_tokens() -> None:
    assert MiniLMEmbedder(max_tokens=64).model_id == "all-MiniLM-L6-v2-int8-onnx/64"


def test_shape_dtype_and_unit_norm(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed(["hello world", "", "a much longer sentence " * 100])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_list(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_deterministic(embedder: MiniLMEmbedder) -> None:
    texts = ["The quick brown fox", "jumps over the lazy dog"]
    np.testing.assert_array_equal(embedder.embed(texts), embedder.embed(texts))


def test_order_preserved_when_lengths_differ(embedder: MiniLMEmbedder) -> None:
    texts = [
        "A very long sentence about the history of the Roman Empire and its many emperors.",
        "Short.",
        "A medium sentence about cooking pasta.",
        "",
        "Graphs have nodes and edges.",
    ]
    together = embedder.embed(texts)
    one_by_one = np.vstack([embedder.embed([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)


def test_batching_matches_single(embedder: MiniLMEmbedder) -> None:
    texts = [f"Sentence number {i} about topic {i % 3}." for i in range(11)]
    batched = MiniLMEmbedder(threads=1, batch_size=32).embed(texts)
    small_batches = embedder.embed(texts)
    singles = np.vstack([embedder.embed([t]) for t in texts])
    np.testing.assert_allclose(batched, singles, atol=1e-4)
    np.testing.assert_allclose(small_batches, singles, atol=1e-4)


def test_semantic_sanity(embedder: MiniLMEmbedder) -> None:
    cat, kitten, stocks = embedder.embed(
        ["A cat sits on the mat", "A kitten is sitting on a rug", "Stock markets fell sharply"]
    )
    assert float(cat @ kitten) > float(cat @ stocks) + 0.3


def test_long_text_is_truncated_not_rejected(embedder: MiniLMEmbedder) -> None:
    long_text = "word " * 5000
    vectors = embedder.embed([long_text, long_text + "tail that is cut off"])
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-5)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        MiniLMEmbedder(threads=0)


def test_token_budget_batches_give_the_same_vectors(embedder: MiniLMEmbedder) -> None:
    texts = [("word " * (3 * i)) + f"sentence {i} about topic {i % 4}." for i in range(25)]
    budgeted = MiniLMEmbedder(threads=1, batch_size=32, batch_tokens=64).embed(texts)
    singles = np.vstack([embedder.embed([t]) for t in texts])
    cosines = np.sum(budgeted * singles, axis=1)
    assert cosines.min() > 0.9999


def test_rejects_a_zero_token_budget() -> None:
    with pytest.raises(ValueError):
        MiniLMEmbedder(batch_tokens=0)


def test_idle_threads_give_the_same_vectors(embedder: MiniLMEmbedder) -> None:
    texts = [("term " * (5 * (i % 9))) + f"passage {i} on subject {i % 5}." for i in range(60)]
    shared = MiniLMEmbedder(threads=1, batch_size=8, batch_tokens=128, idle_threads=1)
    alone = MiniLMEmbedder(threads=1, batch_size=8, batch_tokens=128)
    np.testing.assert_allclose(shared.embed(texts), alone.embed(texts), atol=1e-6)
