"""SpareCoreRunner: results in order, helpers at the lowest priority, never waited for."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from graphready.embeddings.spare_cores import SpareCoreRunner


def test_results_in_order_without_helpers() -> None:
    runner = SpareCoreRunner(helpers=0)
    seen: set[str] = set()

    def square(x: int) -> int:
        seen.add(threading.current_thread().name)
        return x * x

    assert runner.map(square, list(range(20))) == [x * x for x in range(20)]
    assert seen == {threading.current_thread().name}
    assert runner.map(square, []) == []


def test_helper_shares_the_jobs_at_the_lowest_priority() -> None:
    runner = SpareCoreRunner(helpers=1)
    policies: dict[str, int] = {}
    lock = threading.Lock()

    def slow_double(x: int) -> int:
        time.sleep(0.02)  # leaves the CPU free, so the helper gets to run
        with lock:
            policies[threading.current_thread().name] = os.sched_getscheduler(0)
        return 2 * x

    assert runner.map(slow_double, list(range(40))) == [2 * x for x in range(40)]
    assert "embed-spare-core" in policies
    if sys.platform == "linux":
        assert policies["embed-spare-core"] == os.SCHED_IDLE
        assert policies[threading.current_thread().name] != os.SCHED_IDLE


def test_a_stuck_helper_is_not_waited_for_and_not_multiplied() -> None:
    runner = SpareCoreRunner(helpers=1)
    release = threading.Event()
    started = threading.Event()

    def stuck_on_helper(x: int) -> int:
        if threading.current_thread().name == "embed-spare-core":
            started.set()
            release.wait(10)
        else:
            started.wait(5)  # let the helper claim a job before the caller takes the rest
        return x + 1

    t0 = time.monotonic()
    assert runner.map(stuck_on_helper, list(range(10))) == list(range(1, 11))
    assert time.monotonic() - t0 < 5  # the caller redid the helper's job
    assert started.is_set()
    # The stuck helper still holds the only helper slot: the next call runs on the caller.
    helpers_now = [t for t in threading.enumerate() if t.name == "embed-spare-core"]
    assert len(helpers_now) == 1
    assert runner.map(lambda x: x * 3, list(range(5))) == [0, 3, 6, 9, 12]
    assert len([t for t in threading.enumerate() if t.name == "embed-spare-core"]) == 1
    release.set()
    helpers_now[0].join(5)
    assert not helpers_now[0].is_alive()


def test_an_error_reaches_the_caller() -> None:
    runner = SpareCoreRunner(helpers=1)

    def fail_on_three(x: int) -> int:
        if x == 3:
            raise ValueError("three")
        return x

    with pytest.raises(ValueError, match="three"):
        runner.map(fail_on_three, [3])
    with pytest.raises(ValueError):
        SpareCoreRunner(helpers=-1)
