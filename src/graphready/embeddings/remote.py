"""Embeddings from any server that speaks OpenAI's ``/v1/embeddings`` (OpenAI, vLLM, Ollama,
llama.cpp, TEI, ...), through the official ``openai`` client (retries, timeout). Vectors are
L2-normalised here; a server that sends one vector per token (llama.cpp's server with a model
that has no pooling) is mean-pooled. Errors name the server without the URL's credentials or
query (:func:`~graphready.llm.openai_client.failure`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import openai

from graphready.llm.openai_client import NO_KEY, failure
from graphready.stores.base import Vectors


def _vector(raw: Any) -> np.ndarray:
    """One float vector from what the server sent (mean of per-token vectors if so)."""
    array = np.asarray(raw, dtype=np.float32)
    if array.ndim == 2:
        array = array.mean(axis=0)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"an embedding of shape {array.shape}")
    return array


class RemoteEmbedder:
    """An :class:`~graphready.embeddings.base.Embedder` on an OpenAI-compatible server. Its
    ``model_id`` names the server's host and the model, so vectors from another model are
    never mixed with these; ``dim`` is learnt from the first reply. ``batch_size`` texts go in
    one request (``GRAPHREADY_EMBED_BATCH``; llama.cpp's server needs 1 for a model without
    pooling: it garbles every text of a batch after the first, measured)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 timeout_s: float = 60.0, retries: int = 2, batch_size: int = 32) -> None:
        self._where = base_url
        self._batch = batch_size
        self._model = model
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or NO_KEY,
                                     timeout=timeout_s, max_retries=retries)
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        host = urlsplit(self._where).netloc.rpartition("@")[2]  # never the credentials
        return f"openai-embeddings:{host}/{self._model}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self._batch):
            batch = [t if t.strip() else " " for t in texts[start:start + self._batch]]
            try:
                response = self._client.embeddings.create(model=self._model, input=batch,
                                                          encoding_format="float")
                ordered = sorted(response.data, key=lambda item: item.index)
                rows.extend(_vector(item.embedding) for item in ordered)
            except openai.OpenAIError as exc:
                raise failure(exc, self._where) from None
            except ValueError as exc:
                raise failure(exc, self._where) from None
        if not rows:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        matrix = np.vstack(rows)
        with self._lock:
            if self._dim is None:
                self._dim = int(matrix.shape[1])
        if matrix.shape[1] != self._dim:
            raise failure(ValueError(f"embeddings of {matrix.shape[1]} dimensions after "
                                     f"{self._dim}"), self._where)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32)
