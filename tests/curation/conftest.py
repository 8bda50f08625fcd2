"""The curation tests' FalkorDB server (one per module) and the store URLs of a backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from support.falkordb_server import FalkorDBServer


@pytest.fixture(scope="module")
def falkordb() -> Iterator[FalkorDBServer]:
    with FalkorDBServer() as server:
        yield server


@pytest.fixture
def store_urls(request: pytest.FixtureRequest) -> Callable[[str, str], tuple[str | None,
                                                                           str | None]]:
    """``(graph_url, vector_url)``: none for ``embedded`` (SQLite), else graphs named after
    ``name`` on the module's FalkorDB server."""
    def urls(backend: str, name: str) -> tuple[str | None, str | None]:
        if backend == "embedded":
            return None, None
        server: FalkorDBServer = request.getfixturevalue("falkordb")
        return f"{server.url}/{name}_graph", f"{server.url}/{name}_vectors"
    return urls
