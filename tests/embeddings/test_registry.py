"""The embedder registry: names to factories, lazy imports, clear errors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphready.config import Settings
from graphready.embeddings.hashing import HashingEmbedder
from graphready.embeddings.minilm import MiniLMEmbedder
from graphready.embeddings.registry import FACTORIES, create_embedder
from graphready.errors import ConfigError


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return dataclasses.replace(Settings(data_dir=tmp_path), **changes)  # type: ignore[arg-type]


def test_names_match_config() -> None:
    from graphready.config import EMBEDDERS

    assert set(FACTORIES) == set(EMBEDDERS)


def test_hashing(tmp_path: Path) -> None:
    embedder = create_embedder(_settings(tmp_path, embedder="hashing"))
    assert isinstance(embedder, HashingEmbedder)
    assert embedder.embed(["x"]).shape == (1, embedder.dim)


def test_minilm_uses_settings(tmp_path: Path) -> None:
    settings = _settings(tmp_path, embedder="minilm", embed_threads=2, embed_batch=8)
    embedder = create_embedder(settings)
    assert isinstance(embedder, MiniLMEmbedder)
    assert embedder.dim == 384
    vectors = embedder.embed(["one", "two"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        create_embedder(_settings(tmp_path, embedder="word2vec"))
    assert info.value.setting == "GRAPHREADY_EMBEDDER"
    assert "word2vec" in str(info.value)
    assert "minilm" in str(info.value)


def test_registry_is_immutable() -> None:
    with pytest.raises(TypeError):
        FACTORIES["other"] = FACTORIES["hashing"]  # type: ignore[index]


def test_import_does_not_load_onnxruntime() -> None:
    code = (
        "import sys, graphready.embeddings.registry;"
        "print('onnxruntime' in sys.modules, 'tokenizers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert out == ["False", "False"]
