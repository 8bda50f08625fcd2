"""Graph curation over HTTP: list the edits, make one (merge, rename, delete an entity or a
relation, add a relation), undo one. An edit is kept in the data dir's edit log
(:mod:`graphready.curation.log`), apart from the extracted graph, and applied by the graph
stage after every assembly; making or undoing one schedules the graph stage, and the edit is
``pending`` until it has run, then ``applied`` or ``stale`` (with the problem named)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, RootModel

from graphready.curation.edits import (
    AddRelation,
    Change,
    DeleteEntity,
    DeleteRelation,
    Edit,
    Merge,
    Rename,
    check,
    fields_of,
    op_of,
)
from graphready.curation.log import log_path, open_log
from graphready.errors import Conflict, InvalidRequest, NotFound, NotReady
from graphready.explore.view import GraphView

from .bodies import read_json
from .errors import error_responses
from .keys import access_of
from .lifecycle import AppState
from .patterns import NOT_BLANK
from .state import app_state, workspace_name

router = APIRouter(tags=["curation"])

MAX_ID = 64
MAX_NAME = 200
MAX_LABEL = 100
MAX_DESCRIPTION = 2000
MAX_SOURCES = 100
EDIT_ID = r"^edit_[0-9a-f]{16}$"
EntityId = Annotated[str, Field(min_length=1, max_length=MAX_ID,
                                description="An entity's id (as the graph API gives it)")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MergeBody(_Body):
    """Merge the ``sources`` into the ``target``."""

    op: Literal["merge"]
    sources: list[EntityId] = Field(min_length=1, max_length=MAX_SOURCES)
    target: EntityId


class RenameBody(_Body):
    """Rename an entity (its old name kept as an alias)."""

    op: Literal["rename"]
    entity: EntityId
    name: str = Field(max_length=MAX_NAME, pattern=NOT_BLANK,
                      description="Stripped of white space at both ends")


class DeleteEntityBody(_Body):
    """Delete an entity and its relations."""

    op: Literal["delete_entity"]
    entity: EntityId


class DeleteRelationBody(_Body):
    """Delete the relation between two entities (either order)."""

    op: Literal["delete_relation"]
    source: EntityId
    target: EntityId


class AddRelationBody(_Body):
    """Add a relation between two entities."""

    op: Literal["add_relation"]
    source: EntityId
    target: EntityId
    label: str = Field(max_length=MAX_LABEL, pattern=NOT_BLANK)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


class EditBody(RootModel[Annotated[MergeBody | RenameBody | DeleteEntityBody
                                   | DeleteRelationBody | AddRelationBody,
                                   Field(discriminator="op")]]):
    """``POST /graph/edits``: one edit, by its ``op``."""


class EditOut(BaseModel):
    """An edit: the op and its fields, who made it and when, whether it was undone, and what
    the last graph stage made of it."""

    id: str
    op: Literal["merge", "rename", "delete_entity", "delete_relation", "add_relation"]
    sources: list[str] = Field(default_factory=list, description="merge: merged away")
    target: str = Field(default="", description="merge: kept; relations: one end")
    entity: str = Field(default="", description="rename, delete_entity")
    name: str = Field(default="", description="rename: the new name")
    source: str = Field(default="", description="relations: one end")
    label: str = Field(default="", description="add_relation")
    description: str = Field(default="", description="add_relation")
    created_at: str = Field(description="ISO 8601, UTC")
    by: str | None = Field(description="The label of the API key that made it; null without "
                                        "keys")
    undone_at: str | None
    undone_by: str | None
    status: Literal["pending", "applied", "stale", "undone"] = Field(
        description="pending until the graph stage has run; then applied, or stale when what "
                    "it names is no longer in the graph (it applies again if it comes back)")
    problem: str | None = Field(description="Why it is stale")
    names: dict[str, str] = Field(default_factory=dict, description="The names of the "
                                  "entities it names (id -> name), as they were when it was made")


class EditList(BaseModel):
    """Every edit, oldest first, undone ones included."""

    edits: list[EditOut]
    may_edit: bool = Field(description="Whether the request's key may make and undo edits in "
                                       "this workspace (the web app shows its controls then)")


def edit_json(edit: Edit) -> dict[str, Any]:
    """An edit as the API shows it (:class:`EditOut`: only its op's fields)."""
    return {"id": edit.id, "op": op_of(edit.change), **fields_of(edit.change),
            "created_at": edit.created_at, "by": edit.by, "undone_at": edit.undone_at,
            "undone_by": edit.undone_by, "status": edit.status, "problem": edit.problem,
            "names": dict(edit.names)}


def _change(body: EditBody) -> Change:
    found = body.root
    change: Change
    if isinstance(found, MergeBody):
        change = Merge(tuple(found.sources), found.target)
    elif isinstance(found, RenameBody):
        change = Rename(found.entity, found.name.strip())
    elif isinstance(found, DeleteEntityBody):
        change = DeleteEntity(found.entity)
    elif isinstance(found, DeleteRelationBody):
        change = DeleteRelation(found.source, found.target)
    else:
        change = AddRelation(found.source, found.target, found.label.strip(),
                             found.description.strip())
    return change


def _names(view: GraphView, change: Change) -> dict[str, str]:
    """The names of the entities ``change`` names, as the loaded graph holds them; NotFound
    for one it does not hold (or, to delete a relation, a pair it does not relate)."""
    names: dict[str, str] = {}
    for entity_id in change.entities:
        position = view.position(entity_id)
        if position is None:
            raise NotFound(f"no entity with id {entity_id!r} in the loaded graph")
        names[entity_id] = view.entities[position].name
    if isinstance(change, DeleteRelation) and change.source != change.target:
        position = view.position(change.source)
        assert position is not None
        others = {view.entities[n.other].id for n in view.neighbours(
            position, int(view.degree[position]))}
        if change.target not in others:
            raise NotFound(f"no relation between {names[change.source]!r} and "
                           f"{names[change.target]!r} in the loaded graph")
    return names


def _label(request: Request) -> str | None:
    access = access_of(request.scope)
    return access.label if access is not None else None


def _view(state: AppState) -> GraphView:
    view = state.graph_view
    if view is None:
        raise NotReady("the knowledge graph is not built yet; an edit names entities of it "
                       "(/status shows the graph stage's progress)", retry_after=10)
    return view


@router.get("/graph/edits", response_model=EditList, summary="The curators' edits",
            responses=error_responses())
async def list_edits(request: Request) -> JSONResponse:
    """Every edit, oldest first, undone ones included, each with its status; and whether the
    request's key may edit."""
    path = log_path(app_state(request).settings)

    def read() -> list[Edit]:
        if not path.exists():
            return []
        with open_log(path) as log:
            return log.edits()

    edits = await asyncio.to_thread(read)
    access = access_of(request.scope)
    may_edit = access is None or access.allows(workspace_name(request.scope), "write")
    return JSONResponse({"edits": [edit_json(e) for e in edits], "may_edit": may_edit})


@router.post("/graph/edits", status_code=202, response_model=EditOut,
             responses=error_responses(InvalidRequest, NotFound, NotReady),
             summary="Edit the graph: merge, rename, delete, add a relation",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": EditBody.model_json_schema()}}}})
async def add_edit(request: Request) -> JSONResponse:
    """Record an edit (202, ``pending``) and schedule the graph stage, which applies every
    live edit, in order, to the graph it assembles."""
    state = app_state(request)
    body = await read_json(request, EditBody, 'an edit: {"op": "merge" | "rename" | '
                                              '"delete_entity" | "delete_relation" | '
                                              '"add_relation", ...}')
    change = _change(body)
    view = _view(state)
    names = await asyncio.to_thread(_names, view, change)  # an unknown id: 404 before 422
    check(change)
    by = _label(request)

    def add() -> Edit:
        with open_log(log_path(state.settings)) as log:
            return log.add(change, names, by)

    edit = await asyncio.to_thread(add)
    state.request_build()
    return JSONResponse(edit_json(edit), status_code=202)


@router.delete("/graph/edits/{edit_id}", response_model=EditOut,
               responses=error_responses(NotFound, Conflict), summary="Undo an edit")
async def undo_edit(request: Request, edit_id: Annotated[str, Path(
        pattern=EDIT_ID, description="The edit's id")]) -> JSONResponse:
    """Undo an edit (it stays in the list, with ``undone_at``) and schedule the graph
    stage; 409 when it was undone already."""
    state = app_state(request)
    path = log_path(state.settings)
    by = _label(request)

    def undo() -> Edit:
        if not path.exists():
            raise NotFound(f"no edit with id {edit_id!r}")
        with open_log(path) as log:
            return log.undo(edit_id, by)

    edit = await asyncio.to_thread(undo)
    state.request_build()
    return JSONResponse(edit_json(edit))
