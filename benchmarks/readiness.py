"""Readiness benchmark: a real `graphready serve` process on a real corpus. Three starts:
cold (empty data dir) with no load, for the seconds from process start to the first /status,
the first correct /chat answer, vectors ready and graph ready; cold again under N concurrent
clients (each alternating GET /status and POST /chat), for latency p50/p99 and failed requests
while the graph is built and then while idle, in the same run; and a warm restart. Peak memory
of the server and of the build workers, together and each, and the CPU seconds (user + sys)
of each in the cold start. ``--cold-only`` runs the first start alone.

    .venv/bin/python benchmarks/readiness.py [--corpus ../shared/data/2wikimultihopqa_hipporag]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from common import Server, percentile

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT.parent / "shared" / "data" / "2wikimultihopqa_hipporag"


@dataclass
class Samples:
    """Latencies (seconds) and failures per endpoint for one phase."""

    latency: dict[str, list[float]] = field(default_factory=lambda: {"status": [], "chat": []})
    failed: dict[str, int] = field(default_factory=lambda: {"status": 0, "chat": 0})


def load_questions(folder: Path, limit: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (folder / "questions.dev.jsonl").open()]
    return rows[:limit]


def correct(body: dict[str, Any], question: dict[str, Any]) -> bool:
    return any(c["id"] in question["supporting_ids"] for c in body.get("citations", []))


def wait_milestones(server: Server, question: dict[str, Any], timeout: float) -> dict[str, float]:
    """Seconds from process start to each milestone."""
    client = httpx.Client(base_url=server.url, timeout=30)
    marks: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and "build_complete" not in marks:
        try:
            status = client.get("/status").json()
        except httpx.TransportError:
            time.sleep(0.02)
            continue
        marks.setdefault("first_status", server.since_start())
        if status["ready"] and "first_correct_chat" not in marks:
            reply = client.post("/chat", json={"message": question["question"]})
            if reply.status_code == 200 and correct(reply.json(), question):
                marks["first_correct_chat"] = server.since_start()
        if status["retrieval"]["vector_ready"]:
            marks.setdefault("vectors_ready", server.since_start())
        if status["graphrag_ready"]:
            marks.setdefault("graph_ready", server.since_start())
        if status["graphrag_ready"] and status["retrieval"]["vector_ready"] and \
                not status["building"]:
            marks.setdefault("build_complete", server.since_start())
        time.sleep(0.02)
    client.close()
    return marks


def load(server: Server, questions: list[dict[str, Any]], clients: int, until: threading.Event,
         seconds: float | None) -> Samples:
    """N clients, each alternating GET /status and POST /chat, until ``until`` is set (or for
    ``seconds``)."""
    samples = Samples()
    lock = threading.Lock()
    end = time.monotonic() + seconds if seconds else None

    def client_loop(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            i = offset
            while not until.is_set() and (end is None or time.monotonic() < end):
                for kind in ("status", "chat"):
                    t0 = time.perf_counter()
                    try:
                        if kind == "status":
                            ok = client.get("/status").status_code == 200
                        else:
                            q = questions[i % len(questions)]["question"]
                            ok = client.post("/chat", json={"message": q}).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    elapsed = time.perf_counter() - t0
                    with lock:
                        if ok:
                            samples.latency[kind].append(elapsed)
                        else:
                            samples.failed[kind] += 1
                i += clients

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def graph_ready(server: Server) -> bool:
    try:
        status = httpx.get(f"{server.url}/status", timeout=10).json()
    except httpx.HTTPError:
        return False
    return bool(status["graphrag_ready"] and not status["building"])


def link_corpus(folder: Path, work: Path) -> Path:
    """A documents folder holding a link to the set's corpus (the data is not copied)."""
    docs = work / "docs"
    docs.mkdir()
    (docs / "corpus.jsonl").symlink_to((folder / "corpus.jsonl").resolve())
    return docs


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Three server starts: cold with no load (milestones), cold under load (latency during
    the build, then idle), warm restart (milestones)."""
    folder = Path(args.corpus)
    questions = load_questions(folder, 40)
    probe = questions[0]
    work = Path(tempfile.mkdtemp(prefix="graphready-bench-"))
    docs = link_corpus(folder, work)
    results: dict[str, Any] = {"work_dir": str(work)}

    quiet = Server(docs, work / "data-quiet", work / "cold-quiet.log")
    results["cold"] = {"milestones": wait_milestones(quiet, probe, args.timeout)}
    quiet.stop()
    results["cold"]["peak_rss_mb"] = {k: quiet.peak_mib[k] for k in ("server", "build")}
    results["cold"]["worker_peak_rss_mb"] = quiet.worker_peaks_mib()
    results["cold"]["cpu_s"] = dict(quiet.cpu_s)
    if args.cold_only:
        return results

    loaded = Server(docs, work / "data", work / "cold-loaded.log")
    while True:
        try:
            if httpx.get(f"{loaded.url}/status", timeout=5).json()["ready"]:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    done = threading.Event()

    def watch() -> None:
        while not graph_ready(loaded):
            time.sleep(0.2)
        done.set()

    threading.Thread(target=watch, daemon=True).start()
    during = load(loaded, questions, args.clients, done, None)
    graph_under_load = loaded.since_start()
    idle = load(loaded, questions, args.clients, threading.Event(), args.idle_seconds)
    loaded.stop()
    results["loaded"] = {"during_build": during, "idle": idle,
                         "graph_ready_under_load": graph_under_load,
                         "peak_rss_mb": {k: loaded.peak_mib[k] for k in ("server", "build")}}

    warm = Server(docs, work / "data", work / "warm.log")
    results["warm"] = {"milestones": wait_milestones(warm, probe, args.timeout)}
    warm.stop()
    results["warm"]["peak_rss_mb"] = {k: warm.peak_mib[k] for k in ("server", "build")}
    return results


def report(results: dict[str, Any], clients: int) -> None:
    print(f"graphready readiness benchmark, {clients} concurrent clients")
    for phase in ("cold", "warm"):
        if phase not in results:
            continue
        marks = results[phase]["milestones"]
        print(f"\n{phase} start (seconds from process start)")
        for key in ("first_status", "first_correct_chat", "vectors_ready", "graph_ready",
                    "build_complete"):
            value = marks.get(key)
            print(f"  {key:20s} {value:8.2f}" if value is not None else f"  {key:20s}      n/a")
        mem = results[phase]["peak_rss_mb"]
        print(f"  peak RSS: server {mem['server']:.0f} MiB, build workers {mem['build']:.0f} MiB")
        for stage, mib in sorted(results[phase].get("worker_peak_rss_mb", {}).items()):
            print(f"    {stage} worker peak {mib:.0f} MiB")
        for name, seconds in sorted(results[phase].get("cpu_s", {}).items()):
            print(f"  CPU (user + sys) {name:9s} {seconds:7.1f} s")
    if "loaded" not in results:
        return
    print(f"\nunder load: graph ready after {results['loaded']['graph_ready_under_load']:.1f} s; "
          f"peak RSS server {results['loaded']['peak_rss_mb']['server']:.0f} MiB")
    print("latency (ms)              p50      p99   requests  failed")
    for label, samples in (("during build", results["loaded"]["during_build"]),
                           ("idle", results["loaded"]["idle"])):
        for kind in ("status", "chat"):
            values = samples.latency[kind]
            print(f"  {label:12s} /{kind:7s} {percentile(values, 50):8.1f} "
                  f"{percentile(values, 99):8.1f} {len(values):9d} {samples.failed[kind]:7d}")
    during = percentile(results["loaded"]["during_build"].latency["status"], 99)
    idle = percentile(results["loaded"]["idle"].latency["status"], 99)
    print(f"\n/status p99 during build / idle = {during / idle:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(DEFAULT_SET),
                        help="a folder with corpus.jsonl and questions.dev.jsonl")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--cold-only", action="store_true",
                        help="only the cold start with no load (milestones, memory, CPU)")
    args = parser.parse_args()
    results = run(args)
    report(results, args.clients)
    return 0


if __name__ == "__main__":
    sys.exit(main())
