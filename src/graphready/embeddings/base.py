"""The embedder protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from graphready.stores.base import Vectors


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dim`` dimensions."""

    @property
    def model_id(self) -> str:
        """Names the model; vectors from different model ids are never mixed."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """An array of shape ``(len(texts), dim)``; an empty text gives a valid vector too."""
        ...
