"""Fixtures of the shared deployment's tests: one FalkorDB server per module (its
``redis-server`` holds the shared catalog beside the graph and vector stores), emptied before
each test, and catalogs on it opened the way the contract suite opens its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from graphready.stores.base import Catalog
from graphready.stores.redis.catalog import RedisCatalog
from support.falkordb_server import FalkorDBServer


@pytest.fixture(scope="module")
def falkordb() -> Iterator[FalkorDBServer]:
    with FalkorDBServer() as server:
        yield server


@pytest.fixture
def redis_url(falkordb: FalkorDBServer) -> str:
    """The server's database 0, emptied: nothing of another test."""
    client = redis.Redis(host=falkordb.host, port=falkordb.port)
    try:
        client.flushall()
    finally:
        client.close()
    return f"redis://{falkordb.host}:{falkordb.port}/0"


@pytest.fixture
def open_catalog(redis_url: str) -> Iterator[Callable[[], RedisCatalog]]:
    """Opens a connection to the one catalog of this test; every one is closed afterwards."""
    opened: list[RedisCatalog] = []

    def open_() -> RedisCatalog:
        store = RedisCatalog(redis_url, "test")
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def catalog(open_catalog: Callable[[], RedisCatalog]) -> Catalog:
    return open_catalog()


@pytest.fixture
def catalog_factory(redis_url: str) -> Callable[[Path], Catalog]:
    """Opens the catalog of a path: each path is its own namespace."""
    return lambda path: RedisCatalog(redis_url, str(path))
