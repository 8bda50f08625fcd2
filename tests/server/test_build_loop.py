"""The three build loops (a single server's, the builder's, a follower's) behind one protocol:
each is a ``BuildLoop``, and each hands its owner the indexes it loads through its one callback,
on real stores holding an index built by the real build workers."""

from __future__ import annotations

import pytest

from graphready.config import Settings
from graphready.llm.registry import model_gate
from graphready.server.build_loop import BuildLoop, SingleBuildLoop
from graphready.server.builder import BuilderLoop
from graphready.server.cluster import WorkerRole
from graphready.server.follower import FollowerLoop
from graphready.server.indexes import Indexes
from graphready.server.library import Library
from graphready.server.lifecycle import AppState, build_loop_for
from graphready.server.readiness import Readiness
from graphready.stores.registry import open_stores

pytestmark = pytest.mark.anyio

ROLES = {"single": (None, SingleBuildLoop), "builder": (WorkerRole(0, 2), BuilderLoop),
         "follower": (WorkerRole(1, 2), FollowerLoop)}


@pytest.mark.parametrize("name", list(ROLES))
async def test_each_loop_hands_its_owner_the_indexes_it_loads(built: Settings,
                                                              name: str) -> None:
    role, kind = ROLES[name]
    stores = open_stores(built)
    readiness, received = Readiness(), list[Indexes]()
    loop = build_loop_for(role, built, stores, readiness, Library(built, stores),
                          received.append, model_gate(built), answers_with_model=False)
    try:
        assert isinstance(loop, kind) and isinstance(loop, BuildLoop)
        await loop.open()  # phase 1: the keyword index the build left answers at once
        assert len(received) == 1 and received[0].tools.keyword is not None
        assert received[0].tools.vectors is None and received[0].graph_view is None
        assert readiness.counts["documents"] == 81
        loop.start(build=False)  # the builder builds regardless: every stage finds its index
        await loop.wait_loaded()
        last = received[-1]
        assert last.tools.keyword is not None and last.tools.vectors is not None
        assert last.tools.graph is not None and last.tools.communities is not None
        assert last.graph_view is not None and readiness.counts["entities"] > 0
        assert set(readiness.loads) == {"vectors", "graph"}
        if name == "builder":
            assert {s.state for s in readiness.stages.values()} == {"done"}
    finally:
        await loop.close()
        stores.close()


async def test_the_app_state_answers_with_what_its_loop_handed_over(built: Settings) -> None:
    state = await AppState.start(built, role=WorkerRole(1, 2))
    try:
        assert isinstance(state.build, FollowerLoop)
        assert state.tools.keyword is not None and state.graph_view is None
        state.begin_background(build=False)
        await state.wait_loaded()
        assert state.tools.vectors is not None and state.graph_view is not None
        assert state.role.status()["role"] == "follower"
    finally:
        await state.close()
