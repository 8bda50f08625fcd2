"""A build worker: ``python -m graphready.build.worker STAGE`` runs one stage in its own process,
so CPU-heavy work never takes the interpreter lock from request handling. Settings come from the
``GRAPHREADY_*`` environment; events go to standard output, one JSON object a line; logs go to
standard error. It runs at a lower CPU priority than the server, and exits when its parent dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import traceback
from types import FrameType

from graphready.config import STAGES as STAGE_NAMES
from graphready.config import load_settings
from graphready.errors import GraphReadyError

from .events import Event, StageFailed, encode

log = logging.getLogger("graphready.build")


class Stopped(SystemExit):
    """Raised in the worker when it is told to stop (SIGTERM) or its parent died."""


class Reporter:
    """Writes events to standard output; notices when the parent process has gone away."""

    def __init__(self, parent_pid: int) -> None:
        self._parent_pid = parent_pid

    def __call__(self, event: Event) -> None:
        if os.getppid() != self._parent_pid:
            raise Stopped(3)
        sys.stdout.write(encode(event) + "\n")
        sys.stdout.flush()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Stopped(128 + signum)


def main(argv: list[str]) -> int:
    """Run the stage named in ``argv[1]``; 0 when it completed, 1 when it failed."""
    if len(argv) != 2 or argv[1] not in STAGE_NAMES:
        sys.stderr.write(f"usage: python -m graphready.build.worker {{{','.join(STAGE_NAMES)}}}\n")
        return 2
    stage = argv[1]
    signal.signal(signal.SIGTERM, _on_sigterm)
    with contextlib.suppress(OSError):
        os.nice(10)
    report = Reporter(os.getppid())
    try:
        settings = load_settings(os.environ)
        logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                            format=f"%(asctime)s worker[{stage}] %(levelname)s %(message)s")
        from graphready.stores.registry import open_stores

        from .stages import STAGES

        stores = open_stores(settings)
        try:
            report(STAGES[stage](settings, stores, report))
        finally:
            stores.close()
        return 0
    except Stopped:
        log.info("stopped; nothing unfinished was marked complete")
        raise
    except GraphReadyError as exc:
        log.error("%s stage failed: %s", stage, exc)
        report(StageFailed(stage, str(exc)))
        return 1
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        report(StageFailed(stage, f"{type(exc).__name__}: {exc}"))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
