"""The steps every :class:`~graphready.stores.base.VectorStore` takes alike, whatever holds the
vectors (a SQLite file, a FalkorDB or a Neo4j server): checking and L2-normalising what ``add``
is given, keeping the last row of a repeated id, normalising a query, and the errors of a
dimension that does not match the store's. Stored vectors are unit length, so a dot product is
the cosine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphready.errors import StoreError
from graphready.stores.base import Hit, Vectors


def normalise(vectors: Vectors) -> Vectors:
    """Each row scaled to unit length (a zero row stays zero), as contiguous float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms > 0.0, norms, 1.0), dtype=np.float32)


def rows_to_add(ids: Sequence[str], vectors: Vectors) -> Vectors | None:
    """The rows ``add(ids, vectors)`` stores: float32, L2-normalised, one per id (row ``i`` is
    ``ids[i]``); None when there are no ids. A shape that is not one row per id is a
    :class:`StoreError`."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(ids):
        raise StoreError(f"add: {len(ids)} ids but vectors of shape {matrix.shape}")
    if not ids:
        return None
    return normalise(matrix)


def rows_to_write(ids: Sequence[str], vectors: Vectors) -> tuple[int, list[list[Any]]]:
    """What a server store's ``add(ids, vectors)`` writes: the dimension, and
    ``[chunk_id, vector as a list of floats]`` per id, checked and normalised as by
    :func:`rows_to_add`, the last row of a repeated id winning; ``(0, [])`` when there are no
    ids."""
    matrix = rows_to_add(ids, vectors)
    if matrix is None:
        return 0, []
    latest = {chunk_id: row for row, chunk_id in enumerate(ids)}
    return int(matrix.shape[1]), [[chunk_id, matrix[row].tolist()]
                                  for chunk_id, row in latest.items()]


def unit_query(query: Vectors) -> tuple[Vectors, float]:
    """One query vector, flattened and scaled to unit length (a zero vector stays zero), and
    its length before."""
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(q))
    return (q / norm if norm > 0.0 else q), norm


def best(hits: list[Hit], k: int) -> list[Hit]:
    """The ``k`` hits of highest score, best first (equal scores keep their order)."""
    hits.sort(key=lambda hit: -hit.score)
    return hits[:k]


def add_dimension_error(dim: int, stored: object) -> StoreError:
    """``add`` was given vectors of ``dim`` dimensions where the store holds ``stored``."""
    return StoreError(f"add: vectors have {dim} dimensions, the store holds {stored}")


def search_dimension_error(dim: int, stored: object) -> StoreError:
    """``search`` was given a query of ``dim`` dimensions where the store holds ``stored``."""
    return StoreError(f"search: query has {dim} dimensions, the store holds {stored}")
