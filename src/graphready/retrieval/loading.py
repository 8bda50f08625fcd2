"""Turns what the stores hold into retrieval tools (blocking: call from a worker thread)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphready.config import Settings
from graphready.curation.apply import Marks
from graphready.curation.log import FILE as CURATION_FILE
from graphready.curation.log import read_marks
from graphready.embeddings.base import Embedder
from graphready.errors import StoreError
from graphready.explore.view import GraphView
from graphready.explore.view_arrays import ViewArrays, view_arrays
from graphready.heap import release_free_memory
from graphready.knowledge import KnowledgeGraph
from graphready.stores.base import GraphStore, IncrementalGraphStore
from graphready.stores.registry import Stores

from .graph_arrays import GraphArrays, build_arrays
from .graph_file import building, open_arrays, write_arrays
from .graph_global import CommunityArrays, CommunityIndex, community_arrays
from .graph_local import GraphIndex, GraphSearchParams
from .pipeline import Toolset, VectorSearch

log = logging.getLogger("graphready.retrieval")
GRAPH_FILE = "graph-local.arrays"
VIEW_FILE = "graph-view.arrays"
"""Beside :data:`GRAPH_FILE`: the graph API's view and the community index, under its key."""
Arrays = dict[str, Any]


@dataclass(frozen=True, slots=True)
class GraphTools:
    """The graph's two tools, its counts, and the view the graph API reads."""

    local: GraphIndex
    communities: CommunityIndex
    counts: dict[str, int]
    view: GraphView


def load_vectors(settings: Settings, stores: Stores, embedder: Embedder | None) -> (
        VectorSearch | None):
    """Vector search over the stored vectors, if any were completed with this embedder."""
    from graphready.embeddings.registry import create_embedder

    store = stores.vectors
    if store.synced_fingerprint() is None:
        return None
    embedder = embedder or create_embedder(settings, questions_only=True)
    if store.model_id() != embedder.model_id:
        return None
    store.refresh()
    return VectorSearch(embedder, store)


def graph_file(settings: Settings) -> Path:
    """Where the data dir's graph-local arrays are mapped from (one file per machine)."""
    return settings.db_dir / GRAPH_FILE


def graph_key(fingerprint: str | None, extractor: str | None, sizes: tuple[int, int],
              params: GraphSearchParams) -> str | None:
    """What names one stored graph's arrays: the graph store's synced fingerprint (a new graph
    of other documents is stored with a new one), the extractor that wrote it and the graph's
    size (the same documents extracted again, by another extractor or a new version of one,
    give a new graph under the same fingerprint: ``sizes``, its entities and relations), and
    the weights built into the arrays; None for a graph without a fingerprint (another
    extractor's, kept until replaced), whose arrays are never written."""
    if fingerprint is None:
        return None
    return (f"{fingerprint} extractor={extractor!r} entities={sizes[0]} "
            f"relations={sizes[1]} own_page_weight={params.own_page_weight!r}")


def _stored_sizes(store: GraphStore) -> tuple[int, int] | None:
    """The stored graph's numbers of entities and relations, counted by a store that can
    without reading the graph; None for one that cannot."""
    if not isinstance(store, IncrementalGraphStore):
        return None
    try:
        counts = store.counts()
    except StoreError:  # a reconnecting store over one that does not change in place
        return None
    return counts["entities"], counts["relations"]


def _titles(stores: Stores) -> dict[str, list[str]]:
    """Each document title's chunks."""
    titles: dict[str, list[str]] = {}
    for chunk in stores.catalog.iter_chunks():
        titles.setdefault(chunk.title, []).append(chunk.id)
    return titles


def _chunk_docs(stores: Stores) -> dict[str, str]:
    """Each chunk's document."""
    return {chunk.id: chunk.doc_id for chunk in stores.catalog.iter_chunks()}


def _mapped(path: Path | None, key: str | None, names: Sequence[str],
            build: Callable[[], Arrays]) -> Arrays:
    """The arrays ``names``: mapped from ``path`` when it holds ``key``'s; else built, written
    there (one process of the machine at a time) and mapped; built and kept in this process
    when there is no key or the file cannot be written."""
    if path is None or key is None:
        return build()
    mapped = open_arrays(path, key, names)
    if mapped is not None:
        return mapped
    built: Arrays | None = None
    try:
        with building(path):
            mapped = open_arrays(path, key, names)  # another process may have written it
            if mapped is None:
                built = build()
                write_arrays(path, built, key)
                mapped = open_arrays(path, key, names)
    except OSError as exc:
        log.warning("could not write the graph file %s (%s); this process keeps its own copy",
                    path, exc)
    if mapped is not None:
        return mapped
    return built if built is not None else build()


def _prefixed(prefix: str, arrays: Mapping[str, Any]) -> Arrays:
    return {f"{prefix}.{name}": value for name, value in arrays.items()}


def _parts(prefix: str, arrays: Mapping[str, Any]) -> Arrays:
    return {name.removeprefix(f"{prefix}."): value for name, value in arrays.items()
            if name.startswith(f"{prefix}.")}


def _local_arrays(path: Path | None, key: str | None, graph: KnowledgeGraph,
                  titles: dict[str, list[str]], params: GraphSearchParams) -> GraphArrays:
    """Graph-local search's arrays, from ``path`` (:data:`GRAPH_FILE`)."""
    return GraphArrays(**_mapped(path, key, GraphArrays.names(), lambda: build_arrays(
        graph, titles, params.own_page_weight).as_dict()))


def _view_names() -> list[str]:
    """The arrays of :data:`VIEW_FILE`: the view's, then the community index's."""
    return [*(f"view.{n}" for n in ViewArrays.names()),
            *(f"search.{n}" for n in CommunityArrays.names())]


def _view_arrays(path: Path | None, key: str | None, graph: KnowledgeGraph,
                 marks: Marks) -> tuple[ViewArrays, CommunityArrays]:
    """The graph API view's arrays and the community index's, from one file beside the
    graph-local arrays (:data:`VIEW_FILE`)."""
    found = _mapped(None if path is None else path.with_name(VIEW_FILE), key, _view_names(),
                    lambda: {
        **_prefixed("view", view_arrays(graph, marks.aliases).as_dict()),
        **_prefixed("search", community_arrays(graph.communities).as_dict())})
    return ViewArrays(**_parts("view", found)), CommunityArrays(**_parts("search", found))


def load_graph(stores: Stores, path: Path | None = None) -> GraphTools | None:
    """Graph-local and graph-global tools from the last completed graph, if any. With
    ``path`` (:func:`graph_file`), graph-local search maps the arrays there, and the graph
    API's view and the community index those beside it (:data:`VIEW_FILE`), when they are the
    stored graph's (the key: the graph store's synced fingerprint, read before and after the
    graph, so that a graph replaced meanwhile is never written under the wrong key); when they
    are missing, stale or damaged, the first process of the machine to load the graph builds
    them and writes them there, and the others wait for it and map them. A store that counts
    its graph (:func:`_stored_sizes`) gives the key without the graph: when both files hold
    it, the graph is not read at all. No object per entity, relation or community outlives
    the load."""
    params = GraphSearchParams()
    # The edit log lives beside the arrays file; its marks name the curated graph stored.
    marks = read_marks(path.parent / CURATION_FILE) if path is not None else Marks()
    before = stores.graph.synced_fingerprint()
    extractor = stores.graph.extractor_id()
    sizes = _stored_sizes(stores.graph) if before is not None and path is not None else None
    key = _edited(graph_key(before, extractor, sizes, params), marks) if sizes else None
    if key is not None and path is not None:
        mapped = _mapped_tools(stores, path, key, marks, params)
        if mapped is not None:
            return mapped
    graph = stores.graph.load_graph()
    if graph is None:
        return None
    if sizes is None:
        sizes = (len(graph.entities), len(graph.relations))
    key = _edited(graph_key(before, extractor, sizes, params), marks)
    if stores.graph.synced_fingerprint() != before:
        key = None
    titles = _titles(stores)
    local = GraphIndex.from_arrays(_local_arrays(path, key, graph, titles, params), params)
    del titles
    shown, search = _view_arrays(path, key, graph, marks)
    del graph
    release_free_memory()  # before what stays is allocated among what the load freed
    tools = _tools(stores, local, shown, search, _chunk_docs(stores), marks)
    release_free_memory()  # what the load built and dropped, returned to the system
    return tools


def _edited(key: str | None, marks: Marks) -> str | None:
    """``key`` of a graph the curators' edits ``marks`` were applied to."""
    return f"{key} edits={marks.digest}" if key is not None and marks.digest else key


def _mapped_tools(stores: Stores, path: Path, key: str, marks: Marks,
                  params: GraphSearchParams) -> GraphTools | None:
    """The tools from the files of the graph ``key`` alone, when both hold it."""
    local = open_arrays(path, key, GraphArrays.names())
    found = open_arrays(path.with_name(VIEW_FILE), key, _view_names())
    if local is None or found is None:
        return None
    return _tools(stores, GraphIndex.from_arrays(GraphArrays(**local), params),
                  ViewArrays(**_parts("view", found)), CommunityArrays(**_parts("search", found)),
                  _chunk_docs(stores), marks)


def _tools(stores: Stores, local: GraphIndex, shown: ViewArrays, search: CommunityArrays,
           chunk_docs: dict[str, str], marks: Marks) -> GraphTools:
    view = GraphView.of_arrays(shown, chunk_docs, stores.graph.iter_extractions, curation=marks)
    counts = {"entities": len(view.entities), "relations": len(view.relations),
              "communities": len(view.communities)}
    return GraphTools(local, CommunityIndex(view.communities, search), counts, view)


def load_toolset(settings: Settings, stores: Stores) -> Toolset:
    """Every tool the stores can give now (for the CLI's ``ask`` and ``eval``)."""
    keyword = stores.keyword if stores.keyword.synced_fingerprint() is not None else None
    graph = load_graph(stores, graph_file(settings))
    return Toolset(
        keyword=keyword,
        vectors=load_vectors(settings, stores, None),
        graph=graph.local if graph else None,
        communities=graph.communities if graph else None,
    )
