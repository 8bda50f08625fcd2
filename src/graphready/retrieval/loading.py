"""Turns what the stores hold into retrieval tools (blocking: call from a worker thread)."""

from __future__ import annotations

from dataclasses import dataclass

from graphready.config import Settings
from graphready.embeddings.base import Embedder
from graphready.explore.view import GraphView
from graphready.heap import release_free_memory
from graphready.stores.registry import Stores

from .graph_global import CommunityIndex
from .graph_local import GraphIndex
from .pipeline import Toolset, VectorSearch


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


def load_graph(stores: Stores) -> GraphTools | None:
    """Graph-local and graph-global tools from the last completed graph, if any."""
    graph = stores.graph.load_graph()
    if graph is None:
        return None
    counts = {"entities": len(graph.entities), "relations": len(graph.relations),
              "communities": len(graph.communities)}
    titles: dict[str, list[str]] = {}
    chunk_docs: dict[str, str] = {}
    for chunk in stores.catalog.iter_chunks():
        titles.setdefault(chunk.title, []).append(chunk.id)
        chunk_docs[chunk.id] = chunk.doc_id
    tools = GraphTools(GraphIndex(graph, titles), CommunityIndex(graph.communities), counts,
                       GraphView(graph, chunk_docs, stores.graph.iter_extractions))
    del graph, titles
    release_free_memory()  # what the load built and dropped, returned to the system
    return tools


def load_toolset(settings: Settings, stores: Stores) -> Toolset:
    """Every tool the stores can give now (for the CLI's ``ask`` and ``eval``)."""
    keyword = stores.keyword if stores.keyword.synced_fingerprint() is not None else None
    graph = load_graph(stores)
    return Toolset(
        keyword=keyword,
        vectors=load_vectors(settings, stores, None),
        graph=graph.local if graph else None,
        communities=graph.communities if graph else None,
    )
