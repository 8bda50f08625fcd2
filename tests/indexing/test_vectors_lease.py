"""The vectors stage under the vector store's build lease: a process that finds another holding
it waits, shows the holder's progress and uses what it stored; a lapsed lease is taken over;
the builder gives the lease up when done. Real SQLite stores, shared by two handles as two
processes on one data dir would share them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphready.config import Settings, load_settings
from graphready.embeddings.registry import create_embedder
from graphready.indexing.events import Event, Progress, StageDone
from graphready.indexing.stages import run_documents, run_vectors, search_text
from graphready.stores.registry import Stores, open_stores
from support.corpus import write_corpus


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    write_corpus(tmp_path / "docs", passages=20)
    return load_settings({}, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                         embedder="hashing")


@pytest.fixture
def stores(settings: Settings) -> Iterator[Stores]:
    opened = open_stores(settings)
    run_documents(settings, opened, lambda event: None)
    yield opened
    opened.close()


@pytest.fixture
def other(settings: Settings) -> Iterator[Stores]:
    """The same stores opened again: another process on the same data dir."""
    opened = open_stores(settings)
    yield opened
    opened.close()


def test_waits_for_the_holder_shows_its_progress_and_uses_its_vectors(
    settings: Settings, stores: Stores, other: Stores,
) -> None:
    assert other.vectors.acquire_lease("builder", 60, "vectors", 3, 21)
    events: list[Event] = []
    result: list[StageDone] = []
    waiter = threading.Thread(target=lambda: result.append(
        run_vectors(settings, stores, events.append)))
    waiter.start()
    try:
        waiter.join(3.0)
        assert waiter.is_alive(), "the stage must wait while another process holds the lease"
        assert Progress("vectors.other_builder", 3, 21) in events
        # the holder embeds everything, marks the store synced and gives the lease up
        embedder = create_embedder(settings)
        chunks = list(other.catalog.iter_chunks())
        other.vectors.set_model_id(embedder.model_id)
        other.vectors.add([c.id for c in chunks], embedder.embed([search_text(c) for c in chunks]))
        other.vectors.mark_synced(other.catalog.fingerprint())
        other.vectors.release_lease("builder")
    finally:
        waiter.join(30.0)
    assert result == [StageDone("vectors", result[0].seconds, "loaded",
                                {"built_by_another_process": 1})]
    assert not any(isinstance(e, Progress) and e.stage == "vectors" for e in events), \
        "the waiting process embedded nothing"


def test_a_lapsed_lease_is_taken_over_and_given_up_when_done(
    settings: Settings, stores: Stores, other: Stores,
) -> None:
    assert other.vectors.acquire_lease("dead-builder", 0.01, "vectors", 1, 21)
    events: list[Event] = []
    done = run_vectors(settings, stores, events.append)
    chunks = stores.catalog.chunk_count()
    assert (done.source, done.counts) == ("built", {"vectors_added": chunks})
    assert Progress("vectors", chunks, chunks) in events
    assert stores.vectors.current_lease() is None
    assert other.vectors.acquire_lease("next", 60)
    again = run_vectors(settings, stores, events.append)
    assert again.source == "loaded", "an index that is current needs no lease"
