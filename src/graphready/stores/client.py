"""What the stores on a server (FalkorDB, Neo4j) share about errors: whatever their client
library raises becomes one :class:`~graphready.errors.StoreError` shape,
``"<server> at <address>: <action>: <why>"``, and a closed store says so in the same shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from graphready.errors import StoreError


def plain_reason(exc: BaseException) -> str:
    """An exception's text, or its type's name when it has none."""
    return str(exc) or type(exc).__name__


@contextmanager
def client_errors(
    server: str, action: str, *, closed: bool, errors: tuple[type[BaseException], ...],
    reason: Callable[[BaseException], str] = plain_reason,
) -> Iterator[None]:
    """``errors`` raised inside become ``StoreError("<server>: <action>: <reason(exc)>")``;
    ``closed`` (the store was closed) is a ``StoreError`` at once. ``server`` names the server
    as ``"FalkorDB at host:port"``, never with a password."""
    if closed:
        raise StoreError(f"{server}: {action}: the store is closed")
    try:
        yield
    except errors as exc:
        raise StoreError(f"{server}: {action}: {reason(exc)}") from exc
