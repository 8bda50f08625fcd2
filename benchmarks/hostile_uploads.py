"""Hostile uploads against a real ``graphready serve``: ``/health`` p50/p99 idle, then while a
client uploads each hostile file in a loop (a Markdown heading line of megabytes of spaces, a
PDF of one huge hyphenated word, a DOCX of almost 2,000,000 elements and one of 3,000,000, over
the bound of ``documents/docx.py``, a ``.jsonl`` line with a megabyte title and a long text)
and, as the control, ordinary prose as large, with the ratio of each p99 to idle (the target:
within 3x); then a build of a folder holding the hostile files beside good ones: that it
completes, with the hostile files skipped and named, and why. ``--small-files N`` first times
the documents stage on a folder of N small ``.txt`` files (the cost of reading each file in the
parser child). Prints its numbers; uses the default parse budgets unless ``--cpu-s`` or
``--memory-mb`` are given.

    .venv/bin/python benchmarks/hostile_uploads.py [--seconds 15]
                                                   [--small-files 10000] [--no-build]
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.queues
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from common import ROOT, percentile
from graphready.config import STAGES

sys.path.insert(0, str(ROOT / "tests"))

from support.corpus import write_corpus
from support.hostile_files import docx_elements, heading_markdown, long_title_jsonl, long_word_pdf
from support.server import ServerProcess

KEY = "benchmark-key-0123456789abcdef"
BUILD_TIMEOUT_S = 1800.0


def hostile_files() -> dict[str, bytes]:
    """The hostile files, by name."""
    return {
        "heading.md": heading_markdown(4_000_000),
        "word.pdf": long_word_pdf(400_000),
        "elements.docx": docx_elements(1_900_000),  # under the DOCX bound: read in ~20 s
        "bomb.docx": docx_elements(3_000_000),  # over it: refused before it is parsed
        "title.jsonl": long_title_jsonl(1_000_000, 5_000_000),
    }


def benign_markdown(size: int) -> bytes:
    """Ordinary prose of about ``size`` bytes: the control, an upload as large as the hostile
    text files that no parser finds hard."""
    sentence = ("The survey counted otters and herons along the upper reaches of the river, "
                "where volunteers gathered information about water quality each season. ")
    paragraph = sentence * 6 + "\n\n"
    return ("# River survey\n\n" + paragraph * (size // len(paragraph))).encode()


def env(args: argparse.Namespace) -> dict[str, str]:
    out = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_API_KEY": KEY}
    if args.cpu_s is not None:
        out["GRAPHREADY_PARSE_CPU_S"] = str(args.cpu_s)
    if args.memory_mb is not None:
        out["GRAPHREADY_PARSE_MEMORY_MB"] = str(args.memory_mb)
    return out


def client(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"},
                        timeout=600.0)


def health_until(server: ServerProcess, stop: threading.Event | None, count: int) -> list[float]:
    """Seconds of each sequential ``GET /health``: ``count`` of them, or until ``stop``."""
    out: list[float] = []
    with httpx.Client(base_url=server.url, timeout=60.0) as http:
        while (stop is None and len(out) < count) or (stop is not None and not stop.is_set()):
            began = time.perf_counter()
            response = http.get("/health")
            out.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise SystemExit(f"/health answered {response.status_code}")
    return out


def health_for(server: ServerProcess, seconds: float) -> list[float]:
    """Seconds of each sequential ``GET /health`` for ``seconds``, nothing else running."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return health_until(server, stop, 0)
    finally:
        timer.cancel()


def upload_loop(url: str, name: str, data: bytes, seconds: float,
                outcomes: multiprocessing.queues.Queue[tuple[int, str] | None]) -> None:
    """Upload ``name`` again and again for ``seconds``, each status and message to
    ``outcomes``, then None (in a process of its own: building the multipart bodies takes
    this client's interpreter lock, which would delay the ``/health`` timings)."""
    until = time.monotonic() + seconds
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"},
                          timeout=600.0) as api:
            while time.monotonic() < until:
                began = time.monotonic()
                response = api.post("/documents", files=[("files", (name, data, "x/y"))])
                message = ""
                if response.status_code >= 400:
                    message = str(response.json().get("error", {}).get("message", ""))
                outcomes.put((response.status_code, f"{message[:160]} "
                              f"({time.monotonic() - began:.1f} s)"))
    finally:
        outcomes.put(None)


def upload_while_timing_health(server: ServerProcess, name: str, data: bytes,
                               seconds: float) -> tuple[list[float], list[tuple[int, str]]]:
    """``/health`` timings while another process uploads ``name`` in a loop, and the uploads'
    outcomes."""
    spawn = multiprocessing.get_context("spawn")
    outcomes: multiprocessing.queues.Queue[tuple[int, str] | None] = spawn.Queue()
    uploader = spawn.Process(target=upload_loop, args=(server.url, name, data, seconds,
                                                       outcomes))
    uploader.start()
    stop = threading.Event()
    got: list[tuple[int, str]] = []

    def collect() -> None:
        while (item := outcomes.get()) is not None:
            got.append(item)
        stop.set()

    collector = threading.Thread(target=collect)
    collector.start()
    during = health_until(server, stop, 0)
    collector.join()
    uploader.join()
    return during, got


def print_latencies(label: str, values: list[float], idle_p99: float | None = None,
                    control_p99: float | None = None) -> None:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    ratio = f"  p99/idle p99 {p99 / idle_p99:5.2f}x" if idle_p99 else ""
    ratio += f"  p99/benign p99 {p99 / control_p99:5.2f}x" if control_p99 else ""
    print(f"  {label:<16} /health n={len(values):>5}  p50 {p50:7.2f} ms  p99 {p99:8.2f} ms  "
          f"max {1000 * max(values):8.1f} ms{ratio}")


def during_uploads(args: argparse.Namespace, tmp: Path, files: dict[str, bytes]) -> None:
    server = ServerProcess(None, tmp / "uploads-data", env(args))
    try:
        server.wait_listening(120)
        health_until(server, None, 50)  # warm up
        idle = health_for(server, args.seconds)  # as long as each loop: p99s of like samples
        print(f"/health on a real server (hashing embedder, uploads only), {args.seconds:g} s "
              "of uploads of each file in a loop:")
        print_latencies("idle", idle)
        idle_p99 = percentile(idle, 99)
        control = {"benign.md": benign_markdown(4_000_000)}  # as large, nothing hard in it
        control_p99: float | None = None  # the benign upload's: what any upload costs
        for name, data in {**control, **files}.items():
            during, outcomes = upload_while_timing_health(server, name, data, args.seconds)
            print_latencies(f"{name} ({len(data) / 2**20:.1f} MiB)", during, idle_p99,
                            control_p99)
            control_p99 = control_p99 or percentile(during, 99)
            statuses = Counter(code for code, _ in outcomes)
            print(f"      uploads: {dict(statuses)}; first: {outcomes[0][0] if outcomes else '-'}"
                  f" {outcomes[0][1] if outcomes else ''}")
        print_latencies("idle again", health_for(server, args.seconds), idle_p99)
    finally:
        server.stop()


def wait_built(server: ServerProcess, stages: tuple[str, ...]) -> dict[str, Any]:
    """``/status`` once ``stages`` are done (or failed)."""
    with client(server) as api:
        def status() -> dict[str, Any]:
            body: dict[str, Any] = api.get("/status").json()
            return body

        def done() -> bool:
            now = status()
            return all(now["stages"][s]["state"] in ("done", "failed") for s in stages)

        server.wait_until(done, BUILD_TIMEOUT_S, "the build")
        return status()


def build_with_hostile(args: argparse.Namespace, tmp: Path, files: dict[str, bytes]) -> None:
    docs = tmp / "docs"
    write_corpus(docs, passages=50)
    (docs / "heron.md").write_text("# Herons\n\nThe grey heron nests at Wexcombe weir.\n")
    for name, data in files.items():
        (docs / name).write_bytes(data)
    server = ServerProcess(docs, tmp / "build-data", env(args))
    try:
        server.wait_listening(120)
        status = wait_built(server, STAGES)
        seconds = time.monotonic() - server.started_at
        states = {s: v["state"] for s, v in status["stages"].items()}
        timings = {s: v["seconds"] for s, v in status["timings"].items()}
        print(f"\nbuild of a folder with {len(files)} hostile files, 50 passages and heron.md: "
              f"stages {states}, seconds {timings}, {seconds:.0f} s from the server's start")
        skipped = {s["path"]: s["reason"] for s in status["skipped"]}
        for name in files:
            print(f"  {name:<14} {'skipped: ' + skipped[name] if name in skipped else 'read'}")
        with client(server) as api:
            def heron_indexed() -> bool:
                return bool(api.get("/documents/heron.md").json().get("state") == "indexed")

            server.wait_until(heron_indexed, 120, "heron.md indexed (the graph loaded)")
            heron = api.get("/documents/heron.md").json()
        print(f"  heron.md       {heron.get('state')}; documents counted: "
              f"{status['counts'].get('documents')}")
    finally:
        server.stop()


def small_files(args: argparse.Namespace, tmp: Path) -> None:
    docs = tmp / "small"
    docs.mkdir()
    for number in range(args.small_files):
        (docs / f"note-{number:05d}.txt").write_text(
            f"Note {number}\n\nThe survey of reach {number} counted {number % 17} otters and "
            f"{number % 5} herons along the river bank near mill {number % 300}.\n")
    server = ServerProcess(docs, tmp / "small-data", env(args))
    try:
        server.wait_listening(120)
        status = wait_built(server, ("documents",))
        seconds = status["timings"]["documents"]["seconds"]
        print(f"documents stage on {args.small_files:,} small .txt files: {seconds:.2f} s "
              f"({1000 * seconds / args.small_files:.3f} ms a file)\n")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="seconds of uploads of each hostile file")
    parser.add_argument("--small-files", type=int, default=10_000,
                        help="small .txt files for the documents stage timing (0: skip)")
    parser.add_argument("--no-build", action="store_true", help="skip the folder build")
    parser.add_argument("--no-uploads", action="store_true", help="skip the upload loops")
    parser.add_argument("--cpu-s", type=int, default=None, help="GRAPHREADY_PARSE_CPU_S")
    parser.add_argument("--memory-mb", type=int, default=None, help="GRAPHREADY_PARSE_MEMORY_MB")
    args = parser.parse_args()
    files = hostile_files()
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        tmp = Path(folder)
        if args.small_files:
            small_files(args, tmp)
        if not args.no_uploads:
            during_uploads(args, tmp, files)
        if not args.no_build:
            build_with_hostile(args, tmp, files)


if __name__ == "__main__":
    main()
