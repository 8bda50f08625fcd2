"""A build worker: ``python -m graphready.indexing.worker STAGE`` runs one stage in its own process,
so CPU-heavy work never takes the interpreter lock from request handling. Settings come from the
``GRAPHREADY_*`` environment; events go to standard output, one JSON object a line; logs go to
standard error. It runs at a lower CPU priority than the server (the vectors worker lower still),
and exits when its parent dies.
With ``--held`` it loads its stage's model, then waits for a ``go`` line on standard input
before it starts the stage (``indexing/prepare.py``). After that its standard input carries
``questions N`` lines from the server (``indexing/control.py``): the
graph stage's LLM calls wait while the server answers questions. On SIGTERM it cancels the LLM
calls in flight and stops within seconds; what it committed stays, the rest is redone next time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from types import FrameType, MappingProxyType
from typing import TYPE_CHECKING

from graphready.config import STAGES, Settings, Stage, load_settings
from graphready.errors import GraphReadyError, LLMError, StorageFull, StoreError
from graphready.redact import configured_urls, redact, redact_logs

from .events import Cause, Event, StageFailed, encode

if TYPE_CHECKING:
    from .control import BuildControl

log = logging.getLogger("graphready.indexing")

NICENESS: Mapping[Stage, int] = MappingProxyType({"documents": 5, "graph": 10, "vectors": 15})
"""How far below the server each stage's worker runs. The documents stage comes first (the
vectors and graph workers load their models beside it, held: ``indexing/prepare.py``, and every
other stage waits for it). The vectors worker is lowest, so where
the two build workers and the server want more CPU than there is, the graph build (the one
whose readiness is awaited first) gets the larger share; the vectors worker's helper threads
run only on idle cores anyway (``embeddings/spare_cores.py``)."""


class Stopped(SystemExit):
    """Raised in the worker when it is told to stop (SIGTERM) or its parent died."""


class Reporter:
    """Writes events to standard output (from any thread, a whole line at a time); notices
    when the parent process has gone away."""

    def __init__(self, parent_pid: int) -> None:
        self._parent_pid = parent_pid
        self._lock = threading.Lock()
        self.before: Callable[[Event], None] | None = None
        """Called with each event first (``GRAPHREADY_KILL_AT``'s ``indexing/faults.py``)."""

    def __call__(self, event: Event) -> None:
        if self.before is not None:
            self.before(event)
        if os.getppid() != self._parent_pid:
            raise Stopped(3)
        with self._lock:
            sys.stdout.write(encode(event) + "\n")
            sys.stdout.flush()


def _on_sigterm(cancel: Callable[[], None]) -> Callable[[int, FrameType | None], None]:
    """The SIGTERM handler: cancel the LLM calls in flight (in another thread: the handler may
    interrupt a thread holding the gate's lock), then stop the stage."""
    def handler(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=cancel, name="stop-llm-calls", daemon=True).start()
        raise Stopped(128 + signum)
    return handler


def _cause(exc: BaseException) -> Cause:
    """What a stage's error came from, by the exceptions it was raised from (a ``BuildError``
    raised from an ``LLMError`` is the language model's)."""
    seen: BaseException | None = exc
    for _ in range(16):  # the chain of ``raise ... from``, never a cycle
        if seen is None:
            break
        if isinstance(seen, LLMError):
            return "llm"
        if isinstance(seen, StorageFull):
            return "disk"
        if isinstance(seen, StoreError):
            return "store"
        seen = seen.__cause__
    return "other"


def _graph_control(settings: Settings, report: Reporter) -> BuildControl:
    """The graph stage's model gate, connected to the server through standard input."""
    from graphready.llm.registry import model_gate

    from .control import BuildControl

    control = BuildControl(model_gate(settings), report)
    control.start(sys.stdin.buffer if sys.stdin is not None else None)
    return control


def main(argv: list[str]) -> int:
    """Run the stage named in ``argv[1]``; 0 when it completed (or, ``--held``, was never
    released), 1 when it failed."""
    held = argv[2:] == ["--held"]
    stage = next((s for s in STAGES if argv[1:2] == [s]), None)
    if len(argv) not in (2, 3) or stage is None or (len(argv) == 3 and not held):
        sys.stderr.write(f"usage: python -m graphready.indexing.worker "
                         f"{{{','.join(STAGES)}}} [--held]\n")
        return 2
    control: BuildControl | None = None
    signal.signal(signal.SIGTERM, _on_sigterm(lambda: control.stop() if control else None))
    with contextlib.suppress(OSError):
        os.nice(NICENESS[stage])
    report = Reporter(os.getppid())
    urls: tuple[str, ...] = ()
    try:
        settings = load_settings(os.environ)
        urls = configured_urls(settings)
        logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                            format=f"%(asctime)s worker[{stage}] %(levelname)s %(message)s")
        redact_logs(settings)
        if settings.kill_at is not None:  # tests and benchmarks/faults.py
            from .faults import KillSwitch

            report.before = KillSwitch(settings)
        from graphready.stores.registry import open_stores

        from .prepare import Prepared, prepare, wait_for_go
        from .stages import RUNNERS, run_graph, run_vectors

        prepared = Prepared()
        if held:  # load the model while the documents stage runs (indexing/prepare.py);
            # with a queue, workers elsewhere extract: this graph stage needs no spaCy
            if stage != "graph" or settings.queue_url is None:
                prepared = prepare(stage, settings)
            if not wait_for_go(sys.stdin.buffer if sys.stdin is not None else None):
                log.info("not released: the documents stage did not complete")
                return 0
        stores = open_stores(settings)
        try:
            if stage == "graph" and settings.llm_builds_graph:
                control = _graph_control(settings, report)
                report(run_graph(settings, stores, control.report, control.gate,
                                 offline=prepared.take_offline()))
            elif stage == "graph":
                report(run_graph(settings, stores, report, offline=prepared.take_offline()))
            elif stage == "vectors":
                report(run_vectors(settings, stores, report, embedder=prepared.take_embedder()))
            else:
                report(RUNNERS[stage](settings, stores, report))
        finally:
            if control is not None:
                control.close()
            stores.close()
        return 0
    except Stopped:
        log.info("stopped; nothing unfinished was marked complete")
        raise
    except GraphReadyError as exc:
        reason = redact(str(exc), urls)
        log.error("%s stage failed: %s", stage, reason)
        report(StageFailed(stage, reason, _cause(exc)))
        return 1
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        report(StageFailed(stage, redact(f"{type(exc).__name__}: {exc}", urls), _cause(exc)))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
