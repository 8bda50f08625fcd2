"""The ``index`` and ``ask`` commands (``serve`` lives in ``server/run.py``)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from tqdm import tqdm

from graphready.config import Settings
from graphready.errors import NotReady
from graphready.indexing.events import Event, Progress, StageDone, StageFailed
from graphready.indexing.supervisor import BuildSupervisor

WORK_COUNTS = ("chunks_added", "vectors_added", "chunks_extracted")


class _Bars:
    """One progress bar per stage, on standard error."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}
        self.failed: list[str] = []

    async def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            bar = self.bars.get(event.stage)
            if bar is None:
                bar = self.bars[event.stage] = tqdm(total=event.total, desc=event.stage,
                                                    unit="item", file=sys.stderr)
            bar.total = event.total
            bar.n = event.done
            bar.refresh()
        elif isinstance(event, StageDone):
            for name, bar in self.bars.items():
                if name.split(".")[0] == event.stage:
                    bar.close()
            counts = ", ".join(f"{k}={v}" for k, v in event.counts.items())
            work = max((event.counts.get(k, 0) for k in WORK_COUNTS), default=0)
            rate = f" ({work / event.seconds:.0f} chunks/s)" if work and event.seconds else ""
            print(f"{event.stage}: {event.source} in {event.seconds:.1f}s{rate} {counts}",
                  file=sys.stderr)
        elif isinstance(event, StageFailed):
            self.failed.append(f"{event.stage}: {event.error}")
            print(f"{event.stage} FAILED: {event.error}", file=sys.stderr)


def run_index(settings: Settings) -> int:
    """Build every index, then exit: 0 when all stages completed."""
    bars = _Bars()

    async def build() -> bool:
        supervisor = BuildSupervisor(settings, bars)
        try:
            return await supervisor.run()
        finally:
            await supervisor.stop()

    ok = asyncio.run(build())
    return 0 if ok else 1


def run_ask(settings: Settings, question: str, mode: str, top_k: int | None) -> int:
    """Print one answer with its sources."""
    from graphready.agent.agent import OfflineAgent
    from graphready.retrieval.loading import load_toolset
    from graphready.retrieval.modes import MODES
    from graphready.stores.registry import open_stores

    if not question.strip():
        print("graphready: the question is empty", file=sys.stderr)
        return 2
    stores = open_stores(settings)
    try:
        tools = load_toolset(settings, stores)
        if not tools.can_answer:
            raise NotReady(f"nothing is indexed in {settings.data_dir}; "
                           "run `graphready index DOCS_DIR --data-dir DIR` first")
        chosen = next(m for m in MODES if m == mode)
        result = OfflineAgent(stores.catalog).chat(
            tools, question, chosen, top_k or settings.default_top_k)
    finally:
        stores.close()
    print(result.answer)
    print()
    print(f"({result.note} Mode: {result.mode}; tools: {', '.join(result.tools_used)})")
    for c in result.citations:
        print(f"[{c.number}] {c.title} ({c.id}) score={c.score:.4f}")
        print(f"    {c.snippet}")
    return 0
