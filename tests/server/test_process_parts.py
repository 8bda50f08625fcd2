"""Build turns shared by a process's workspaces: one build at a time, the smallest waiting
first, and a small workspace's build pausing a much larger one's until it is done."""

from __future__ import annotations

import asyncio

import pytest

from graphready.server.process_parts import PREEMPT_CHUNKS, BuildTurns

pytestmark = pytest.mark.anyio


class Build:
    """A build that records what happens to it (a real ``Pausable``)."""

    def __init__(self, name: str, chunks: int, log: list[str]) -> None:
        self.name, self.chunks, self.log = name, chunks, log
        self.ended = asyncio.Event()

    def pause(self) -> None:
        self.log.append(f"{self.name} paused")

    def resume(self) -> None:
        self.log.append(f"{self.name} resumed")

    async def run(self, turns: BuildTurns) -> None:
        async with turns.turn(lambda: self.chunks, self):
            self.log.append(f"{self.name} runs")
            await self.ended.wait()
            self.log.append(f"{self.name} ends")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_one_build_at_a_time_the_smallest_waiting_first() -> None:
    turns, log = BuildTurns(), []
    first, big, small = (Build("first", 500, log), Build("big", 900, log),
                         Build("small", 400, log))
    tasks = [asyncio.create_task(b.run(turns)) for b in (first, big)]
    await settle()
    tasks.append(asyncio.create_task(small.run(turns)))
    await settle()
    assert log == ["first runs"] and turns.waiting == 2
    for build in (first, small, big):
        build.ended.set()
        await settle()
    await asyncio.gather(*tasks)
    assert log == ["first runs", "first ends", "small runs", "small ends", "big runs",
                   "big ends"]


async def test_a_small_build_pauses_a_much_larger_one() -> None:
    turns, log = BuildTurns(), []
    large = Build("large", 50_000, log)
    small, other = Build("small", 20, log), Build("other", PREEMPT_CHUNKS, log)
    tasks = [asyncio.create_task(large.run(turns))]
    await settle()
    tasks += [asyncio.create_task(small.run(turns)), asyncio.create_task(other.run(turns))]
    await settle()
    assert log == ["large runs", "large paused", "small runs"] and turns.paused == 1
    small.ended.set()
    await settle()
    assert log[-2:] == ["small ends", "other runs"]  # the large one stays paused for it
    other.ended.set()
    await settle()
    assert log[-2:] == ["other ends", "large resumed"] and turns.paused == 0
    large.ended.set()
    await asyncio.gather(*tasks)
    assert log[-1] == "large ends"


async def test_a_build_of_a_similar_size_waits_and_a_cancelled_one_leaves() -> None:
    turns, log = BuildTurns(), []
    running, similar, gone = (Build("running", 3000, log), Build("similar", 1000, log),
                              Build("gone", 10, log))
    first = asyncio.create_task(running.run(turns))
    await settle()
    waiting = asyncio.create_task(similar.run(turns))
    await settle()
    assert log == ["running runs"] and turns.waiting == 1
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert turns.waiting == 0
    preempting = asyncio.create_task(gone.run(turns))
    await settle()
    assert log[-2:] == ["running paused", "gone runs"]
    preempting.cancel()  # stopped while it runs: the paused build goes on
    await asyncio.gather(preempting, return_exceptions=True)
    assert log[-1] == "running resumed"
    running.ended.set()
    await first


async def one_then_another(turns: BuildTurns, first: Build,
                           then: Build) -> list[asyncio.Task[None]]:
    """``first`` asks for the turn, then ``then`` does (each let go as far as it can)."""
    tasks = [asyncio.create_task(first.run(turns))]
    await settle()
    tasks.append(asyncio.create_task(then.run(turns)))
    await settle()
    return tasks


async def test_a_cold_build_does_not_pause_a_small_workspaces_build() -> None:
    """A workspace built cold counts 0 chunks until its documents are read: it waits for a
    small workspace's build to end, not pauses it (which would hold the small workspace's
    next change until the whole cold build had ended)."""
    turns, log = BuildTurns(), []
    small, cold = Build("small", 5, log), Build("cold", 0, log)
    tasks = await one_then_another(turns, small, cold)
    assert log == ["small runs"] and turns.waiting == 1 and turns.paused == 0
    small.ended.set()
    await settle()
    assert log[-2:] == ["small ends", "cold runs"]
    cold.ended.set()
    await asyncio.gather(*tasks)


async def test_a_waiting_small_build_pauses_a_cold_build_once_its_size_is_known() -> None:
    """A small build that came while a cold build still counted 0 chunks waits; once the
    cold build's documents are read and it is large, the small one pauses it."""
    turns, log = BuildTurns(), []
    cold, small = Build("cold", 0, log), Build("small", 5, log)
    tasks = await one_then_another(turns, cold, small)
    assert log == ["cold runs"] and turns.waiting == 1
    cold.chunks = 6000  # its documents read
    for _ in range(200):  # re-checked now and then (polled: no assertion on time)
        if "small runs" in log:
            break
        await asyncio.sleep(0.05)
    assert log == ["cold runs", "cold paused", "small runs"] and turns.waiting == 0
    small.ended.set()
    await settle()
    assert log[-2:] == ["small ends", "cold resumed"]
    cold.ended.set()
    await asyncio.gather(*tasks)
