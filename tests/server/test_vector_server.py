"""Vectors on a FalkorDB server (GRAPHREADY_VECTOR_URL): built by the real build workers, searched
through the server's vector index, with no local copy; an unreachable server stops start-up with
a message naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graphready.commands import run_index
from graphready.config import Settings, load_settings
from support.api import app_client
from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.falkordb_server import FalkorDBServer, free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def falkordb(tmp_path: Path) -> Iterator[FalkorDBServer]:
    with FalkorDBServer(tmp_path / "falkordb") as server:
        yield server


@pytest.fixture
def indexed(tmp_path: Path, falkordb: FalkorDBServer) -> Settings:
    write_corpus(tmp_path / "docs", passages=60)
    settings = load_settings({}, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                             embedder="hashing", vector_url=f"{falkordb.url}/vectors")
    assert run_index(settings) == 0
    return settings


async def test_vector_search_uses_the_server_index(indexed: Settings) -> None:
    settings = indexed
    assert not (settings.db_dir / "vectors.db").exists(), "no local vector copy"
    client: httpx.AsyncClient
    async for client in app_client(settings):
        status = (await client.get("/status")).json()
        assert status["retrieval"]["vector_ready"] is True
        assert status["vector_store"]["where"].endswith("/vectors")
        body = (await client.post("/chat", json={"message": NEEDLE_QUESTION,
                                                 "mode": "retrieval"})).json()
        assert "vector_search" in body["tools_used"]
        assert body["citations"][0]["id"] == NEEDLE["id"]


def test_an_unreachable_vector_server_is_named(tmp_path: Path) -> None:
    write_corpus(tmp_path / "docs", passages=3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env["GRAPHREADY_VECTOR_URL"] = f"falkordb://127.0.0.1:{free_port()}/vectors"
    done = subprocess.run(
        [sys.executable, "-m", "graphready.cli", "serve", str(tmp_path / "docs"),
         "--data-dir", str(tmp_path / "data"), "--port", str(free_port())],
        capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert "GRAPHREADY_VECTOR_URL" in done.stderr and "Traceback" not in done.stderr
