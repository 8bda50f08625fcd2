"""The build lease: several processes that share one store (replicas on one FalkorDB or Neo4j,
or ``serve`` and ``index`` on one data dir) build what it holds once. The graph and the vector
stores each hold a lease of their own, for the ``graph`` and the ``vectors`` stage. The builder
holds the lease in the store, renews it as it reports progress (the progress travels with it,
so the others can show it), and gives it up at the end; a builder that dies stops renewing,
and its lease lapses after ``TTL_S``, or at once when it was a process of this host that is
gone (a build worker killed with SIGKILL). The others wait until the store holds the index of their
documents, or take the lease over when it lapses."""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from graphready.config import WAITINGS, Stage, Waiting
from graphready.errors import BuildError, StoreError
from graphready.stores.base import GraphStore, VectorStore

from .events import Event, Progress

TTL_S = 120.0
"""How long a lease lasts without renewal (no build step is silent for as long)."""
RENEW_S = 5.0
"""How often the builder renews the lease and publishes its progress."""
POLL_S = 2.0
"""How often a waiting process looks at the store."""
WAITING: Waiting = "graph.other_builder"
"""The progress stage a process waiting for the graph reports (with the builder's numbers);
see :func:`waiting`."""

SharedStore = GraphStore | VectorStore
"""A store whose index is built under its lease."""


def waiting(stage: Stage) -> Waiting:
    """The progress stage a process waiting for another's build of ``stage`` reports:
    ``<stage>.other_builder`` (``config.Waiting``)."""
    for name in WAITINGS:
        if name == f"{stage}.other_builder":
            return name
    raise ValueError(f"no build lease is held for the {stage} stage")


def new_owner() -> str:
    """A name for this process as a lease holder: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Wraps a progress reporter: reports also renew the lease (at most every ``RENEW_S``) and
    publish the progress with it. Losing the lease stops the build of ``stage``."""

    def __init__(self, store: SharedStore, owner: str, report: Callable[[Event], None],
                 ttl_s: float = TTL_S, stage: Stage = "graph") -> None:
        self._store = store
        self._stage = stage
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
            raise BuildError(f"lost the {self._stage} build lease to another process")
        self._renewed = time.monotonic()


def wait_for_builder(store: SharedStore, owner: str, fingerprint: str,
                     report: Callable[[Event], None], ttl_s: float = TTL_S,
                     poll_s: float = POLL_S, *, stage: Stage = "graph",
                     built: Callable[[], bool] | None = None) -> bool:
    """While another process holds the lease: report its progress (as :func:`waiting`
    ``(stage)``), and return True once the store holds the index of ``fingerprint`` (once
    ``built()``, when given), or False once this process took the lease (the builder finished
    something else, failed or died)."""
    def done() -> bool:
        return built() if built is not None else store.synced_fingerprint() == fingerprint

    while True:
        if done():
            return True
        if store.acquire_lease(owner, ttl_s, stage, 0, 0):
            return False
        lease = store.current_lease()
        if lease is not None and holder_died(lease.owner):
            store.release_lease(lease.owner)  # killed (SIGKILL, OOM): take over at once
            continue
        if lease is not None:
            report(Progress(waiting(stage), lease.done, lease.total))
        time.sleep(poll_s)


@contextlib.contextmanager
def leased(store: SharedStore, stage: Stage, fingerprint: str, report: Callable[[Event], None],
           built: Callable[[], bool]) -> Iterator[LeaseKeeper | None]:
    """Build ``stage`` into ``store`` under its lease. Yields a :class:`LeaseKeeper` (report
    through it: that renews the lease) once this process holds the lease, taken at once or
    after :func:`wait_for_builder`, and gives the lease up at the end, however the block ends
    (a store that cannot be reached then is left to let the lease lapse). Yields None, holding
    nothing, when another process built it meanwhile (``built()``)."""
    owner = new_owner()
    if not store.acquire_lease(owner, TTL_S, stage, 0, 0) and wait_for_builder(
            store, owner, fingerprint, report, stage=stage, built=built):
        yield None
        return
    try:
        yield LeaseKeeper(store, owner, report, stage=stage)
    finally:
        with contextlib.suppress(StoreError):
            store.release_lease(owner)


def holder_died(owner: str) -> bool:
    """Whether a lease holder named by :func:`new_owner` was a process of this host that no
    longer runs (a zombie counts as gone). A holder elsewhere is never known to be dead: its
    lease lapses after ``TTL_S``."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        stat = Path(f"/proc/{pid_text}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]
