"""The extractor protocol, and the ids that say which extractor wrote stored extractions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from graphready.documents.types import Chunk
from graphready.knowledge import ChunkExtraction

FULL_PIPELINE_EXTRACTOR = "spacy-en_core_web_sm"
"""The id a graph store records for extractions of the offline extractor with the ``full``
spaCy pipeline (``GRAPHREADY_NLP_PIPELINE=full``: concepts and verb labels). A store that
records none holds such extractions (ids were recorded later)."""

OFFLINE_EXTRACTOR = f"{FULL_PIPELINE_EXTRACTOR}/entities-3"
"""The id of extractions of the offline extractor with the default ``entities`` pipeline (its
third version: the second kept lowercase words after determiners as concepts; the third leaves
out mentions that are not names, :mod:`graphready.extraction.noise`)."""

FULL_PIPELINE_EXTRACTOR_2 = f"{FULL_PIPELINE_EXTRACTOR}/full-2"
"""The id of extractions of the ``full`` pipeline since mentions that are not names are left
out (:mod:`graphready.extraction.noise`): a store holding older ones re-extracts."""


def offline_extractor_id(pipeline: str) -> str:
    """The id of the offline extractor (``spacy_nlp``) with the spaCy ``pipeline``."""
    return FULL_PIPELINE_EXTRACTOR_2 if pipeline == "full" else OFFLINE_EXTRACTOR


class Extractor(Protocol):
    """Finds entities and relations in chunks."""

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """One extraction per chunk, in order; a chunk with nothing in it gets an empty one."""
        ...
