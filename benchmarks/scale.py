"""How every cost grows with the corpus: a real `graphready serve` on growing corpora made from
the real sets in ../shared/data/, each served cold (empty data dir) and then warm (restart).

Per step: seconds per build stage and chunks per second, seconds from process start to the
first answer, vectors ready, graph ready and everything ready; peak RSS of the server and of
each build worker (by stage); the server's RSS with the graph loaded; size on disk; documents,
chunks, entities, relations and communities; chat latency p50/p95 per mode once built; warm
start to the first answer and to the graph. Then, for each cost, the best-fitting growth curve
(benchmarks/growth.py) and what it predicts at --predict chunks, and a PNG with a panel per cost.

    .venv/bin/python benchmarks/scale.py                          # every step (hours on 2 cores)
    .venv/bin/python benchmarks/scale.py --steps 2wiki-1k,2wiki-3k --json out.json
    .venv/bin/python benchmarks/scale.py --from-json out.json     # fits and plot again
    .venv/bin/python benchmarks/scale.py --from-json out.json row.json  # with more steps
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

import httpx

from graphready.retrieval.modes import MODES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Server
from growth import Fit, best_fit, plot

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
WIKI, MUSIQUE, HOTPOT = "2wikimultihopqa_hipporag", "musique_mini", "hotpotqa_mini"
ALL_SETS = (WIKI, MUSIQUE, HOTPOT, "graphrag_bench_novel", "graphrag_bench_medical",
            "graphrag_podcast_kevin_scott", "christmas_carol_nano_graphrag")
STEPS: dict[str, list[tuple[str, int | None]]] = {
    "2wiki-1k": [(WIKI, 1000)],
    "2wiki-3k": [(WIKI, 3000)],
    "2wiki": [(WIKI, None)],
    "3sets": [(WIKI, None), (MUSIQUE, None), (HOTPOT, None)],
    "all": [(name, None) for name in ALL_SETS],
}
"""Each step's corpus: (set, first N passages or all of them)."""


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of ``values`` in milliseconds; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def make_corpus(step: str, docs: Path) -> int:
    """The step's documents folder (whole sets linked, parts copied); its passages."""
    docs.mkdir(parents=True)
    passages = 0
    for name, limit in STEPS[step]:
        source = DATA / name / "corpus.jsonl"
        target = docs / f"{name}.jsonl"
        if limit is None:
            target.symlink_to(source.resolve())
            with source.open() as f:
                passages += sum(1 for _ in f)
        else:
            with source.open() as f:
                lines = list(islice(f, limit))
            target.write_text("".join(lines))
            passages += len(lines)
    return passages


def step_questions(step: str, limit: int) -> list[str]:
    """Questions of the step's sets (those that have some), taken in turn from each."""
    pools = []
    for name, _ in STEPS[step]:
        path = DATA / name / "questions.dev.jsonl"
        if path.is_file():
            with path.open() as f:
                pools.append([json.loads(line)["question"] for line in islice(f, limit)])
    mixed = [q for group in zip(*pools, strict=False) for q in group] if pools else []
    return mixed[:limit] or ["What is this corpus about?"]


def milestones(server: Server, question: str, timeout: float,
               progress: Callable[[float, dict[str, Any]], None] | None = None,
               every: float = 30.0) -> tuple[dict[str, float], dict[str, Any]]:
    """Seconds from process start to each milestone, and the last /status body; ``progress``
    (when given) is called with the seconds since start and the /status body every ``every``
    seconds, for a long build's log."""
    marks: dict[str, float] = {}
    status: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    reported = -every
    with httpx.Client(base_url=server.url, timeout=60) as client:
        while time.monotonic() < deadline and "everything_ready" not in marks:
            try:
                status = client.get("/status").json()
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            now = server.since_start()
            marks.setdefault("first_status", now)
            if progress is not None and now - reported >= every:
                progress(now, status)
                reported = now
            if status["ready"] and "first_answer" not in marks and client.post(
                    "/chat", json={"message": question}).status_code == 200:
                marks["first_answer"] = server.since_start()
            if status["retrieval"]["vector_ready"]:
                marks.setdefault("vectors_ready", now)
            if status["graphrag_ready"]:
                marks.setdefault("graph_ready", now)
            if status["graphrag_ready"] and status["retrieval"]["vector_ready"] and \
                    not status["building"]:
                marks.setdefault("everything_ready", now)
            time.sleep(0.1)
    return marks, status


def chat_latency(server: Server, questions: list[str]) -> dict[str, dict[str, float | None]]:
    """p50/p95 ms of POST /chat per mode, one request at a time."""
    out: dict[str, dict[str, float | None]] = {}
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for mode in MODES:
            times = []
            for question in questions:
                started = time.perf_counter()
                reply = client.post("/chat", json={"message": question, "mode": mode})
                if reply.status_code == 200:
                    times.append(time.perf_counter() - started)
            out[mode] = {"p50": percentile(times, 50), "p95": percentile(times, 95),
                         "answered": len(times)}
    return out


def disk_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def run_step(step: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One step: cold start to everything ready, chat latency, then a warm restart."""
    docs, data = work / step / "docs", work / step / "data"
    passages = make_corpus(step, docs)
    questions = step_questions(step, args.questions)
    cold = Server(docs, data, work / step / "cold.log")
    marks, status = milestones(cold, questions[0], args.timeout)
    latency = chat_latency(cold, questions)
    loaded_rss = cold.rss_mib()
    cold.stop()
    timings = {name: t["seconds"] for name, t in status.get("timings", {}).items()}
    chunks = int(status.get("counts", {}).get("chunks", 0))
    warm = Server(docs, data, work / step / "warm.log")
    warm_marks, _ = milestones(warm, questions[0], args.timeout)
    warm_rss = warm.rss_mib()
    warm.stop()
    return {
        "step": step, "passages": passages, "chunks": chunks,
        "counts": status.get("counts", {}),
        "stage_seconds": timings,
        "chunks_per_s": {k: round(chunks / v, 1) for k, v in timings.items() if v},
        "cold": marks, "warm": warm_marks,
        "peak_rss_mib": cold.peak_mib, "warm_peak_rss_mib": warm.peak_mib,
        "server_rss_loaded_mib": loaded_rss, "warm_server_rss_mib": warm_rss,
        "disk_mib": disk_mib(data), "chat_ms": latency,
    }


METRICS: dict[str, tuple[str, ...]] = {
    "graph stage (s)": ("stage_seconds", "graph"),
    "vectors stage (s)": ("stage_seconds", "vectors"),
    "documents stage (s)": ("stage_seconds", "documents"),
    "cold: graph ready (s)": ("cold", "graph_ready"),
    "cold: everything ready (s)": ("cold", "everything_ready"),
    "cold: first answer (s)": ("cold", "first_answer"),
    "warm: first answer (s)": ("warm", "first_answer"),
    "warm: graph ready (s)": ("warm", "graph_ready"),
    "server RSS, graph loaded (MiB)": ("warm_server_rss_mib",),
    "graph worker peak RSS (MiB)": ("peak_rss_mib", "graph"),
    "vectors worker peak RSS (MiB)": ("peak_rss_mib", "vectors"),
    "disk (MiB)": ("disk_mib",),
    "entities": ("counts", "entities"),
    "relations": ("counts", "relations"),
    "communities": ("counts", "communities"),
    "chat p50 auto (ms)": ("chat_ms", "auto", "p50"),
    "chat p95 auto (ms)": ("chat_ms", "auto", "p95"),
    "chat p95 graph_global (ms)": ("chat_ms", "graph_global", "p95"),
}


def value(row: dict[str, Any], path: tuple[str, ...]) -> float | None:
    item: Any = row
    for key in path:
        if not isinstance(item, dict) or key not in item:
            return None
        item = item[key]
    return float(item) if isinstance(item, (int, float)) else None


def report(rows: list[dict[str, Any]], predict: float, png: Path | None) -> None:
    """The table per step, then the fitted growth of each cost and its prediction."""
    print(f"{'cost':34s}" + "".join(f"{r['step']:>11s}" for r in rows))
    print(f"{'chunks':34s}" + "".join(f"{r['chunks']:11d}" for r in rows))
    series: dict[str, tuple[list[float], list[float]]] = {}
    for name, path in METRICS.items():
        values = [value(r, path) for r in rows]
        print(f"{name:34s}" + "".join(f"{v:11.1f}" if v is not None else f"{'n/a':>11s}"
                                      for v in values))
        points = [(float(r["chunks"]), v) for r, v in zip(rows, values, strict=True)
                  if v is not None]
        series[name] = ([p[0] for p in points], [p[1] for p in points])
    print(f"\nfitted growth (cost = a + b * f(n), n = chunks) and the cost at {predict:,.0f}")
    fits: dict[str, Fit | None] = {}
    for name, (xs, ys) in series.items():
        fits[name] = found = best_fit(xs, ys)
        if found is None:
            print(f"  {name:34s} (too few points)")
            continue
        print(f"  {name:34s} {found.model:9s} {found.describe():34s} -> "
              f"{found.predict(predict):,.0f}")
    if png is not None:
        plot(series, fits, png)
        print(f"\nplot: {png}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default=",".join(STEPS), help=f"of {', '.join(STEPS)}")
    parser.add_argument("--questions", type=int, default=20, help="questions per chat mode")
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds per start")
    parser.add_argument("--predict", type=float, default=1_000_000.0, help="chunks")
    parser.add_argument("--json", type=Path, help="write (or with --from-json read) results")
    parser.add_argument("--from-json", type=Path, nargs="+",
                        help="fit and plot saved results only (the steps of every file given, "
                        "e.g. scale_targets.py's --row, by chunks)")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "images" / "scale.png")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs")
    args = parser.parse_args()
    if args.from_json:
        saved = [row for path in args.from_json for row in json.loads(path.read_text())["steps"]]
        report(sorted(saved, key=lambda row: row["chunks"]), args.predict, args.png)
        return 0
    steps = [s for s in args.steps.split(",") if s]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {', '.join(STEPS)}")
    work = Path(tempfile.mkdtemp(prefix="graphready-scale-"))
    rows = []
    try:
        for step in steps:
            rows.append(run_step(step, work, args))
            print(json.dumps(rows[-1]), flush=True)
            if args.json:
                args.json.write_text(json.dumps({"steps": rows}, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(rows, args.predict, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
