"""``indexing/lease.py``'s ``leased``: the one lease sequence of the vectors and graph stages.
A real SQLite vector store, opened twice as two processes on one data dir would open it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graphready.errors import BuildError
from graphready.indexing.events import Event, Progress
from graphready.indexing.lease import TTL_S, leased
from graphready.stores.sqlite.vector import SqliteVectorStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteVectorStore]:
    opened = SqliteVectorStore(tmp_path / "vectors.db")
    yield opened
    opened.close()


def test_holds_the_lease_in_the_block_and_gives_it_up_after(store: SqliteVectorStore) -> None:
    seen: list[Event] = []
    with leased(store, "vectors", "fp", seen.append, built=lambda: False) as keeper:
        assert keeper is not None
        lease = store.current_lease()
        assert lease is not None and lease.stage == "vectors"
        keeper(Progress("vectors", 1, 2))
    assert store.current_lease() is None
    assert seen == [Progress("vectors", 1, 2)], "reports go through the keeper"


def test_gives_the_lease_up_when_the_block_fails(store: SqliteVectorStore) -> None:
    with pytest.raises(BuildError, match="boom"), \
            leased(store, "vectors", "fp", lambda event: None, built=lambda: False):
        raise BuildError("boom")
    assert store.current_lease() is None


def test_yields_none_when_another_process_built_it(tmp_path: Path,
                                                   store: SqliteVectorStore) -> None:
    """Another holder is building; once ``built()`` says its index is there, nothing is held
    and the holder keeps its lease."""
    assert store.acquire_lease("another-host:1:builder", TTL_S, "vectors", 3, 9)
    other = SqliteVectorStore(tmp_path / "vectors.db")
    try:
        with leased(other, "vectors", "fp", lambda event: None, built=lambda: True) as keeper:
            assert keeper is None
        lease = store.current_lease()
        assert lease is not None and lease.owner == "another-host:1:builder"
    finally:
        other.close()
