"""The app factory: builds the FastAPI app around one ``AppState`` that the lifespan creates and
closes. Start-up work lives in the lifespan only, so it runs exactly once per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from graphready import __version__
from graphready.config import Settings
from graphready.llm.protocol import ChatModel

from . import errors, openapi_doc
from .admission import GraphShares
from .auth import install_keys
from .body_timeout import BodyTimeout
from .cluster import WorkerRole
from .crosssite import CrossSite
from .documents import router as documents_router
from .graph_api import router as graph_router
from .lifecycle import AppState
from .limits import UPLOAD_PATH, BodyLimit
from .openai import router as openai_router
from .routes import router
from .security_headers import SecurityHeaders
from .state import attach
from .unread_body import DrainUnreadBody
from .webapp import router as webapp_router
from .webapp import static_files


def create_app(settings: Settings, build: bool = True,
               chat_model: ChatModel | None = None, role: WorkerRole | None = None) -> FastAPI:
    """The ASGI app for ``settings``. ``build=False`` serves what is persisted without starting
    build workers (``graphready ask`` and some tests); ``chat_model`` replaces the configured
    language model for answers (tests give a scripted one); ``role`` makes it one of the
    processes of ``serve --workers N`` (``cluster.py``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await AppState.start(settings, chat_model, role)
        attach(app, state)
        state.begin_background(build=build)
        try:
            yield
        finally:
            await state.close()

    app = FastAPI(
        title="graphready",
        version=__version__,
        summary="A GraphRAG chat server that answers within seconds of starting.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(router)
    app.include_router(openai_router)
    app.include_router(documents_router)
    app.include_router(graph_router)
    app.include_router(webapp_router)
    app.mount("/static", static_files(), name="static")
    # Added innermost first: a request passes DrainUnreadBody, SecurityHeaders, CrossSite,
    # ApiKeys, BodyTimeout, BodyLimit, GraphShares, then the routes.
    app.add_middleware(GraphShares)  # after the key check: a refused request takes no place
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       uploads=(UPLOAD_PATH, settings.max_upload_bytes))
    app.add_middleware(BodyTimeout, timeout_s=settings.body_timeout_s)
    install_keys(app, settings)  # before any body is read
    # Cross-site checks come before the key check (a CORS preflight carries no key) and before
    # any body is read; their refusals still get the drain below.
    app.add_middleware(CrossSite, settings=settings)
    app.add_middleware(SecurityHeaders)  # on every response, the refusals above included
    app.add_middleware(DrainUnreadBody)  # outermost: the connection outlives an unread body
    openapi_doc.install(app, settings)
    return app
