"""Fixtures the build-stage tests share: one FalkorDB server per module, and the store URLs of
a backend under test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from support.falkordb_server import FalkorDBServer

StoreUrls = Callable[[str, str], tuple[str | None, str | None]]


@pytest.fixture(scope="module")
def falkordb() -> Iterator[FalkorDBServer]:
    with FalkorDBServer() as server:
        yield server


@pytest.fixture
def store_urls(request: pytest.FixtureRequest) -> StoreUrls:
    """``(graph_url, vector_url)`` for a backend (``embedded``: none, the SQLite stores;
    ``falkordb``: graphs named after ``name`` on the module's FalkorDB server)."""
    def urls(backend: str, name: str) -> tuple[str | None, str | None]:
        if backend == "embedded":
            return None, None
        server: FalkorDBServer = request.getfixturevalue("falkordb")
        return f"{server.url}/{name}_graph", f"{server.url}/{name}_vectors"
    return urls
