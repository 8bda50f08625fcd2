"""One server process of ``graphready serve --workers N`` (started by ``workers.py``, never by
hand): ``python -m graphready.server.child --fd FD --index I --count N``, with the settings in
``GRAPHREADY_*`` variables. It serves the whole app on the inherited listening socket ``FD``
and stops when told (SIGINT, SIGTERM) or when its parent dies (its standard input closes)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence

from graphready.config import load_settings
from graphready.errors import GraphReadyError
from graphready.redact import redact_logs

from .app import create_app
from .cluster import WorkerRole
from .run import serve


def _stop_when_parent_dies() -> None:
    """Read standard input (a pipe the parent never writes) to its end, then SIGTERM self."""
    def watch() -> None:
        try:  # os.read, not sys.stdin: a buffered reader's lock would block the exit
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve as worker ``--index`` of ``--count`` on socket ``--fd``."""
    parser = argparse.ArgumentParser(prog="graphready.server.child", description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args(argv)
    role = WorkerRole(args.index, args.count)
    try:
        settings = load_settings(os.environ)
    except GraphReadyError as exc:
        print(f"graphready worker {role.index}: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s [worker {role.index}] %(name)s %(levelname)s "
                        "%(message)s")
    redact_logs(settings)
    sock = socket.socket(fileno=args.fd)
    _stop_when_parent_dies()
    try:  # a keys file that cannot be used now (the parent checked it at start-up)
        app = create_app(settings, build=role.builds, role=role)
    except GraphReadyError as exc:
        logging.getLogger("graphready.server").error("worker %d cannot start: %s", role.index,
                                                      exc)
        return 2
    asyncio.run(serve(settings, sock=sock, app=app))
    return 0


if __name__ == "__main__":
    sys.exit(main())
