"""The remote embedder against a real OpenAI-compatible server (llama.cpp's, serving the tiny
SmolLM2 model's embeddings): shapes, normalisation, order, and the outage error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from graphready.config import load_settings
from graphready.embeddings.registry import create_embedder
from graphready.embeddings.remote import RemoteEmbedder
from graphready.errors import LLMUnavailable
from support.llm_server import MODEL_NAME, LlamaServer


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    with LlamaServer(tools=False, embeddings=True, context=512) as running:
        yield running


def test_vectors_are_normalised_ordered_and_deterministic(server: LlamaServer) -> None:
    embedder = RemoteEmbedder(server.base_url, MODEL_NAME, batch_size=1)
    texts = ["The lighthouse was designed by an engineer.", "", "Granite towers on the coast."]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = embedder.embed([texts[2], texts[0]])
    assert np.allclose(again, vectors[[2, 0]], atol=1e-4)
    assert embedder.model_id == f"openai-embeddings:{server.host}:{server.port}/{MODEL_NAME}"
    assert embedder.embed([]).shape[0] == 0


def test_the_settings_choose_the_remote_embedder(server: LlamaServer, tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_EMBED_BASE_URL": server.base_url,
                              "GRAPHREADY_EMBED_MODEL": MODEL_NAME}, data_dir=tmp_path)
    assert isinstance(create_embedder(settings), RemoteEmbedder)


def test_an_unreachable_server_is_an_llm_unavailable_error() -> None:
    embedder = RemoteEmbedder("http://127.0.0.1:9/v1", MODEL_NAME, retries=0, timeout_s=2)
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        embedder.embed(["anything"])
