"""``DELETE /documents/{id}?dry_run=true``: what deleting a document would remove or change,
changing nothing: its passages, and the change to the stored graph
(:mod:`graphready.explore.delete_preview`). The response models make its part of the OpenAPI
schema."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, Field

from graphready.config import Settings
from graphready.curation.apply import apply_edits
from graphready.curation.log import log_path, open_log
from graphready.documents.uploads import is_upload
from graphready.explore.delete_preview import Curate, GraphDiff, preview_delete
from graphready.knowledge import Entity, Relation

from .library import DocumentEntry
from .lifecycle import AppState

PASSAGES = "before and after the delete (0: it does not exist)"


class EntityChangeOut(BaseModel):
    """An entity the delete removes, changes or adds."""

    id: str
    name: str
    type: str
    passages_before: int = Field(description=f"Passages that mention it, {PASSAGES}")
    passages_after: int


class RelationChangeOut(BaseModel):
    """A relation the delete removes, changes or adds."""

    source: str
    target: str
    source_name: str
    target_name: str
    label: str
    weight_before: float = Field(description=f"Its weight, {PASSAGES}")
    weight_after: float
    passages_before: int
    passages_after: int


class CommunityChangeOut(BaseModel):
    """A community whose report the next build writes again."""

    id: str
    level: int
    title: str
    size: int = Field(description="How many entities it holds now")


class DeletePreview(BaseModel):
    """What ``DELETE /documents/{id}`` would do (``dry_run=true``); nothing was changed."""

    dry_run: Literal[True] = True
    document_id: str
    title: str
    source: Literal["folder", "upload"]
    how: str = Field(description="How the document is deleted: by this endpoint (an upload), "
                                 "or by removing its file from the served folder")
    passages: int = Field(description="How many passages (chunks) every index drops")
    chunk_ids: list[str] = Field(description="Their ids")
    graph_ready: bool = Field(description="False while no graph is built: the graph lists "
                                          "are then empty")
    chunks_in_graph: int = Field(description="How many of the passages the stored graph was "
                                             "built from (0 for a document not indexed yet)")
    entities_removed: list[EntityChangeOut] = Field(
        description="Entities that disappear: every passage of theirs is the document's")
    entities_changed: list[EntityChangeOut] = Field(
        description="Entities that stay but change: they lose the document's passages (or an "
                    "alias the document merged into them)")
    entities_added: list[EntityChangeOut] = Field(
        description="Entities that appear: a name the document merged into another one stands "
                    "alone again")
    relations_removed: list[RelationChangeOut] = Field(
        description="Relations only the document supports")
    relations_changed: list[RelationChangeOut] = Field(
        description="Relations that stay but change: they lose weight and passages")
    relations_added: list[RelationChangeOut]
    communities: list[CommunityChangeOut] = Field(
        description="Communities whose report is written again: they hold an entity that "
                    "disappears or changes")
    message: str


def _how(state: AppState, entry: DocumentEntry) -> str:
    if entry.source == "upload":
        return "DELETE /documents/{id} without dry_run deletes it"
    docs_dir = state.settings.docs_dir
    where = f"{docs_dir}/{entry.path}" if docs_dir is not None else entry.path
    line = " (a line of it)" if entry.path != entry.id else ""
    return (f"a file of the served folder: graphready does not delete your files; remove "
            f"{where}{line}, then POST /build")


def _chunk_ids(state: AppState, entry: DocumentEntry) -> list[str]:
    """The passages of the document that ``entry`` is (an upload or a folder file's)."""
    upload = entry.source == "upload"
    return [c for d in state.stores.catalog.documents([entry.id])
            if is_upload(d.source) == upload for c in d.chunk_ids]


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _curate(settings: Settings) -> Curate | None:
    """The curators' live edits as the graph stage applies them (edits live, or applied to the
    stored graph: see ``indexing/graph_update.py``), for a whole assembly; None when there are
    none."""
    path = log_path(settings)
    if not path.exists():
        return None
    with open_log(path) as log:
        live, applied = log.live(), log.applied_digest()
    if not live and not applied:
        return None

    def curate(entities: list[Entity],
               relations: list[Relation]) -> tuple[list[Entity], list[Relation]]:
        curated = apply_edits(entities, relations, live)
        return curated.entities, curated.relations

    return curate


def _preview(state: AppState, entry: DocumentEntry) -> DeletePreview:
    chunk_ids = _chunk_ids(state, entry)
    diff = preview_delete(state.stores.graph, chunk_ids, _curate(state.settings)) \
        if state.graph_view is not None else None
    ready = diff is not None
    found = diff or GraphDiff(0, (), (), (), (), (), (), ())
    drops = f"deleting it drops {_count(len(chunk_ids), 'passage')}"
    message = (f"{drops}; the graph loses {_count(len(found.entities_removed), 'entity')} and "
               f"{_count(len(found.relations_removed), 'relation')}, "
               f"{_count(len(found.entities_changed), 'entity')} change, and "
               f"{_count(len(found.communities), 'community report')} are written again"
               if ready else
               f"{drops}; the knowledge graph is not built yet, so what it would lose is not "
               "known")
    return DeletePreview.model_validate({
        "document_id": entry.id, "title": entry.title, "source": entry.source,
        "how": _how(state, entry), "passages": len(chunk_ids), "chunk_ids": chunk_ids,
        "graph_ready": ready, "chunks_in_graph": found.chunks_in_graph,
        "entities_removed": found.entities_removed, "entities_changed": found.entities_changed,
        "entities_added": found.entities_added, "relations_removed": found.relations_removed,
        "relations_changed": found.relations_changed,
        "relations_added": found.relations_added, "communities": found.communities,
        "message": message}, from_attributes=True)


async def delete_preview(state: AppState, entry: DocumentEntry) -> DeletePreview:
    """What deleting the document ``entry`` would do (the store is read in a worker
    thread)."""
    return await asyncio.to_thread(_preview, state, entry)
