"""Fixtures for the in-process API tests: a small index built once by the real build workers;
the stores' backends a test runs on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from graphready.commands import run_index
from graphready.config import Settings, load_settings
from support.api import app_client
from support.corpus import write_corpus
from support.falkordb_server import FalkorDBServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("api")
    write_corpus(root / "docs", passages=80)
    settings = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                             embedder="hashing", max_body_bytes=4096, max_message_chars=200)
    assert run_index(settings) == 0
    yield settings


@pytest.fixture
async def client(built: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for c in app_client(built):
        yield c


@pytest.fixture(params=["embedded", "falkordb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The stores' settings: the embedded ones, or a real FalkorDB for the graph and vectors."""
    if request.param == "embedded":
        yield {}
        return
    with FalkorDBServer(tmp_path / "falkordb") as server:
        yield {"graph_url": f"{server.url}/kb", "vector_url": f"{server.url}/kb"}
