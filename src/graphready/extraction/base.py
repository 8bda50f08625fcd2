"""The extractor protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from graphready.documents.types import Chunk
from graphready.knowledge import ChunkExtraction


class Extractor(Protocol):
    """Finds entities and relations in chunks."""

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """One extraction per chunk, in order; a chunk with nothing in it gets an empty one."""
        ...
