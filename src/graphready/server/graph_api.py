"""The graph API: search the knowledge graph's entities, read one with its passages, relations
and communities, take the neighbourhood of an entity for drawing, browse the community
hierarchy, export the whole graph, and read a passage whole. Everything reads the graph the
server has loaded (from whichever store holds it), never rebuilds anything, and answers 503 with
``Retry-After`` while no graph is loaded. Work runs in a worker thread, off the event loop.

A deleted document is hidden from every endpoint here from the moment ``DELETE`` returns: its
passages, its id, the entities and relations only it supports, and the descriptions and
community reports it may have contributed to (withheld, flagged ``rewriting``), until the graph
stage has rebuilt the graph without it (:mod:`graphready.explore.visible`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from graphready.documents.types import Chunk
from graphready.errors import NotFound, NotReady, RateLimited
from graphready.explore.export import graphml, node_link_json
from graphready.explore.overview import overview as central
from graphready.explore.view import GraphView
from graphready.knowledge import Community

from .cursors import OFFSET_CURSOR, decode_offset, encode_offset
from .errors import error_responses
from .graph_schemas import (
    CommunityDetail,
    CommunityOut,
    CommunityPage,
    CommunityRef,
    DocumentRef,
    EdgeOut,
    EntityDetail,
    EntityOut,
    EntityPage,
    GraphOverview,
    NodeOut,
    OverviewNode,
    PassageOut,
    PassageText,
    RelationOut,
    SubgraphOut,
)
from .lifecycle import AppState
from .state import app_state

router = APIRouter(tags=["graph"])

ERRORS = error_responses(NotReady, RateLimited)
"""What every graph endpoint can answer: no graph loaded yet, or the client's share of graph
requests in flight is full (``admission.py``)."""
ONE = error_responses(NotReady, RateLimited, NotFound)
"""... and an endpoint that reads one thing by its id: there is no such thing."""
MAX_PAGE = 200
MAX_SUBGRAPH = 500
EDGES_PER_NODE = 4
PASSAGES_SHOWN = 20
DOCUMENTS_SHOWN = 50
RELATIONS_SHOWN = 50
MEMBERS_SHOWN = 200
SNIPPET_CHARS = 240
CURSOR = "next_cursor of the previous page (empty: the first page)"


async def _view(request: Request) -> GraphView:
    """The loaded graph as it may be shown now: without the documents hidden (built in a
    worker thread the first time after the hidden set changed)."""
    state = app_state(request)
    view = state.graph_view
    if view is None:
        raise NotReady("the knowledge graph is not built yet; /status shows the graph stage's "
                       "progress", retry_after=10)
    hidden = state.library.graph_hidden(view.documents)
    return view if view.shows_all(hidden) else await asyncio.to_thread(view.visible, hidden)


def _entity_out(view: GraphView, position: int) -> EntityOut:
    entity = view.entities[position]
    return EntityOut(id=entity.id, name=entity.name, type=entity.type,
                     degree=int(view.degree[position]), passages=len(entity.chunk_ids),
                     curated=view.curated(entity.id),
                     aliases=list(view.curation.aliases.get(entity.id, ())))


def _community_ref(community: Community) -> CommunityRef:
    return CommunityRef(id=community.id, level=community.level, title=community.title,
                        size=len(community.entity_ids))


def visible_chunks(state: AppState, ids: list[str]) -> list[Chunk]:
    """The chunks with these ids, without those of documents deleted and not yet rebuilt away
    (the answers leave them out too)."""
    hidden = state.library.hidden
    return [c for c in state.stores.catalog.get_chunks(ids) if c.doc_id not in hidden]


def _not_found(what: str, ident: str) -> NotFound:
    return NotFound(f"no {what} with id {ident!r} in the loaded graph")


def snippet(text: str, name: str, width: int = SNIPPET_CHARS) -> str:
    """A window of ``text`` around the first mention of ``name`` (or its start)."""
    flat = " ".join(text.split())
    at = flat.lower().find(name.lower())
    start = max(0, at - width // 3) if at >= 0 else 0
    piece = flat[start: start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


@router.get("/graph/entities", response_model=EntityPage, responses=ERRORS,
            summary="Search the graph's entities by name")
async def entities(
    request: Request,
    q: Annotated[str, Query(max_length=200, description="Name or words of the name, case and "
                                                       "accents ignored; empty lists all")] = "",
    type: Annotated[str | None, Query(max_length=50, description="Only this type")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(pattern=OFFSET_CURSOR, description=CURSOR)] = None,
) -> EntityPage:
    """Entities whose name starts with ``q``, or has words starting with each word of ``q``:
    exact names first, then by degree. Paged with ``cursor``."""
    view = await _view(request)
    offset = decode_offset(cursor)
    page = await asyncio.to_thread(view.search, q, type or None, offset, limit)
    return EntityPage(entities=[_entity_out(view, p) for p in page.items], total=page.total,
                      next_cursor=encode_offset(page.next_offset), types=view.types)


def _entity_detail(view: GraphView, state: AppState, position: int) -> EntityDetail:
    entity = view.entities[position]
    doc_chunks: dict[str, str] = {}
    for chunk_id in entity.chunk_ids:
        doc = view.chunk_docs.get(chunk_id)
        if doc is not None and doc not in doc_chunks and len(doc_chunks) < DOCUMENTS_SHOWN:
            doc_chunks[doc] = chunk_id
    shown = list(entity.chunk_ids[:PASSAGES_SHOWN])
    chunks: dict[str, Chunk] = {c.id: c for c in visible_chunks(
        state, list(dict.fromkeys([*shown, *doc_chunks.values()])))}
    passages = [PassageOut(chunk_id=c.id, document_id=c.doc_id, title=c.title,
                           snippet=snippet(c.text, entity.name))
                for c in (chunks.get(i) for i in shown) if c is not None]
    documents = [DocumentRef(id=doc, title=chunks[chunk].title if chunk in chunks else doc)
                 for doc, chunk in doc_chunks.items()]
    relations = [RelationOut(other=_entity_out(view, n.other), label=n.relation.label,
                             description=n.relation.description, weight=n.relation.weight,
                             passages=len(n.relation.chunk_ids),
                             curated=view.curated_relation(n.relation))
                 for n in view.neighbours(position, RELATIONS_SHOWN)]
    return EntityDetail(
        id=entity.id, name=entity.name, type=entity.type, description=entity.description,
        rewriting=entity.id in view.withheld_entities, curated=view.curated(entity.id),
        aliases=list(view.aliases_of(entity)), degree=int(view.degree[position]),
        passage_count=len(entity.chunk_ids),
        passages=passages, document_count=len(view.documents_of(entity)), documents=documents,
        relations=relations,
        communities=[_community_ref(c) for c in view.communities_of(position)])


@router.get("/graph/entities/{entity_id}", response_model=EntityDetail, responses=ONE,
            summary="An entity with its passages, relations and communities")
async def entity(request: Request, entity_id: Annotated[str, Path(max_length=200)]) -> (
        EntityDetail):
    """The entity, its description, the passages and documents that mention it (with
    snippets), its strongest relations, and its community at every level."""
    view = await _view(request)
    position = view.position(entity_id)
    if position is None:
        raise _not_found("entity", entity_id)
    return await asyncio.to_thread(_entity_detail, view, app_state(request), position)


def _subgraph(view: GraphView, position: int, hops: int, limit: int) -> SubgraphOut:
    found = view.subgraph(position, hops, limit, EDGES_PER_NODE * limit)
    nodes = []
    legend: dict[str, CommunityRef] = {}
    for node, hop in zip(found.nodes, found.hops, strict=True):
        community = view.top_community(node)
        nodes.append(NodeOut(**_entity_out(view, node).model_dump(), hop=hop,
                             community=community))
        top = view.community(community) if community else None
        if top is not None and top.id not in legend:
            legend[top.id] = _community_ref(top)
    edges = [EdgeOut(source=r.source, target=r.target, label=r.label, weight=r.weight,
                     curated=view.curated_relation(r)) for r in found.edges]
    return SubgraphOut(center=view.entities[position].id, hops=hops, limit=limit,
                       truncated=found.truncated, nodes=nodes, edges=edges,
                       communities=list(legend.values()))


@router.get("/graph/subgraph", response_model=SubgraphOut, responses=ONE,
            summary="The neighbourhood of an entity, for drawing")
async def subgraph(
    request: Request,
    entity: Annotated[str, Query(max_length=200, description="The centre entity's id")],
    hops: Annotated[int, Query(ge=1, le=2)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_SUBGRAPH, description="Most entities")] = 50,
) -> SubgraphOut:
    """The entity and the entities within ``hops`` relations of it, strongest relations first,
    at most ``limit`` of them, and the relations among them."""
    view = await _view(request)
    position = view.position(entity)
    if position is None:
        raise _not_found("entity", entity)
    return await asyncio.to_thread(_subgraph, view, position, hops, limit)


def _overview(view: GraphView, limit: int) -> GraphOverview:
    found = central(view, limit)
    nodes = [OverviewNode(**_entity_out(view, p).model_dump(), community=view.top_community(p))
             for p in found.nodes]
    edges = [EdgeOut(source=r.source, target=r.target, label=r.label, weight=r.weight)
             for r in found.edges]
    legend = [_community_ref(c) for c in map(view.community, found.communities) if c]
    return GraphOverview(limit=limit, total_entities=len(view.entities), nodes=nodes,
                         edges=edges, communities=legend)


@router.get("/graph/overview", response_model=GraphOverview, responses=ERRORS,
            summary="The most central entities and the relations among them")
async def graph_overview(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_SUBGRAPH, description="Most entities")] = 60,
) -> GraphOverview:
    """The graph at a glance (what the web app's graph view opens on): up to ``limit`` of the
    entities with the most relations, spread over the top-level communities, each with its
    top-level community, the strongest relations among them, and the communities' titles."""
    view = await _view(request)
    return await asyncio.to_thread(_overview, view, limit)


@router.get("/graph/communities", response_model=CommunityPage, responses=ERRORS,
            summary="The communities of the graph, a level at a time")
async def communities(
    request: Request,
    level: Annotated[int | None, Query(ge=0, le=20, description="0 is the top level")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(pattern=OFFSET_CURSOR, description=CURSOR)] = None,
) -> CommunityPage:
    """Communities (of ``level``, if given), largest first, with their reports."""
    view = await _view(request)
    offset = decode_offset(cursor)
    found = view.list_communities(level)
    page = found[offset: offset + limit]
    after = offset + len(page)
    items = [CommunityOut(**_community_ref(c).model_dump(), summary=c.summary, rating=c.rating,
                          rewriting=c.id in view.withheld_communities,
                          parent=c.parent, children=len(view.children(c.id))) for c in page]
    return CommunityPage(communities=items, total=len(found),
                         next_cursor=encode_offset(after if after < len(found) else None),
                         levels=view.levels)


@router.get("/graph/communities/{community_id}", response_model=CommunityDetail,
            responses=ONE, summary="A community with its report, members and children")
async def community(request: Request,
                    community_id: Annotated[str, Path(max_length=200)]) -> CommunityDetail:
    """The community's title, report and rating, its members, its parent and children."""
    view = await _view(request)
    found = view.community(community_id)
    if found is None:
        raise _not_found("community", community_id)
    parent = view.community(found.parent) if found.parent else None
    members = view.members(found)[:MEMBERS_SHOWN]
    return CommunityDetail(
        id=found.id, level=found.level, title=found.title, summary=found.summary,
        rating=found.rating, rewriting=found.id in view.withheld_communities,
        size=len(found.entity_ids),
        parent=_community_ref(parent) if parent else None,
        children=[_community_ref(c) for c in view.children(found.id)],
        members=[_entity_out(view, p) for p in members], passages=len(found.chunk_ids))


@router.get("/graph/export", responses={**ERRORS, 200: {"content": {
    "application/graphml+xml": {}, "application/json": {}}}},
    summary="The whole graph as GraphML or JSON, streamed")
async def export(request: Request,
                 format: Literal["graphml", "json"] = "graphml") -> StreamingResponse:
    """Every entity and relation, written as it is sent (memory does not grow with the graph):
    GraphML for Gephi, Cytoscape and NetworkX, or node-link JSON. Document ids and community
    ids are attributes, as JSON arrays in strings."""
    view = await _view(request)
    pieces: Iterator[bytes] = graphml(view) if format == "graphml" else node_link_json(view)
    media = "application/graphml+xml" if format == "graphml" else "application/json"
    name = f"graphready-graph.{'graphml' if format == 'graphml' else 'json'}"
    return StreamingResponse(pieces, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/passages/{chunk_id}", response_model=PassageText, responses=ONE,
            tags=["documents"], summary="A passage, whole (what a citation points at)")
async def passage(request: Request, chunk_id: Annotated[str, Path(max_length=200)]) -> (
        PassageText):
    """The whole text of a passage, by the ``chunk_id`` of a citation or of an entity's
    passage."""
    found = await asyncio.to_thread(visible_chunks, app_state(request), [chunk_id])
    if not found:
        raise NotFound(f"no passage with id {chunk_id!r}")
    chunk = found[0]
    return PassageText(chunk_id=chunk.id, document_id=chunk.doc_id, title=chunk.title,
                       text=chunk.text)
