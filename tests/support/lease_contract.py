"""The build-lease contract (``LeaseStore`` in ``stores/base.py``): test functions that the
contract suites of every store kind holding a lease (graph and vector stores) import, so that
they run against each of their backends with that suite's ``open_store`` fixture (a function
that opens another handle on one fresh store)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from graphready.stores.base import LeaseStore

Opener = Callable[[], LeaseStore]


def test_free_lease_is_taken_and_refused_to_others(open_store: Opener) -> None:
    store, other = open_store(), open_store()
    assert store.current_lease() is None
    before = time.time()
    assert store.acquire_lease("a", 60, "graph.extract", 1, 10)
    lease = other.current_lease()
    assert lease is not None
    assert (lease.owner, lease.stage, lease.done, lease.total) == ("a", "graph.extract", 1, 10)
    assert before + 59 < lease.expires < time.time() + 61
    assert not other.acquire_lease("b", 60, "graph", 0, 0)
    assert not store.acquire_lease("b", 60)
    assert other.current_lease() == lease


def test_holder_renews_and_reports_progress(open_store: Opener) -> None:
    store, other = open_store(), open_store()
    assert store.acquire_lease("a", 60, "graph.extract", 1, 10)
    first = other.current_lease()
    assert store.acquire_lease("a", 120, "graph.communities", 7, 9)
    lease = other.current_lease()
    assert first is not None and lease is not None
    assert (lease.owner, lease.stage, lease.done, lease.total) == (
        "a", "graph.communities", 7, 9)
    assert lease.expires > first.expires + 50


def test_release_frees_only_the_holders_lease(open_store: Opener) -> None:
    store, other = open_store(), open_store()
    assert store.acquire_lease("a", 60, "graph", 2, 3)
    other.release_lease("b")  # not the holder: nothing happens
    lease = other.current_lease()
    assert lease is not None and lease.owner == "a"
    assert not other.acquire_lease("b", 60)
    store.release_lease("a")
    assert other.current_lease() is None
    assert other.acquire_lease("b", 60, "s", 0, 0)


def test_expired_lease_is_free(open_store: Opener) -> None:
    store, other = open_store(), open_store()
    assert store.acquire_lease("a", 0.05, "graph", 0, 0)
    time.sleep(0.1)
    assert other.current_lease() is None
    assert other.acquire_lease("b", 60, "graph", 0, 0)
    lease = store.current_lease()
    assert lease is not None and lease.owner == "b"
    assert not store.acquire_lease("a", 60)
    store.release_lease("a")  # the old holder can no longer release it
    assert store.current_lease() == lease


def test_racing_takers_get_the_lease_once(open_store: Opener) -> None:
    stores = [open_store() for _ in range(8)]
    barrier = threading.Barrier(len(stores))

    def take(n: int) -> bool:
        barrier.wait()
        return stores[n].acquire_lease(f"owner-{n}", 60, "graph", 0, 0)

    with ThreadPoolExecutor(len(stores)) as pool:
        results = list(pool.map(take, range(len(stores))))
    assert results.count(True) == 1
    lease = stores[0].current_lease()
    assert lease is not None and lease.owner == f"owner-{results.index(True)}"
