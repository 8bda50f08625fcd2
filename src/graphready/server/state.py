"""How the server's one :class:`AppState` is reached: the lifespan attaches it to the app
(:func:`attach`), a route takes it from its request (:func:`app_state`, also usable as a FastAPI
dependency), and a pure ASGI middleware from its scope (:func:`state_of`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from starlette.types import Scope

if TYPE_CHECKING:  # not at run time: lifecycle imports admission, which imports this
    from .lifecycle import AppState

ATTRIBUTE = "graphready"
"""The attribute of ``app.state`` that holds it (tests read ``app.state.graphready``)."""


def attach(app: FastAPI, state: AppState) -> None:
    """Make ``state`` the state of ``app`` (the lifespan does, once)."""
    setattr(app.state, ATTRIBUTE, state)


def state_of(scope: Scope) -> AppState | None:
    """The state of the app serving ``scope``; None before the lifespan attached it."""
    found: AppState | None = getattr(getattr(scope.get("app"), "state", None), ATTRIBUTE, None)
    return found


def app_state(request: Request) -> AppState:
    """The state of the app serving ``request``."""
    found: AppState = getattr(request.app.state, ATTRIBUTE)
    return found
