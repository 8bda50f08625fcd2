"""``stores/registry.py``: the graph and the vector store open through one path per server
backend, so their errors have one shape whichever store and backend a URL names."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from graphready.errors import ConfigError, StoreError
from graphready.stores.registry import open_graph_store, open_vector_store
from support.falkordb_server import free_port

Opener = Callable[[str | None, Path], object]
OPENERS: list[tuple[Opener, str, str]] = [
    (open_graph_store, "GRAPHREADY_GRAPH_URL", "graph"),
    (open_vector_store, "GRAPHREADY_VECTOR_URL", "vector"),
]


@pytest.mark.parametrize(("opener", "setting", "store"), OPENERS)
@pytest.mark.parametrize(("url", "package"), [
    ("falkordb://localhost:6379/g", "falkordb"),
    ("bolt://localhost:7687", "neo4j"),
    ("neo4j+s://localhost", "neo4j"),
])
def test_a_missing_client_package_is_one_config_error_shape(
    opener: Opener, setting: str, store: str, url: str, package: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store module of the backend cannot be imported (its client package is not
    installed): every opener says which package and extra the URL's scheme needs."""
    monkeypatch.setitem(sys.modules, f"graphready.stores.{package}.{store}", None)
    with pytest.raises(ConfigError) as caught:
        opener(url, tmp_path)
    assert caught.value.setting == setting
    scheme = url.split("://")[0]
    assert f"a {scheme}:// URL needs the {package} package (the '{package}' extra)" in str(
        caught.value)


@pytest.mark.parametrize(("opener", "setting", "store"), OPENERS)
def test_a_bad_graph_name_is_a_config_error_naming_the_setting(
    opener: Opener, setting: str, store: str, tmp_path: Path,
) -> None:
    """The store's constructor refuses the name (a ValueError): a ConfigError with its text,
    never the password."""
    with pytest.raises(ConfigError, match="graph name") as caught:
        opener("falkordb://:hunter2@localhost:6379/bad%20name", tmp_path)
    assert caught.value.setting == setting
    assert "hunter2" not in str(caught.value)


def test_an_unreachable_server_fails_the_vector_store_but_not_the_graph_store(
    tmp_path: Path,
) -> None:
    """A graph store on a server that does not answer is a StoreError (``open_stores`` wraps it
    in a store that reconnects on use); a vector store has no such wrapper, so it is a config
    error at startup. Both name the address, never the password."""
    url = f"falkordb://:hunter2@127.0.0.1:{free_port()}/g"
    with pytest.raises(StoreError) as graph:
        open_graph_store(url, tmp_path)
    with pytest.raises(ConfigError) as vectors:
        open_vector_store(url, tmp_path)
    assert vectors.value.setting == "GRAPHREADY_VECTOR_URL"
    for error in (graph.value, vectors.value):
        assert "127.0.0.1" in str(error)
        assert "hunter2" not in str(error)
