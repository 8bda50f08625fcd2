"""The build lease: several processes that share one graph store (replicas on one FalkorDB or
Neo4j, or ``serve`` and ``index`` on one data dir) build the graph once. The builder holds a
lease in the store, renews it as it reports progress (the progress travels with it, so the
others can show it), and gives it up at the end; a builder that dies stops renewing, and its
lease lapses after ``TTL_S``. The others wait until the store holds the graph of their
documents, or take the lease over when it lapses."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable

from graphready.errors import BuildError
from graphready.stores.base import GraphStore

from .events import Event, Progress

TTL_S = 120.0
"""How long a lease lasts without renewal (no build step is silent for as long)."""
RENEW_S = 5.0
"""How often the builder renews the lease and publishes its progress."""
POLL_S = 2.0
"""How often a waiting process looks at the store."""
WAITING = "graph.other_builder"
"""The progress stage a waiting process reports (with the builder's numbers)."""


def new_owner() -> str:
    """A name for this process as a lease holder: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Wraps a progress reporter: reports also renew the lease (at most every ``RENEW_S``) and
    publish the progress with it. Losing the lease stops the build."""

    def __init__(self, store: GraphStore, owner: str, report: Callable[[Event], None],
                 ttl_s: float = TTL_S) -> None:
        self._store = store
        self._owner = owner
        self._report = report
        self._ttl = ttl_s
        self._renewed = time.monotonic()

    def __call__(self, event: Event) -> None:
        self._report(event)
        if not isinstance(event, Progress) or time.monotonic() - self._renewed < min(
                RENEW_S, self._ttl / 4):
            return
        if not self._store.acquire_lease(self._owner, self._ttl, event.stage, event.done,
                                         event.total):
            raise BuildError("lost the graph build lease to another process")
        self._renewed = time.monotonic()


def wait_for_builder(store: GraphStore, owner: str, fingerprint: str,
                     report: Callable[[Event], None], ttl_s: float = TTL_S,
                     poll_s: float = POLL_S) -> bool:
    """While another process holds the lease: report its progress, and return True once the
    store holds the graph of ``fingerprint``, or False once this process took the lease (the
    builder finished something else, failed or died)."""
    while True:
        if store.synced_fingerprint() == fingerprint:
            return True
        if store.acquire_lease(owner, ttl_s, "graph", 0, 0):
            return False
        lease = store.current_lease()
        if lease is not None:
            report(Progress(WAITING, lease.done, lease.total))
        time.sleep(poll_s)
