"""The web app: one HTML page at ``/`` and its static files (CSS, JavaScript modules and the
vendored Cytoscape.js) under ``/static``, served from the package, so nothing comes from the
network and nothing needs node at run time. The same page is each workspace's at
``/workspaces/{name}/`` (``workspace_paths.py`` hands that request to ``/`` with the workspace
in the scope): the page reads its workspace from its address and sends its requests under it
(``static/js/workspace.js``), and says so when the workspace is unknown, so the page itself is
the same for every name and tells a client without a key nothing.

The page's Content-Security-Policy allows scripts, styles and requests from this server only,
and no inline script: documents are untrusted input, and even text that slipped into the page
as HTML could not run. (Inline styles are allowed: Cytoscape.js sets them on the elements it
draws into, and a style runs no code.) The policy and the other security headers are put on
the page, its static files and every other response by ``security_headers.py``, in one
place."""

from __future__ import annotations

from html import escape
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from graphready.retrieval.modes import MODES

router = APIRouter()

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'")


MODES_MARKER = "<!-- MODES: webapp.py lists retrieval/modes.py's modes here -->"


def mode_options() -> str:
    """The chat's mode menu: an option for each retrieval mode, declared in one place."""
    return "".join(f'<option value="{escape(mode)}">{escape(mode.replace("_", " "))}</option>'
                   for mode in MODES)


def static_files() -> StaticFiles:
    """The app's static files, from the installed package."""
    return StaticFiles(packages=[("graphready.server", "static")])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    """The web app: chat, documents, graph, communities, status and workspaces."""
    page = resources.files("graphready.server").joinpath("static/index.html").read_text("utf-8")
    return HTMLResponse(page.replace(MODES_MARKER, mode_options()))
