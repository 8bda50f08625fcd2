"""Fuzzing benchmark: the longer run of `tests/e2e/test_api_fuzz.py`. Starts a real
`graphready serve` on a generated corpus (or `--docs`), waits for its first build, then runs
Schemathesis' own runner over every operation of `/openapi.json`, in all its phases (examples,
coverage, fuzzing, stateful), positive and negative data, with every check (`--checks all`: no
5xx; declared statuses, content types, headers and bodies; schema-valid data accepted and
invalid data refused; 405 and `Allow` for methods a path does not take; missing headers and
keys refused; resources gone after a delete) and the test's own, the one error shape on every
4xx (``tests/support/fuzz_checks.py``, registered when Schemathesis loads this file as its
hooks). Prints requests, statuses and failures per operation, the seconds taken, the server's
memory before and after, and what the server logged as unexpected.

    .venv/bin/python benchmarks/fuzz.py [--examples 200] [--seed 12] [--max-time 600]
        [--docs FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import psutil

from common import free_port

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "tests"))

from support import fuzz_checks  # noqa: E402

CHECKS = "all"
"""Every check Schemathesis has, and ours (``tests/support/fuzz_checks.py``), which this module
registers when Schemathesis loads it as its hooks."""
fuzz_checks.register()


def write_corpus(folder: Path, passages: int) -> None:
    """Invented short passages, enough for every index and the graph to exist."""
    rng = random.Random(3)
    names = "Ada Brunel Curie Darwin Euler Faraday Gauss Hopper Ibn Joule Kepler Lovelace".split()
    places = "Lisbon Vienna Krakow Dublin Osaka Nairobi Hanoi Quito".split()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for i in range(passages):
            who, where, mentor = rng.choice(names), rng.choice(places), rng.choice(names)
            text = (f"{who} {i} was born in {where} and studied with {mentor} {i + 1}. "
                    f"{who} {i} later founded the {where} Institute.")
            out.write(json.dumps({"id": f"p{i}", "title": f"{who} {i}", "text": text}) + "\n")


def start_server(docs: Path, data: Path, embedder: str) -> tuple[subprocess.Popen[bytes], str,
                                                                   Path]:
    port = free_port()
    log = data.parent / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env["GRAPHREADY_EMBEDDER"] = embedder
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphready.cli", "serve", str(docs), "--data-dir", str(data),
         "--port", str(port)], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    return proc, f"http://127.0.0.1:{port}", log


def wait_built(url: str, timeout: float = 600.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            status = httpx.get(f"{url}/status", timeout=5).json()
            if status["graphrag_ready"] and not status["graphrag_initializing"]:
                return time.monotonic() - started
        except (httpx.TransportError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not finish its first build in {timeout:.0f} s")


def run_schemathesis(url: str, args: argparse.Namespace, report: Path) -> tuple[int, str]:
    """Schemathesis' runner over every operation; it keeps its cache in the report's folder."""
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "fuzz",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
               "--checks", CHECKS, "--max-examples", str(args.examples), "--seed",
               str(args.seed), "--workers", str(args.workers), "--no-color",
               "--suppress-health-check", "all", "--request-timeout", "60",
               "--report", "ndjson", "--report-ndjson-path", str(report)]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                          cwd=report.parent)
    return done.returncode, done.stdout + done.stderr


def tally(report: Path) -> tuple[dict[str, Counter[int]], list[str]]:
    """Response statuses per operation, and the failed checks, from Schemathesis' NDJSON
    event report (each finished scenario records its operation, interactions and checks)."""
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    failures: list[str] = []
    for line in report.read_text("utf-8").splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario.get("recorder", {})
        label = recorder.get("label", "?")
        for interaction in recorder.get("interactions", {}).values():
            response = interaction.get("response") or {}
            if "status_code" in response:
                statuses[label][response["status_code"]] += 1
        for checks in recorder.get("checks", {}).values():
            for check in checks:
                if check.get("status") == "failure":
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    text = " ".join(f"{failure.get('title', '')}: {failure.get('message', '')}"
                                    .split())
                    failures.append(f"{label} {check.get('name')}: {text[:300]}")
    return statuses, list(dict.fromkeys(failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, help="a documents folder (default: generated)")
    parser.add_argument("--passages", type=int, default=200)
    parser.add_argument("--embedder", default="hashing")
    parser.add_argument("--examples", type=int, default=200, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2, help="concurrent fuzzing clients")
    parser.add_argument("--max-time", type=int, default=0, help="seconds (0: no limit)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="graphready-fuzz-") as tmp:
        root = Path(tmp)
        docs = args.docs or root / "docs"
        if args.docs is None:
            write_corpus(docs, args.passages)
        proc, url, log = start_server(docs, root / "data", args.embedder)
        try:
            built = wait_built(url)
            rss_before = psutil.Process(proc.pid).memory_info().rss
            started = time.monotonic()
            code, output = run_schemathesis(url, args, root / "events.ndjson")
            seconds = time.monotonic() - started
            rss_after = psutil.Process(proc.pid).memory_info().rss
            alive = httpx.get(f"{url}/health", timeout=5).status_code
        finally:
            proc.terminate()
            proc.wait(30)
        statuses, failures = tally(root / "events.ndjson")
        unexpected = log.read_text("utf-8", "replace").count("unexpected error on")
    failed = output.find("FAILURES")
    print(output[failed: failed + 4000] if failed >= 0 else "", output[-2000:], sep="\n")
    print(f"first build {built:.1f} s; fuzzing {seconds:.1f} s; exit code {code}")
    print(f"{'operation':<40} {'requests':>8}  statuses")
    for label in sorted(statuses):
        counts = statuses[label]
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(counts.items()))
        print(f"{label:<40} {sum(counts.values()):>8}  {shown}")
    total = sum(sum(c.values()) for c in statuses.values())
    server_errors = sum(n for c in statuses.values() for s, n in c.items() if s >= 500)
    print(f"requests {total}, 5xx {server_errors}, check failures {len(failures)}, "
          f"'unexpected error' in the server log {unexpected}, /health after: {alive}")
    print(f"server RSS {rss_before / 2**20:.0f} MiB before, {rss_after / 2**20:.0f} MiB after")
    for failure in failures[:40]:
        print("FAILURE", failure)


if __name__ == "__main__":
    main()
