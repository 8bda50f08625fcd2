"""Fixtures of the queue's tests: one FalkorDB server per module (its ``redis-server`` holds the
queue's streams as well as the graph and vector stores), emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from graphready.config import Settings, load_settings
from support.falkordb_server import FalkorDBServer


@pytest.fixture(scope="module")
def falkordb() -> Iterator[FalkorDBServer]:
    with FalkorDBServer() as server:
        yield server


@pytest.fixture
def queue_url(falkordb: FalkorDBServer) -> str:
    """The server's database 0, emptied: no stream, job or graph of another test."""
    client = redis.Redis(host=falkordb.host, port=falkordb.port)
    try:
        client.flushall()
    finally:
        client.close()
    return f"redis://{falkordb.host}:{falkordb.port}/0"


def queue_settings(falkordb: FalkorDBServer, data: Path, queue_url: str, name: str = "q",
                   **overrides: Any) -> Settings:
    """Settings of a process of the deployment whose stores are ``name_graph`` and
    ``name_vectors`` on ``falkordb``, with its queue at ``queue_url``."""
    values: dict[str, Any] = {"graph_url": f"{falkordb.url}/{name}_graph",
                              "vector_url": f"{falkordb.url}/{name}_vectors",
                              "queue_url": queue_url, "embedder": "hashing", **overrides}
    return load_settings({}, data_dir=str(data), **values)
