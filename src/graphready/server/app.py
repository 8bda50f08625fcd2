"""The app factory: builds the FastAPI app around the registry of workspaces
(``workspaces.py``) that the lifespan opens, with the default workspace's ``AppState`` started,
and closes, with every workspace. Start-up work lives in the lifespan only, so it runs exactly
once per process. Each per-workspace router is mounted twice: at today's paths (the default
workspace) and under ``/workspaces/{workspace}`` (``workspace_paths.py`` serves those)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path
from starlette.routing import Route

from graphready import __version__
from graphready.config import Settings
from graphready.llm.protocol import ChatModel
from graphready.mcp.endpoint import PATH as MCP_PATH
from graphready.mcp.endpoint import McpEndpoint

from . import errors, openapi_doc
from .admission import GraphShares
from .auth import install_keys
from .body_timeout import BodyTimeout
from .cluster import WorkerRole
from .crosssite import CrossSite
from .curation_api import router as curation_router
from .documents import router as documents_router
from .graph_api import router as graph_router
from .limits import UPLOAD_PATHS, BodyLimit
from .openai import router as openai_router
from .routes import router
from .security_headers import SecurityHeaders
from .state import attach
from .unread_body import DrainUnreadBody
from .webapp import router as webapp_router
from .webapp import static_files
from .workspace_api import router as workspace_router
from .workspace_list import NAME_PATTERN, NAME_RULE
from .workspace_paths import DOCUMENTED_PREFIX, WorkspacePaths, WorkspaceStates
from .workspaces import Workspaces

WORKSPACE_ROUTERS: tuple[APIRouter, ...] = (router, documents_router, graph_router,
                                            curation_router, webapp_router)
"""The routers every workspace has (today's paths are the default workspace's)."""


def _workspace_parameter(workspace: Annotated[str, Path(
        description=f"the workspace's name ({NAME_RULE}); `default` is today's paths",
        pattern=NAME_PATTERN)]) -> None:
    """Declares the ``{workspace}`` parameter of the per-workspace paths in the document."""


def create_app(settings: Settings, build: bool = True,
               chat_model: ChatModel | None = None, role: WorkerRole | None = None) -> FastAPI:
    """The ASGI app for ``settings``. ``build=False`` serves what is persisted without starting
    build workers (``graphready ask`` and some tests); ``chat_model`` replaces the configured
    language model for answers (tests give a scripted one); ``role`` makes it one of the
    processes of ``serve --workers N`` (``cluster.py``)."""
    mcp = McpEndpoint(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workspaces = await Workspaces.open(settings, chat_model, role, build)
        attach(app, workspaces.default, workspaces)
        workspaces.begin_background()
        try:
            async with mcp.running():
                yield
        finally:
            await workspaces.close()

    app = FastAPI(
        title="graphready",
        version=__version__,
        summary="A GraphRAG chat server that answers within seconds of starting.",
        lifespan=lifespan,
    )
    errors.install(app)
    for per_workspace in WORKSPACE_ROUTERS:
        app.include_router(per_workspace)
    app.include_router(openai_router)
    app.include_router(workspace_router)
    for per_workspace in WORKSPACE_ROUTERS:
        app.include_router(per_workspace, prefix=DOCUMENTED_PREFIX,
                           dependencies=[Depends(_workspace_parameter)])
    app.router.routes[:] = [r for r in app.router.routes  # /health is the process's alone
                            if getattr(r, "path", "") != DOCUMENTED_PREFIX + "/health"]
    app.mount("/static", static_files(), name="static")
    # MCP over streamable HTTP (graphready/mcp/endpoint.py): not a REST route of the document
    app.router.routes.append(Route(MCP_PATH, mcp, methods=["POST"], include_in_schema=False))
    # Added innermost first: a request passes WorkspacePaths, DrainUnreadBody,
    # SecurityHeaders, CrossSite, ApiKeys, WorkspaceStates, BodyTimeout, BodyLimit,
    # GraphShares, then the routes.
    app.add_middleware(GraphShares)  # after the key check: a refused request takes no place
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       uploads=(UPLOAD_PATHS, settings.max_upload_bytes))
    app.add_middleware(BodyTimeout, timeout_s=settings.body_timeout_s)
    app.add_middleware(WorkspaceStates)  # after the key check: no key, no workspace loaded
    install_keys(app, settings)  # before any body is read
    # Cross-site checks come before the key check (a CORS preflight carries no key) and before
    # any body is read; their refusals still get the drain below.
    app.add_middleware(CrossSite, settings=settings)
    app.add_middleware(SecurityHeaders)  # on every response, the refusals above included
    app.add_middleware(DrainUnreadBody)  # the connection outlives an unread body
    app.add_middleware(WorkspacePaths)  # outermost: every layer sees today's paths
    openapi_doc.install(app, settings)
    return app
