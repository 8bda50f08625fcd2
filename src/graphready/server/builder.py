"""The builder's build loop: worker 0 of ``graphready serve --workers N`` (``cluster.py``). It
builds exactly as a single server does (a :class:`SingleBuildLoop` inside), and every
``PUBLISH_S`` it publishes its status for the followers, builds what they asked for, adds the
questions they answer with the language model to its own when it tells its graph build worker,
and hides the uploads deleted through any process."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

from graphready.config import Settings
from graphready.llm.gate import ModelGate
from graphready.stores.registry import Stores

from .build_loop import SingleBuildLoop
from .cluster import Sharing, WorkerRole
from .indexes import EmbedderSource, OnIndex
from .library import Library
from .readiness import Readiness
from .shared import SharedFolder, export_readiness

if TYPE_CHECKING:  # not at run time: process_parts imports admission, which imports state
    from .process_parts import BuildTurns

log = logging.getLogger("graphready.server")

PUBLISH_S = 0.25
"""How often the builder publishes its status (when it changed) and takes build requests."""


class BuilderLoop:
    """Worker 0: builds as a single server does, publishes its status for the others and
    builds what they ask for. ``gate`` is the language model's, when answers use one (the
    followers' questions then count too)."""

    def __init__(self, settings: Settings, stores: Stores, readiness: Readiness,
                 library: Library, on_index: OnIndex, role: WorkerRole,
                 gate: ModelGate | None, embedder: EmbedderSource | None = None,
                 turns: BuildTurns | None = None) -> None:
        self.single = SingleBuildLoop(settings, stores, readiness, library, on_index, embedder,
                                      turns)
        """The build itself."""
        self.sharing = Sharing(role, library, stores.catalog, SharedFolder(settings.data_dir))
        self._stores = stores
        self._readiness = readiness
        self._gate = gate
        self._followers_questions = 0
        """The questions the followers are answering with the language model now."""
        self._published: str | None = None

    async def open(self) -> None:
        """As a single server."""
        await self.single.open()

    def start(self, build: bool, initial: bool = True) -> None:
        """Load, build (whatever ``build`` says: the builder builds; at once if ``initial``),
        and publish."""
        self.single.start(build=True, initial=initial)
        self.sharing.every(PUBLISH_S, self._publish, "graphready-publish")

    def request_build(self) -> None:
        """As a single server."""
        self.single.request_build()

    async def rebuild(self) -> bool:
        """As a single server."""
        return await self.single.rebuild()

    def questions_changed(self, count: int) -> None:
        """Tell the graph build worker about this process's questions and the followers'."""
        self.single.questions_changed(count + self._followers_questions)

    async def wait_loaded(self) -> None:
        """As a single server."""
        await self.single.wait_loaded()

    async def wait_persisted(self) -> None:
        """As a single server."""
        await self.single.wait_persisted()

    async def close(self) -> None:
        """Stop publishing, then stop building."""
        await self.sharing.close()
        await self.single.close()

    async def _publish(self) -> None:
        sharing, shared = self.sharing, self.sharing.folder
        if self._gate is not None:
            others = await asyncio.to_thread(shared.other_questions, sharing.role.index)
            if others != self._followers_questions:
                self._followers_questions = others
                self.questions_changed(self._gate.questions)
        text = json.dumps(export_readiness(self._readiness), sort_keys=True)
        if text != self._published:
            await asyncio.to_thread(shared.write_status, text)
            self._published = text
        for kind in sorted(await asyncio.to_thread(shared.take_requests)):
            log.info("a follower asked for a build (%s)", kind)
            if kind == "build":
                await self.rebuild()
            else:
                self.request_build()
        await sharing.hide_deleted(
            await asyncio.to_thread(self._stores.keyword.synced_fingerprint))
