"""The workspace resource: ``POST /workspaces`` (an admin key on every workspace), ``GET
/workspaces`` (those the key is a member of, with their counts and readiness), ``GET
/workspaces/{name}`` and ``DELETE /workspaces/{name}`` (an admin key of it). A workspace the
key is not a member of is answered exactly as one that does not exist (404
``unknown_workspace``), so that keys cannot probe for names. The registry is
``workspaces.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from graphready.errors import (
    Forbidden,
    InvalidRequest,
    InvalidWorkspace,
    WorkspaceExists,
    WorkspaceNotFound,
    WorkspaceReserved,
)
from graphready.settings_spec import env_name

from .auth import require
from .bodies import read_json
from .errors import error_responses
from .keys import ALL, access_of
from .state import registry_of
from .workspace_list import MAX_NAME, NAME_PATTERN, NAME_RULE
from .workspaces import Workspaces

router = APIRouter(tags=["workspaces"])
NamePath = Annotated[str, Path(description=f"the workspace's name ({NAME_RULE})",
                               max_length=200)]


class NewWorkspace(BaseModel):
    """``POST /workspaces``: the name, and a folder of the server's to watch (optional)."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr = Field(description=f"the workspace's name ({NAME_RULE}; else 400 "
                            "invalid_workspace)", min_length=1, max_length=MAX_NAME,
                            json_schema_extra={"pattern": NAME_PATTERN})
    folder: StrictStr | None = Field(
        None, pattern=r"^/", max_length=4096,
        description=f"an absolute path to a folder of the server's, under "
        f"{env_name('workspace_folders')}, whose documents the workspace holds")


class WorkspaceOut(BaseModel):
    """A workspace, its counts, and whether it can answer."""

    name: str
    folder: str | None = Field(description="the folder of the server's it holds, if any")
    documents: int = Field(description="documents it holds (folder and uploads)")
    chunks: int = Field(description="passages they were cut into")
    loaded: bool = Field(description="its indexes are in memory now")
    ready: bool = Field(description="it can answer now (or at once when loaded)")


class WorkspacesOut(BaseModel):
    """``GET /workspaces``."""

    workspaces: list[WorkspaceOut]


class DeletedWorkspace(BaseModel):
    """``DELETE /workspaces/{name}``."""

    deleted: str


def _registry(request: Request) -> Workspaces:
    found = registry_of(request.scope)
    assert found is not None, "the app's lifespan has not started"
    return found


@router.post("/workspaces", status_code=201, response_model=WorkspaceOut,
             responses=error_responses(InvalidWorkspace, WorkspaceExists, WorkspaceReserved,
                                       InvalidRequest, Forbidden),
             summary="Create a workspace (an admin key on every workspace)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": NewWorkspace.model_json_schema()}}}})
async def create_workspace(request: Request) -> dict[str, Any]:
    """A new, empty workspace (watching ``folder``, if given), started."""
    require(request.scope, ALL, "admin")
    body = await read_json(request, NewWorkspace, "a JSON object with 'name'")
    return await _registry(request).create(body.name, body.folder)


@router.get("/workspaces", response_model=WorkspacesOut,
            summary="The workspaces this key may use, with their counts and readiness")
async def list_workspaces(request: Request) -> dict[str, Any]:
    """Every workspace the key is a member of, the default one first."""
    registry = _registry(request)
    await registry.refresh()
    access = access_of(request.scope)
    names = [n for n in registry.names() if access is None or access.sees(n)]
    return {"workspaces": [await registry.describe(n) for n in names]}


@router.get("/workspaces/{name}", response_model=WorkspaceOut,
            responses=error_responses(WorkspaceNotFound), summary="One workspace")
async def get_workspace(request: Request, name: NamePath) -> dict[str, Any]:
    """Its counts and readiness."""
    require(request.scope, name, "read")
    registry = _registry(request)
    if not await registry.exists(name):
        raise WorkspaceNotFound(name)
    return await registry.describe(name)


@router.delete("/workspaces/{name}", response_model=DeletedWorkspace,
               responses=error_responses(WorkspaceNotFound, WorkspaceReserved, Forbidden),
               summary="Delete a workspace: its documents, indexes and graph, in every store")
async def delete_workspace(request: Request, name: NamePath) -> dict[str, str]:
    """Stops its build, removes what it holds from every store, and its entry (an admin key
    of the workspace)."""
    require(request.scope, name, "admin")
    await _registry(request).delete(name)
    return {"deleted": name}
