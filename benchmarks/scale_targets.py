"""Issue 22's targets on a large corpus served by a real ``graphready serve`` (embedded default
stores, offline extraction, the packaged MiniLM embedder).

``build``: a cold server on a corpus file (``benchmarks/scale_corpus.py``'s ``corpus-N.jsonl``)
with an empty data dir, to everything ready; its stages' progress is logged every 30 s
(``WORK/progress.log``); the milestones, stage seconds, counts, peaks and the loaded server's RSS
go to ``WORK/build.json``.

``measure``: on that built index, a server started again (first answer and graph ready after
start, RSS and USS with the graph loaded), chat latency p50/p95 per retrieval mode once warm,
then one document added over HTTP (two passages of the corpus under a new id with a new
sentence, so the change reaches existing entities and communities): seconds from the POST to
the first answer citing it and to the document indexed in every index (the graph stored and
loaded), the graph stage's seconds and rows written, and the graph worker's peak RSS during the
change; then the same document deleted: seconds to the graph updated (part ``single``). Part
``workers``: a server with ``--workers 2``, the RSS, USS and PSS of each of its server
processes. Part ``stable``: the change again in ``stable`` community mode. Everything goes to
``WORK/measure.json``, written after each part.

``probe``: in this process, on the built index, the server's graph load as after every change
(the graph-local arrays built and written to a file of their own, ``WORK/probe/``) and each
retrieval mode's questions, timed and profiled by cProfile (``WORK/profile-*.txt``), with the
RSS each adds. ``probe-change``: the same for the graph stage of one document added and
deleted, on a copy of the index (``--updates exact`` or ``stable``). ``probe-keyword``: the
keyword search alone, on a new keyword store of the whole corpus file (no build needed: for the
1,000,000-chunk corpus too). The probes are in ``scale_probes.py``.

``report``: the issue's target table against what ``build`` and ``measure`` found, and the
step as a row of ``scale.py``'s results (``--row FILE``) for its growth fits.

    .venv/bin/python benchmarks/scale_targets.py build \\
        --corpus /tmp/scale-corpus/big/corpus-100000.jsonl --work /tmp/scale100k
    .venv/bin/python benchmarks/scale_targets.py measure --corpus ... --work /tmp/scale100k
    .venv/bin/python benchmarks/scale_targets.py probe --corpus ... --work /tmp/scale100k
    .venv/bin/python benchmarks/scale_targets.py probe-change --updates stable --corpus ... \\
        --work /tmp/scale100k
    .venv/bin/python benchmarks/scale_targets.py report --corpus ... --work /tmp/scale100k \\
        --row /tmp/scale100k/row.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Server
from scale import chat_latency, disk_mib, milestones

NEW_ID = "scale-targets-new"
NEW_SENTENCE = "The Quillon Harbour was dredged by the engineer Tobias Venkman in 1901."
NEW_QUESTION = "Who dredged the Quillon Harbour?"
CHILD = "graphready.server.child"
"""The module each server process of ``serve --workers N`` runs."""
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("retrieval p95 per mode, warm (ms, the slowest mode)", "p95_ms", 150.0),
    ("document added over HTTP -> first cited (s)", "cited_s", 2.0),
    ("document added -> graph updated (s)", "added_graph_s", 15.0),
    ("document deleted -> graph updated (s)", "deleted_graph_s", 15.0),
    ("first server process RSS, graph loaded (MiB)", "server_rss_mib", 3072.0),
    ("each extra --workers process (MiB, its USS)", "extra_worker_mib", 400.0),
    ("graph worker peak RSS during an incremental change (MiB)", "change_worker_mib", 2048.0),
    ("cold start on the built index: first answer (s)", "first_answer_s", 5.0),
    ("cold start on the built index: graph ready (s)", "graph_ready_s", 30.0),
)
"""Issue 22's targets at 1,000,000 chunks: what, the key :func:`summary` gives it, the bound."""


def titles(corpus: Path, limit: int, stride: int = 997) -> list[str]:
    """Every ``stride``-th title of the corpus, up to ``limit`` of them."""
    with corpus.open(encoding="utf-8") as lines:
        return [json.loads(line)["title"] for line in islice(lines, 0, None, stride)][:limit]


def questions(corpus: Path, limit: int) -> list[str]:
    """Questions about titles spread over the corpus."""
    return [f"What is known about {title}?" for title in titles(corpus, limit)]


def new_document(corpus: Path, at: int) -> dict[str, str]:
    """A document of a new sentence and the corpus passages ``at`` and ``at + 1``."""
    with corpus.open(encoding="utf-8") as lines:
        passages = [json.loads(line) for line in islice(lines, at, at + 2)]
    text = " ".join([NEW_SENTENCE, *(p["text"] for p in passages)])
    return {"id": NEW_ID, "title": "The Quillon Harbour", "text": text}


def docs_folder(corpus: Path, work: Path) -> Path:
    """``WORK/docs`` holding a link to the corpus file (made once)."""
    docs = work / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    link = docs / corpus.name
    if not link.exists():
        link.symlink_to(corpus.resolve())
    return docs


def log_progress(log: Path) -> Callable[[float, dict[str, Any]], None]:
    """A ``milestones`` progress callback appending one line per call to ``log``."""
    def write(now: float, status: dict[str, Any]) -> None:
        stages = {k: v["state"] for k, v in status.get("stages", {}).items()}
        line = {"t": round(now, 1), "at": time.strftime("%H:%M:%S"),
                "progress": status.get("progress"), "stages": stages,
                "counts": status.get("counts"), "ready": status.get("ready"),
                "graph_ready": status.get("graphrag_ready")}
        with log.open("a") as out:
            out.write(json.dumps(line) + "\n")
    return write


def memory(pid: int) -> dict[str, float]:
    """RSS, USS and PSS of one process (MiB)."""
    info = psutil.Process(pid).memory_full_info()
    return {k: round(getattr(info, k) / 2**20, 1) for k in ("rss", "uss", "pss")}


def build(args: argparse.Namespace) -> dict[str, Any]:
    """A cold server on the corpus to everything ready."""
    work: Path = args.work
    docs = docs_folder(args.corpus, work)
    server = Server(docs, work / "data", work / "cold.log")
    marks, status = milestones(server, questions(args.corpus, 1)[0], args.timeout,
                               log_progress(work / "progress.log"))
    loaded = server.rss_mib()
    server.stop()
    return {"corpus": str(args.corpus), "cold": marks, "counts": status.get("counts", {}),
            "stage_seconds": {k: t["seconds"] for k, t in status.get("timings", {}).items()},
            "graph_stage_counts": status.get("stages", {}).get("graph", {}).get("counts"),
            "peak_rss_mib": server.peak_mib, "cpu_s": server.cpu_s,
            "server_rss_loaded_mib": loaded, "disk_mib": disk_mib(work / "data")}


def wait(check: Callable[[], bool], timeout: float, every: float = 0.1) -> float | None:
    """Seconds until ``check()`` holds (None after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(every)
    return None


def cites(client: httpx.Client, doc_id: str) -> bool:
    reply = client.post("/chat", json={"message": NEW_QUESTION})
    return reply.status_code == 200 and doc_id in {c["id"] for c in reply.json()["citations"]}


def indexed(client: httpx.Client, doc_id: str) -> bool:
    reply = client.get(f"/documents/{doc_id}")
    return reply.status_code == 200 and reply.json().get("state") == "indexed"


def graph_done(client: httpx.Client, before: Any) -> Callable[[], bool]:
    """Whether a build ran a graph stage since ``before`` (its /status timing) and ended."""
    def check() -> bool:
        status = client.get("/status").json()
        return not status["building"] and status["timings"].get("graph") != before
    return check


def after_change(server: Server, client: httpx.Client, started: float) -> dict[str, Any]:
    """What the last build's graph stage did, and the graph worker's peak since ``started``."""
    status = client.get("/status").json()
    return {"graph_stage": status["timings"].get("graph"),
            "graph_stage_counts": status["stages"]["graph"]["counts"],
            "counts": status["counts"], "seconds": round(time.monotonic() - started, 2),
            "worker_peak_mib": server.worker_peaks_mib()}


def change(server: Server, doc: dict[str, str], timeout: float) -> dict[str, Any]:
    """One document added over HTTP, then deleted: when it is cited, when the graph is updated
    (each time from the request), and the graph worker's peak RSS during each change."""
    out: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, timeout=120) as client:
        before = client.get("/status").json()
        for key in list(server.worker_peaks_mib()):
            server.peak_mib[key] = 0.0
        started = time.monotonic()
        reply = client.post("/documents", json={"documents": [doc]})
        reply.raise_for_status()
        out["add_request_s"] = round(time.monotonic() - started, 3)
        out["cited_s"] = wait(lambda: cites(client, doc["id"]), timeout)
        wait(lambda: indexed(client, doc["id"]), timeout)
        out["added"] = after_change(server, client, started)
        out["added"]["counts_before"] = before["counts"]
        graph = client.get("/status").json()["timings"].get("graph")
        for key in list(server.worker_peaks_mib()):
            server.peak_mib[key] = 0.0
        started = time.monotonic()
        client.delete(f"/documents/{doc['id']}").raise_for_status()
        out["delete_request_s"] = round(time.monotonic() - started, 3)
        out["uncited_s"] = wait(lambda: not cites(client, doc["id"]), timeout)
        wait(graph_done(client, graph), timeout)
        out["deleted"] = after_change(server, client, started)
    return out


def serve(args: argparse.Namespace, name: str, flags: tuple[str, ...] = (),
          env: dict[str, str] | None = None) -> tuple[Server, dict[str, float]]:
    """A server on the built index; its milestones after start."""
    server = Server(docs_folder(args.corpus, args.work), args.work / "data",
                    args.work / f"{name}.log", flags, env)
    marks, _ = milestones(server, questions(args.corpus, 1)[0], args.timeout)
    return server, marks


def single(args: argparse.Namespace, doc: dict[str, str]) -> dict[str, Any]:
    """Start on the built index, memory, warm latency per mode, one change."""
    server, marks = serve(args, "warm")
    try:
        out: dict[str, Any] = {"start": marks, "memory_loaded": memory(server.proc.pid)}
        asked = questions(args.corpus, args.questions)
        chat_latency(server, asked[:3])  # the first questions of each mode warm it up
        out["chat_ms"] = chat_latency(server, asked)
        out["memory_after_chat"] = memory(server.proc.pid)
        out["change"] = change(server, doc, args.timeout)
        out["memory_after_change"] = memory(server.proc.pid)
    finally:
        server.stop()
    return out


def stable(args: argparse.Namespace, doc: dict[str, str]) -> dict[str, Any]:
    """One change in ``stable`` community mode."""
    server, marks = serve(args, "stable", env={"GRAPHREADY_COMMUNITY_UPDATES": "stable"})
    try:
        return {"start": marks, "change": change(server, doc, args.timeout)}
    finally:
        server.stop()


def workers(args: argparse.Namespace) -> dict[str, Any]:
    """``--workers 2``: the memory of each server process once both answer."""
    server, marks = serve(args, "workers", ("--workers", "2"))
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            wait(lambda: not client.get("/status").json()["building"], args.timeout)
        for question in questions(args.corpus, 20):  # a new connection each: both processes
            httpx.post(f"{server.url}/chat", json={"message": question}, timeout=120)
        children = [p for p in psutil.Process(server.proc.pid).children()
                    if CHILD in p.cmdline()]
        return {"start": marks, "parent": memory(server.proc.pid),
                "processes": [memory(p.pid) for p in children]}
    finally:
        server.stop()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement on the built index, saved after each part."""
    doc = new_document(args.corpus, args.change_at)
    out: dict[str, Any] = {"at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                           "load_average": list(psutil.getloadavg())}
    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "single": lambda: single(args, doc), "workers": lambda: workers(args),
        "stable": lambda: stable(args, doc)}
    for name in args.parts.split(","):
        out[name] = parts[name]()
        out["load_average_after_" + name] = list(psutil.getloadavg())
        (args.work / "measure.json").write_text(json.dumps(out, indent=2))
        print(json.dumps({name: out[name]}), flush=True)
    return out


def summary(build_result: dict[str, Any], measured: dict[str, Any]) -> dict[str, float | None]:
    """The figure of each target (see :data:`TARGETS`) from what was found."""
    one = measured.get("single", {})
    moved = one.get("change", {})
    p95s = [m["p95"] for m in one.get("chat_ms", {}).values() if m.get("p95") is not None]
    extra = [p["uss"] for p in measured.get("workers", {}).get("processes", [])]

    def seconds(part: str) -> float | None:
        found = moved.get(part, {})
        return found.get("seconds") if found.get("graph_stage") else None

    return {
        "p95_ms": max(p95s) if p95s else None,
        "cited_s": moved.get("cited_s"),
        "added_graph_s": seconds("added"),
        "deleted_graph_s": seconds("deleted"),
        "server_rss_mib": one.get("memory_after_chat", {}).get("rss"),
        "extra_worker_mib": max(extra) if extra else None,
        "change_worker_mib": max((moved.get(part, {}).get("worker_peak_mib", {}).get("graph", 0.0)
                                  for part in ("added", "deleted")), default=None) or None,
        "first_answer_s": one.get("start", {}).get("first_answer"),
        "graph_ready_s": one.get("start", {}).get("graph_ready"),
    }


def row(build_result: dict[str, Any], measured: dict[str, Any], step: str) -> dict[str, Any]:
    """The step as a row of ``scale.py``'s results (what its growth fits read)."""
    one = measured.get("single", {})
    counts = build_result["counts"]
    return {"step": step, "chunks": counts.get("chunks", 0), "counts": counts,
            "stage_seconds": build_result["stage_seconds"], "cold": build_result["cold"],
            "warm": one.get("start", {}), "peak_rss_mib": build_result["peak_rss_mib"],
            "server_rss_loaded_mib": build_result["server_rss_loaded_mib"],
            "warm_server_rss_mib": one.get("memory_loaded", {}).get("rss"),
            "disk_mib": build_result["disk_mib"], "chat_ms": one.get("chat_ms", {})}


def report(args: argparse.Namespace) -> dict[str, Any]:
    """Print the targets against the figures; the ``scale.py`` row to ``--row``."""
    build_result = json.loads((args.work / "build.json").read_text())
    measured = json.loads((args.work / "measure.json").read_text())
    figures = summary(build_result, measured)
    print(f"{'target (at 1,000,000 chunks)':60s} {'bound':>8s} {'here':>10s}")
    for what, key, bound in TARGETS:
        found = figures[key]
        verdict = "n/a" if found is None else "met" if found <= bound else "NOT met"
        shown = "n/a" if found is None else f"{found:,.1f}"
        print(f"{what:60s} {bound:8,.0f} {shown:>10s}  {verdict}")
    result = row(build_result, measured, args.step)
    if args.row is not None:
        args.row.write_text(json.dumps({"steps": [result]}, indent=2))
    return {"figures": figures, "row": result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command",
                        choices=("build", "measure", "probe", "probe-change", "probe-keyword",
                                 "report"))
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="data dir and logs (not in "
                        "the repository)")
    parser.add_argument("--timeout", type=float, default=6 * 3600.0, help="seconds to wait")
    parser.add_argument("--questions", type=int, default=20, help="questions per chat mode")
    parser.add_argument("--change-at", type=int, default=50_000,
                        help="the first of the two passages the added document repeats")
    parser.add_argument("--parts", default="single,workers",
                        help="of single, workers, stable (in this order)")
    parser.add_argument("--updates", choices=("exact", "stable"), default="exact",
                        help="community mode of probe-change")
    parser.add_argument("--step", default="generated-100k", help="the row's step name")
    parser.add_argument("--row", type=Path, help="write the step as scale.py's results")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.command == "report":
        report(args)
        return 0
    from scale_probes import probe, probe_change, probe_keyword

    run = {"build": build, "measure": measure, "probe": probe,
           "probe-change": probe_change, "probe-keyword": probe_keyword}[args.command]
    result = run(args)
    print(json.dumps(result, indent=2))
    (args.work / f"{args.command}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
