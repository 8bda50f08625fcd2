"""``benchmarks/queue_scaling.py``'s arithmetic: CPU per chunk, how flat it is over worker
counts, the store's rate when each chunk needs two writes, and the projection for a million
chunks (which of compute and store limits it, and the time)."""

from __future__ import annotations

import pytest

from queue_scaling import Projection, combined_rate, describe, per_chunk_ms, project, spread


def test_cpu_per_chunk_sums_the_workers() -> None:
    assert per_chunk_ms([1.0, 2.0, 1.2], 840) == pytest.approx(5.0)


def test_spread_is_the_largest_difference_from_the_fewest_workers() -> None:
    assert spread({1: 10.0, 2: 10.5, 3: 9.2}) == pytest.approx(0.08)
    assert spread({3: 12.0, 1: 10.0, 2: 10.0}) == pytest.approx(0.2)
    assert spread({1: 7.0}) == 0.0


def test_two_writes_per_chunk_on_one_server_add_their_times() -> None:
    assert combined_rate(100.0, 100.0) == pytest.approx(50.0)
    assert combined_rate(300.0, 600.0) == pytest.approx(200.0)
    assert combined_rate(250.0) == pytest.approx(250.0)


def test_the_projection_is_limited_by_the_slower_of_compute_and_store() -> None:
    # 10 machines x 2 cores / 0.025 CPU-s per chunk = 800 chunks/s, under the store's 1000
    compute = project(1e6, 10, 2, 25.0, 1000.0)
    assert isinstance(compute, Projection) and compute.limit == "compute"
    assert (compute.compute_rate, compute.total_s) == pytest.approx((800.0, 1250.0))
    # 100 machines give 8000 chunks/s: the store's 1000 is the limit
    store = project(1e6, 100, 2, 25.0, 1000.0)
    assert store.limit == "store" and store.total_s == pytest.approx(1000.0)
    line = describe(store, 1e6, 2, 25.0)
    assert "100 x 2 cores / 0.02500 CPU-s" in line and "limit store" in line
    assert "1,000,000 / 1,000 = 1,000 s" in line
