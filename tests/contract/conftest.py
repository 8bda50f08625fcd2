"""Store implementations under contract test. A new backend is one more ``pytest.param``: a
callable that opens (or creates) the store at a file path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graphready.stores.base import Catalog, KeywordIndex
from graphready.stores.sqlite.catalog import SqliteCatalog
from graphready.stores.sqlite.keyword import SqliteKeywordIndex

CatalogFactory = Callable[[Path], Catalog]
KeywordFactory = Callable[[Path], KeywordIndex]

CATALOGS = [pytest.param(SqliteCatalog, id="sqlite")]
KEYWORD_INDEXES = [pytest.param(SqliteKeywordIndex, id="sqlite-fts5")]


@pytest.fixture(params=CATALOGS)
def catalog_factory(request: pytest.FixtureRequest) -> CatalogFactory:
    """The callable that opens a catalog at a path."""
    factory: CatalogFactory = request.param
    return factory


@pytest.fixture
def open_catalog(
    catalog_factory: CatalogFactory, tmp_path: Path
) -> Iterator[Callable[[], Catalog]]:
    """Opens a connection to the one catalog of this test; every one is closed afterwards."""
    opened: list[Catalog] = []

    def open_() -> Catalog:
        store = catalog_factory(tmp_path / "catalog.db")
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def catalog(open_catalog: Callable[[], Catalog]) -> Catalog:
    return open_catalog()


@pytest.fixture(params=KEYWORD_INDEXES)
def keyword_factory(request: pytest.FixtureRequest) -> KeywordFactory:
    """The callable that opens a keyword index at a path."""
    factory: KeywordFactory = request.param
    return factory


@pytest.fixture
def open_keyword(
    keyword_factory: KeywordFactory, tmp_path: Path
) -> Iterator[Callable[[], KeywordIndex]]:
    """Opens a connection to the one keyword index of this test; all closed afterwards."""
    opened: list[KeywordIndex] = []

    def open_() -> KeywordIndex:
        store = keyword_factory(tmp_path / "keyword.db")
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def keyword(open_keyword: Callable[[], KeywordIndex]) -> KeywordIndex:
    return open_keyword()
