"""The extractor protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from graphready.documents.types import Chunk
from graphready.knowledge import ChunkExtraction

OFFLINE_EXTRACTOR = "spacy-en_core_web_sm"
"""The id a graph store records for extractions of the offline extractor (``spacy_nlp``). A
store that records none holds offline extractions too (ids were recorded later)."""


class Extractor(Protocol):
    """Finds entities and relations in chunks."""

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """One extraction per chunk, in order; a chunk with nothing in it gets an empty one."""
        ...
