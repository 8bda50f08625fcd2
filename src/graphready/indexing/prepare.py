"""What a build worker does before its stage may start. The supervisor starts the vectors and
graph workers together with the documents worker, "held": each imports its libraries and loads
its model (spaCy and igraph, ~2-3 s of a core; the MiniLM session, ~0.5 s) while the documents
stage runs, then waits for a ``go`` line on its standard input, which the supervisor writes
when the documents stage has completed. The stage itself starts only then, so it reads the
catalog the documents stage left, exactly as a worker started afterwards would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from graphready.config import Settings
from graphready.errors import GraphReadyError

if TYPE_CHECKING:
    from graphready.embeddings.base import Embedder
    from graphready.extraction.spacy_nlp import SpacyExtractor

log = logging.getLogger("graphready.indexing")

GO = b"go\n"
"""The line that releases a held worker."""


@dataclass
class Prepared:
    """What a held worker loaded for its stage (None: the stage loads it itself). The stage
    takes it (``take_*``), so nothing keeps it alive once the stage lets it go: the graph stage
    frees spaCy before it assembles the graph."""

    embedder: Embedder | None = None
    offline: SpacyExtractor | None = None

    def take_embedder(self) -> Embedder | None:
        embedder, self.embedder = self.embedder, None
        return embedder

    def take_offline(self) -> SpacyExtractor | None:
        offline, self.offline = self.offline, None
        return offline


def prepare(stage: str, settings: Settings) -> Prepared:
    """Load what ``stage`` will need; a failure is logged and left to the stage, which loads
    it again and reports the error as its own."""
    try:
        if stage == "vectors":
            from graphready.embeddings.registry import create_embedder

            return Prepared(embedder=create_embedder(settings))
        if stage == "graph":
            import igraph  # noqa: F401  (communities; importing it alone takes ~1 s)

            from graphready.extraction.spacy_nlp import SpacyExtractor

            offline = SpacyExtractor(pipeline=settings.nlp_pipeline)
            offline.load()
            return Prepared(offline=offline)
    except (GraphReadyError, ImportError, OSError, ValueError) as exc:
        log.warning("could not prepare the %s stage ahead (it will try again): %s", stage, exc)
    return Prepared()


def wait_for_go(stream: IO[bytes] | None) -> bool:
    """Block until the supervisor releases this worker; False when the stream ends instead
    (the documents stage failed or was stopped, or the server is gone)."""
    if stream is None:
        return True
    return stream.readline() == GO
