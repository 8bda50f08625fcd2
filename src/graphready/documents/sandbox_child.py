"""The child side of :mod:`graphready.documents.sandbox`: ``python -m
graphready.documents.sandbox_child --memory-mb N`` reads one file after another from length-prefixed
frames on standard input, each under the CPU budget its request names (``RLIMIT_CPU`` moved
before each file) and the memory budget it was started with (``RLIMIT_AS``), and answers each
with the documents and skips (JSON and the texts as UTF-8). It exits when its input closes, and
after a file that ran out of memory."""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import IO

from graphready.documents.loaders import LoadResult
from graphready.documents.sandbox import EXIT_MEMORY, FRAME_LENGTH, ParseBudget, frame
from graphready.documents.types import SourceFile

_MEMORY_MARKERS = ("MemoryError", "Memory allocation failed")
"""How a loader's skip reason can say that memory ran out (``loaders.load_bytes`` turns every
exception into a reason ``cannot load: TYPE: message``)."""
_MEMORY_MARGIN = 0.05
"""A child whose peak address space came within this share of the budget ran out of it."""


def _readframe(stream: IO[bytes]) -> bytes | None:
    """One frame from ``stream``; None at the end of the stream."""
    head = stream.read(FRAME_LENGTH.size)
    if len(head) < FRAME_LENGTH.size:
        return None
    size: int = FRAME_LENGTH.unpack(head)[0]
    payload = stream.read(size)
    return payload if len(payload) == size else None


def _limit(kind: int, soft: int) -> None:
    """Lower (or set) the soft limit ``kind`` to ``soft``, never above the hard limit."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


def _peak_mib() -> float | None:
    """The most address space this process has held (MiB), where the system says (Linux)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmPeak:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reply(result: LoadResult, budget: ParseBudget) -> tuple[bytes, bytes, bool]:
    """The reply to send (its two frames: see ``sandbox._decode_reply``), and whether the child must
    exit after it: memory ran out (what is left of the heap is not to be trusted, and a fresh
    child starts from a small one).

    Libraries report a failed allocation in their own words (Python's ``MemoryError``, lxml's
    "unknown error"), so memory counts as run out when a reason says so, or when the child's
    peak address space came within :data:`_MEMORY_MARGIN` of the budget (a child exits after
    such a file, so the peak is always this file's)."""
    peak = _peak_mib()
    near = peak is not None and peak >= budget.memory_mb * (1 - _MEMORY_MARGIN)
    skipped: list[list[str]] = []
    for skip in result.skipped:
        if near or any(marker in skip.reason for marker in _MEMORY_MARKERS):
            near = True
            skipped.append([skip.path, budget.memory_reason()])
        else:
            skipped.append([skip.path, skip.reason])
    texts = [d.text.encode("utf-8", "surrogatepass") for d in result.documents]
    documents = [[d.id, d.title, d.source, d.content_hash, len(text), d.pages]
                 for d, text in zip(result.documents, texts, strict=True)]
    meta = {"documents": documents, "skipped": skipped, "exits": near}
    return json.dumps(meta).encode(), b"".join(texts), near


def _serve(stdin: IO[bytes], stdout: IO[bytes], budget: ParseBudget) -> int:
    from graphready.documents.loaders import load_bytes, load_source

    while True:
        header = _readframe(stdin)
        if header is None:
            return 0
        request = json.loads(header)
        data = _readframe(stdin) if request["op"] == "bytes" else b""
        if data is None:
            return 0
        _limit(resource.RLIMIT_CPU, math.ceil(time.process_time() + float(request["cpu_s"])))
        if request["op"] == "bytes":
            result = load_bytes(request["name"], data)
        else:
            result = load_source(Path(request["root"]),
                                 SourceFile(request["path"], request["hash"]))
        del data
        meta, texts, exhausted = _reply(result, budget)
        del result
        stdout.write(frame(meta))
        stdout.write(frame(texts))
        stdout.flush()
        if exhausted:
            return 0


def main(argv: list[str] | None = None) -> int:
    """The child: serve requests from standard input until it closes."""
    parser = argparse.ArgumentParser(prog="python -m graphready.documents.sandbox_child")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--niceness", type=int, default=0)
    args = parser.parse_args(argv)
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt a reply
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal: the parent decides
    if args.niceness:
        os.nice(args.niceness)
    _limit(resource.RLIMIT_CORE, 0)  # SIGXCPU would dump core
    _limit(resource.RLIMIT_AS, args.memory_mb * 2**20)
    budget = ParseBudget(0, args.memory_mb)
    try:
        return _serve(stdin, stdout, budget)
    except MemoryError:
        return EXIT_MEMORY
    except BrokenPipeError:  # the parent went away
        return 0


if __name__ == "__main__":
    sys.exit(main())
