"""The lean MiniLM session: the int8 token table looked up before it is dequantised (the model
rewritten by ``embeddings/onnx_lookup.py``), the same vectors in a fraction of the memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphready.embeddings.minilm import MiniLMEmbedder, _model_file
from graphready.embeddings.onnx_lookup import (
    _model_class,
    dequantize_after_lookup,
    write_lean_model,
)

TEXTS = [
    "Who directed the film that won the Palme d'Or in 1994?",
    "When was the director of Alien (film) born?",
    "",
    "A much longer passage about the history of the Roman Empire and its emperors. " * 20,
    "Graphs have nodes and edges.",
]


@pytest.fixture(scope="module")
def model() -> bytes:
    return Path(_model_file()).read_bytes()


def test_moves_both_table_lookups_once(model: bytes) -> None:
    rewritten, moved = dequantize_after_lookup(model)
    assert moved == 2  # the token table and the position table
    assert rewritten != model
    again, moved_again = dequantize_after_lookup(rewritten)
    assert moved_again == 0
    assert again == rewritten


def test_lean_model_files_hold_the_rewritten_model(model: bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    assert write_lean_model(model, path) == 2
    weights = (tmp_path / "model.onnx.weights").read_bytes()
    assert path.stat().st_size < len(model) // 100  # the weights are in their own file
    parsed = _model_class()()
    parsed.ParseFromString(path.read_bytes())
    external = 0
    for tensor in parsed.graph.initializer:
        if tensor.data_location != 1:
            continue
        place = {entry.key: entry.value for entry in tensor.external_data}
        assert place["location"] == "model.onnx.weights"
        offset, length = int(place["offset"]), int(place["length"])
        assert offset % 65536 == 0
        tensor.ClearField("data_location")
        tensor.ClearField("external_data")
        tensor.raw_data = weights[offset:offset + length]
        external += 1
    assert external > 30
    # put back inline, the tensors make the model dequantize_after_lookup writes, byte for byte
    assert parsed.SerializeToString() == dequantize_after_lookup(model)[0]


def test_lean_vectors_equal_the_optimised_ones() -> None:
    fast = MiniLMEmbedder(threads=1, batch_size=4)
    lean = MiniLMEmbedder(threads=1, batch_size=4, lean=True)
    assert lean.model_id == fast.model_id
    for batch in (TEXTS, TEXTS[:1]):
        a, b = fast.embed(batch), lean.embed(batch)
        cosines = (a * b).sum(axis=1)
        assert cosines.min() > 0.99999
        np.testing.assert_allclose(a, b, atol=1e-5)


_MEASURE = """
import gc, json, sys, dataclasses
from pathlib import Path
import psutil
import onnxruntime, tokenizers, google.protobuf.message_factory  # imports are not the session
from graphready.config import Settings
from graphready.embeddings.registry import create_embedder
settings = dataclasses.replace(Settings(data_dir=Path(sys.argv[1])), embedder="minilm")
def rss():
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20
out = {}
for name, questions_only in (("lean", True), ("fast", False)):
    before = rss()
    embedder = create_embedder(settings, questions_only=questions_only)
    embedder.embed(["Who directed Alien?"])
    out[name] = rss() - before
    keep = embedder  # both stay loaded: the second is measured on top of the first
print(json.dumps(out))
"""


def test_questions_only_session_holds_far_less_memory(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(tmp_path)], check=True,
                            capture_output=True, text=True, timeout=120)
    added = json.loads(result.stdout)
    assert added["lean"] < 0.6 * added["fast"], added
