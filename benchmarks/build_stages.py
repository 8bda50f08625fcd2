"""Build-stage benchmark: the vectors and graph stages, cold, run side by side in their worker
processes exactly as ``graphready serve`` starts them (``python -m graphready.indexing.worker
STAGE``), on a data dir whose documents stage is done. For each worker: seconds from start to
its stage's end, CPU seconds (user + sys, its own threads), chunks per CPU-second, peak RSS,
and when each of its progress steps began. CPU seconds and chunks per CPU-second are what to
compare on a busy machine; wall seconds are only meaningful on a quiet one.

    .venv/bin/python benchmarks/build_stages.py [--corpus ../shared/data/2wikimultihopqa_hipporag]
        [--limit N] [--stages vectors,graph] [--env GRAPHREADY_NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from common import ROOT

DEFAULT_SET = ROOT.parent / "shared" / "data" / "2wikimultihopqa_hipporag"
PYTHON = str(ROOT / ".venv/bin/python")


@dataclass
class Worker:
    """One stage's worker process, its events (with seconds since the start) and samples."""

    stage: str
    proc: subprocess.Popen[bytes]
    started: float
    events: list[tuple[float, dict[str, object]]] = field(default_factory=list)
    cpu_s: float = 0.0
    peak_mib: float = 0.0
    ended: float | None = None


def documents_only(corpus: Path, limit: int | None, work: Path, env: dict[str, str]) -> None:
    """A docs folder holding the corpus (its first ``limit`` lines) and a data dir whose
    documents stage is done."""
    docs = work / "docs"
    docs.mkdir()
    target = docs / "corpus.jsonl"
    if limit is None:
        target.symlink_to(corpus.resolve())
    else:
        with corpus.open() as src, target.open("w") as dst:
            for n, line in enumerate(src):
                if n >= limit:
                    break
                dst.write(line)
    subprocess.run([PYTHON, "-m", "graphready.indexing.worker", "documents"], env=env,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)


def read_events(worker: Worker) -> None:
    assert worker.proc.stdout is not None
    for raw in worker.proc.stdout:
        try:
            event = json.loads(raw)
        except json.JSONDecodeError:
            continue
        worker.events.append((time.monotonic() - worker.started, event))
        if event.get("kind") in ("done", "failed"):
            worker.ended = time.monotonic() - worker.started


def sample(workers: list[Worker], stop: threading.Event) -> None:
    """Every 0.1 s: each worker's CPU seconds so far (the last sample before it exits) and
    peak RSS."""
    handles = {w.stage: psutil.Process(w.proc.pid) for w in workers}
    while not stop.is_set():
        for w in workers:
            try:
                with handles[w.stage].oneshot():
                    times = handles[w.stage].cpu_times()
                    w.cpu_s = times.user + times.system
                    w.peak_mib = max(w.peak_mib, handles[w.stage].memory_info().rss / 2**20)
            except psutil.Error:
                pass
        time.sleep(0.1)


def run(args: argparse.Namespace) -> list[Worker]:
    work = Path(tempfile.mkdtemp(prefix="graphready-stages-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env.update({"GRAPHREADY_DOCS_DIR": str(work / "docs"),
                "GRAPHREADY_DATA_DIR": str(work / "data")})
    env.update(dict(item.split("=", 1) for item in args.env))
    documents_only(Path(args.corpus) / "corpus.jsonl", args.limit, work, env)
    workers = []
    for stage in args.stages.split(","):
        proc = subprocess.Popen([PYTHON, "-m", "graphready.indexing.worker", stage], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        workers.append(Worker(stage, proc, time.monotonic()))
    readers = [threading.Thread(target=read_events, args=(w,)) for w in workers]
    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(workers, stop))
    for thread in [*readers, sampler]:
        thread.start()
    for w in workers:
        w.proc.wait()
    for thread in readers:
        thread.join()
    stop.set()
    sampler.join()
    print(f"work dir {work}")
    return workers


def report(workers: list[Worker]) -> None:
    for w in workers:
        done = next((e for _, e in w.events if e.get("kind") in ("done", "failed")), {})
        counts = done.get("counts", {})
        chunks = counts.get("vectors_added", counts.get("chunks_extracted", 0))
        assert isinstance(counts, dict) and isinstance(chunks, int)
        ended = f"{w.ended:.1f}" if w.ended is not None else "n/a"
        rate = chunks / w.cpu_s if w.cpu_s else float("nan")
        print(f"\n{w.stage}: {done.get('kind', 'no result')} at {ended} s, CPU {w.cpu_s:.1f} s, "
              f"{chunks} chunks, {rate:.1f} chunks per CPU-second, peak RSS {w.peak_mib:.0f} MiB")
        print(f"  counts {json.dumps(counts)}")
        seen: set[str] = set()
        for at, event in w.events:
            step = str(event.get("stage"))
            if event.get("kind") == "progress" and step not in seen:
                seen.add(step)
                print(f"  {at:7.1f} s  {step} begins")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(DEFAULT_SET),
                        help="a folder with corpus.jsonl")
    parser.add_argument("--limit", type=int, default=None, help="only the first N passages")
    parser.add_argument("--stages", default="vectors,graph")
    parser.add_argument("--env", action="append", default=[],
                        help="GRAPHREADY_NAME=VALUE for the workers (repeatable)")
    report(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
