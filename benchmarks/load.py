"""Load benchmark: chat throughput and latency of a real `graphready serve`, one process against
`--workers N`, with 1 and 16 concurrent clients, on a warm data dir (built once, by
`graphready index`, then reused for every configuration). Each client is a closed loop of
`POST /chat` (2Wiki dev questions, mode auto) on one kept-alive connection. Prints answers/s,
p50, p99 and errors per configuration, the cores the server used (CPU seconds over wall
seconds: one process cannot pass ~1), its CPU milliseconds per answer and the client's own
cores, the speed-up of N processes over one, and the resident memory of every process (parent,
builder, followers) after the load. On a busy machine the ratio of answers/s understates the
speed-up; the cores used and CPU per answer say what a quiet machine would give. (Linux's
autogroup scheduling, on where /proc/sys/kernel/sched_autogroup_enabled is 1, gives this whole
benchmark one session's share of the CPU while other sessions are busy, however many server
processes it runs.)

    .venv/bin/python benchmarks/load.py [--corpus ../shared/data/2wikimultihopqa_hipporag]
        [--data-dir /tmp/graphready-load-2wiki] [--workers 2] [--clients 1,16] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from common import free_port, percentile

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT.parent / "shared" / "data" / "2wikimultihopqa_hipporag"
MIB = 1024 * 1024


def env() -> dict[str, str]:
    """The settings of every server here: one client address stands for many users, so no
    per-client rate limit or share."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")},
            "GRAPHREADY_CHAT_RATE_PER_MINUTE": "0", "GRAPHREADY_CHAT_SLOTS_PER_CLIENT": "10000"}


def build_once(docs: Path, data: Path) -> None:
    """Build every index into ``data`` (a no-op in seconds when it is already built)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "graphready.cli", "index", str(docs), "--data-dir",
                    str(data)], check=True, env=env(), stderr=subprocess.DEVNULL)
    print(f"index ready in {data} ({time.monotonic() - started:.0f} s)", flush=True)


class Server:
    """`graphready serve --workers N` on a free port, its log in a file."""

    def __init__(self, docs: Path, data: Path, workers: int, log: Path) -> None:
        self.workers = workers
        self.url = f"http://127.0.0.1:{free_port()}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphready.cli", "serve", str(docs), "--data-dir",
             str(data), "--port", self.url.rsplit(":", 1)[1], "--workers", str(workers)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env())

    def statuses(self, timeout: float) -> dict[int, dict[str, Any]]:
        """``/status`` of every process once each says the whole build is loaded."""
        seen: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with status {self.proc.returncode}")
            try:
                body = httpx.get(f"{self.url}/status", timeout=30).json()
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if body["graphrag_ready"] and body["retrieval"]["vector_ready"] \
                    and not body["building"]:
                seen[body["workers"]["index"]] = body
            if len(seen) == self.workers:
                return seen
            time.sleep(0.1)
        raise SystemExit(f"not every process was ready after {timeout} s")

    def pids(self, statuses: dict[int, dict[str, Any]]) -> dict[int, int]:
        """The pid of each serving process, by worker index."""
        return {index: s["workers"]["pid"] for index, s in sorted(statuses.items())}

    def memory(self, statuses: dict[int, dict[str, Any]]) -> dict[str, dict[str, float]]:
        """Resident and unique memory (MiB) of each process of the server."""
        procs = {"parent": self.proc.pid} if self.workers > 1 else {}
        for index, status in sorted(statuses.items()):
            role = status["workers"]["role"] if self.workers > 1 else "single"
            procs[f"{role} {index}"] = status["workers"]["pid"]
        out = {}
        for name, pid in procs.items():
            info = psutil.Process(pid).memory_full_info()
            out[name] = {"rss_mib": round(info.rss / MIB, 1), "uss_mib": round(info.uss / MIB, 1)}
        return out

    def cpu_seconds(self) -> dict[int, float]:
        """CPU seconds (user + system) used so far by each process of the server, by pid."""
        out: dict[int, float] = {}
        root = psutil.Process(self.proc.pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            out[proc.pid] = times.user + times.system
        return out

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self._log.close()


def load(url: str, questions: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` closed loops of POST /chat for ``seconds``; answers/s, p50, p99, errors."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic()
    end = start + seconds

    def loop(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            i = offset
            while time.monotonic() < end:
                t0 = time.perf_counter()
                try:
                    ok = client.post("/chat", json={"message": questions[i % len(questions)]}
                                     ).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - t0
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1
                i += clients

    threads = [threading.Thread(target=loop, args=(n * 37,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    return {"clients": clients, "answers": len(latencies), "answers_per_s":
            round(len(latencies) / wall, 2), "p50_ms": round(percentile(latencies, 50), 1),
            "p99_ms": round(percentile(latencies, 99), 1), "errors": errors[0]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(args.corpus)
    data = Path(args.data_dir)
    docs = data.parent / f"{data.name}-docs"
    docs.mkdir(parents=True, exist_ok=True)
    link = docs / "corpus.jsonl"
    if not link.exists():
        link.symlink_to((folder / "corpus.jsonl").resolve())
    build_once(docs, data)
    questions = [json.loads(line)["question"] for line in
                 (folder / "questions.dev.jsonl").open()][:args.questions]
    clients = [int(c) for c in args.clients.split(",")]
    results: dict[str, Any] = {"configs": [], "memory": {}}
    for workers in (1, args.workers):
        server = Server(docs, data, workers, data.parent / f"{data.name}-serve-{workers}.log")
        try:
            statuses = server.statuses(args.timeout)
            for n in clients:
                load(server.url, questions, n, args.warmup)
                cpu, own, t0 = server.cpu_seconds(), time.process_time(), time.monotonic()
                row: dict[str, Any] = {"workers": workers,
                                       **load(server.url, questions, n, args.seconds)}
                wall = time.monotonic() - t0
                after = server.cpu_seconds()
                used = sum(after.values()) - sum(cpu.values())
                row["server_cores"] = round(used / wall, 2)
                row["cores_per_process"] = {
                    str(index): round((after.get(pid, 0.0) - cpu.get(pid, 0.0)) / wall, 2)
                    for index, pid in server.pids(statuses).items()}
                row["client_cores"] = round((time.process_time() - own) / wall, 2)
                row["cpu_ms_per_answer"] = round(1000 * used / max(row["answers"], 1), 1)
                results["configs"].append(row)
                print(json.dumps(row), flush=True)
            results["memory"][str(workers)] = server.memory(statuses)
        finally:
            server.stop()
    return results


def report(results: dict[str, Any], workers: int) -> None:
    print("\n| workers | clients | answers/s | p50 ms | p99 ms | errors | server cores | "
          "server CPU ms per answer | client cores |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = results["configs"]
    for r in rows:
        print(f"| {r['workers']} | {r['clients']} | {r['answers_per_s']} | {r['p50_ms']} | "
              f"{r['p99_ms']} | {r['errors']} | {r['server_cores']} | "
              f"{r['cpu_ms_per_answer']} | {r['client_cores']} |")
    for r in rows:
        if r["workers"] > 1:
            print(f"cores per process, {r['workers']} workers, {r['clients']} clients: "
                  f"{r['cores_per_process']}")
    by = {(r["workers"], r["clients"]): r["answers_per_s"] for r in rows}
    for clients in sorted({r["clients"] for r in rows}):
        if (1, clients) in by and (workers, clients) in by and by[(1, clients)] > 0:
            print(f"speed-up of {workers} processes over 1 at {clients} clients: "
                  f"{by[(workers, clients)] / by[(1, clients)]:.2f}x")
    print("\nmemory after the load (MiB):")
    for config, procs in results["memory"].items():
        for name, mem in procs.items():
            print(f"  --workers {config}: {name}: RSS {mem['rss_mib']}, USS {mem['uss_mib']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(DEFAULT_SET),
                        help="a folder with corpus.jsonl and questions.dev.jsonl")
    parser.add_argument("--data-dir", default="/tmp/graphready-load-2wiki",
                        help="built once, reused warm by every configuration and later runs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    results = run(args)
    report(results, args.workers)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(f"\nload average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
