"""Fixtures for the in-process API tests: a small index built once by the real build workers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from graphready.commands import run_index
from graphready.config import Settings, load_settings
from support.api import app_client
from support.corpus import write_corpus


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


