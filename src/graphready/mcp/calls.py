"""What each tool does: the functions the HTTP routes call (the graph API, the documents API,
``/status``, the question path and its admission), with the caller's request and workspace,
so that a tool answers exactly what the route would, errors included. Each returns the JSON
object the tool's result carries.

While the knowledge graph is not loaded, ``search_passages`` and ``ask`` answer from keyword
and vector search, and their result says so (:func:`graph_state`); the graph tools answer
``not_ready``, as the graph API does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from graphready.documents.intake import JsonDocument, from_json, unique
from graphready.retrieval.pipeline import retrieve
from graphready.server import documents, graph_api, routes
from graphready.server.lifecycle import AppState
from graphready.server.schemas import chat_response

from .arguments import (
    AddDocument,
    Ask,
    CommunitySummaries,
    DeleteDocument,
    FindEntities,
    GetEntity,
    ListDocuments,
    Neighbourhood,
    NoArguments,
    SearchPassages,
)
from .caller import Caller

Result = dict[str, Any]


def graph_state(state: AppState) -> Result:
    """Whether the knowledge graph answers now and, when it does not, why and what the result
    was made from instead."""
    ready = state.tools.graph is not None
    stage = state.readiness.stages["graph"]
    building = not ready and state.readiness.building and stage.state in ("pending", "running")
    if ready:
        note = None
    elif building:
        note = ("the knowledge graph is still being built: this result comes from keyword and "
                "vector search without it (the status tool shows the build's progress)")
    elif stage.state == "failed":
        note = ("the knowledge graph could not be built (the status tool says why): this "
                "result comes from keyword and vector search without it")
    else:
        note = "the knowledge graph is not built: this result comes from keyword and vector search"
    return {"ready": ready, "building": building, "note": note}


@asynccontextmanager
async def _admitted(caller: Caller) -> AsyncIterator[None]:
    """A place among the questions in flight, as ``POST /chat`` takes one: the client's rate
    limit spent, a chat slot held while the block runs."""
    admission = caller.state.admission
    await admission.check_rate(caller.request)
    async with admission.slot(caller.request):
        yield


async def search_passages(caller: Caller, args: SearchPassages) -> Result:
    """The passages retrieval finds for the query, best first, whole."""
    state = caller.state
    tools, graph = state.tools, graph_state(state)
    async with _admitted(caller):
        found = await asyncio.to_thread(retrieve, tools, args.query, args.mode, args.k)
    chunks = {c.id: c for c in await asyncio.to_thread(
        graph_api.visible_chunks, state, [h.chunk_id for h in found.hits])}
    passages = [{"chunk_id": c.id, "document_id": c.doc_id, "title": c.title, "text": c.text,
                 "page": c.page, "score": hit.score}
                for hit in found.hits if (c := chunks.get(hit.chunk_id)) is not None]
    return {"passages": passages, "mode": found.mode, "tools_used": list(found.tools_used),
            "graph_used": found.graph_used, "graph": graph}


async def ask(caller: Caller, args: Ask) -> Result:
    """The answer ``POST /chat`` gives, with its citations and ``found``."""
    state = caller.state
    graph = graph_state(state)
    async with _admitted(caller):
        result = await state.ask(args.question, args.mode, args.k)
    return {**chat_response(result).model_dump(mode="json"), "graph": graph}


async def find_entities(caller: Caller, args: FindEntities) -> Result:
    """``GET /graph/entities``."""
    page = await graph_api.entities(caller.request, q=args.query, type=args.type,
                                    limit=args.limit, cursor=args.cursor)
    return page.model_dump(mode="json")


async def get_entity(caller: Caller, args: GetEntity) -> Result:
    """``GET /graph/entities/{id}``."""
    return (await graph_api.entity(caller.request, args.entity_id)).model_dump(mode="json")


async def neighbourhood(caller: Caller, args: Neighbourhood) -> Result:
    """``GET /graph/subgraph``."""
    found = await graph_api.subgraph(caller.request, entity=args.entity_id, hops=args.hops,
                                     limit=args.limit)
    return found.model_dump(mode="json")


async def community_summaries(caller: Caller, args: CommunitySummaries) -> Result:
    """``GET /graph/communities``."""
    page = await graph_api.communities(caller.request, level=args.level, limit=args.limit,
                                       cursor=args.cursor)
    return page.model_dump(mode="json")


async def list_documents(caller: Caller, args: ListDocuments) -> Result:
    """``GET /documents``."""
    response = await documents.list_documents(caller.request, state=args.state,
                                              limit=args.limit, cursor=args.cursor)
    listed: Result = json.loads(bytes(response.body))
    return listed


async def add_document(caller: Caller, args: AddDocument) -> Result:
    """``POST /documents`` with one document, its id the hash of its text."""
    uploads = from_json([JsonDocument(args.text, None, args.title)], time.time())
    entries = await documents.add_uploads(caller.state, unique(uploads))
    return {"documents": [e.as_json() for e in entries]}


async def delete_document(caller: Caller, args: DeleteDocument) -> Result:
    """``DELETE /documents/{id}`` (``?dry_run=true`` with ``dry_run``)."""
    done = await documents.delete_document(caller.request, args.document_id.strip(),
                                           dry_run=args.dry_run)
    return done.model_dump(mode="json")


async def status(caller: Caller, args: NoArguments) -> Result:
    """``GET /status``."""
    return await routes.status(caller.request)
