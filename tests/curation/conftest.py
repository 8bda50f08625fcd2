"""The curation tests' fixtures: the build-stage tests' FalkorDB server (one per module) and
the store URLs of a backend (``tests/indexing/conftest.py``)."""

from indexing.conftest import falkordb, store_urls

__all__ = ["falkordb", "store_urls"]
