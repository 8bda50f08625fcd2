"""Which methods a path takes, said alike in every answer about it. ``OPTIONS`` on a path of the
server answers 204 with ``Allow`` listing the methods of every operation of that path (and
``OPTIONS``); a method the path does not take gets 405 ``method_not_allowed`` with the same
``Allow``. Starlette would name only the methods of the first route whose path matches, and
``GET /documents`` and ``POST /documents`` are two routes. ``server/errors.py`` answers both,
where the router's 405 becomes a response. A CORS preflight (``OPTIONS`` from an ``Origin``,
with ``Access-Control-Request-Method``) never gets here: ``crosssite.py`` answers it first."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
"""The methods a route may take (``OPTIONS`` is answered here, for every path)."""
STATIC_METHODS = frozenset({"GET", "HEAD"})
"""What a mount (the web app's static files) takes."""


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """The methods the routes take at the path of ``scope`` (sorted, ``OPTIONS`` included);
    empty when no route has that path. Each method is asked of each route (``matches``: a
    full match takes it), so routers that FastAPI nests are asked as they route."""
    probe: Scope = {"type": "http", "path": scope["path"], "method": "GET",
                    "root_path": scope.get("app_root_path", ""), "headers": []}
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Mount):
            if route.matches(probe)[0] is not Match.NONE:
                methods |= STATIC_METHODS
            continue
        methods.update(m for m in METHODS
                       if route.matches({**probe, "method": m})[0] is Match.FULL)
    return sorted(methods | {"OPTIONS"}) if methods else []
