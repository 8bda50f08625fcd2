"""Documents over HTTP, timed on a real `graphready serve` holding a real corpus (2Wiki by
default): seconds from `POST /documents` of one new document to its first citation in `/chat`
(keyword/vector answer), to its vectors and to the graph updated (only its chunks extracted,
only the affected communities re-summarised); then from `DELETE` to the first answer that no
longer cites it, and to every index without it. Prints its numbers (and JSON with --json).

    .venv/bin/python benchmarks/documents.py [--corpus ../shared/data/2wikimultihopqa_hipporag]
                                             [--data-dir DIR] [--rounds 3]
                                             [--community-updates exact|stable|auto]

A data dir given with --data-dir is reused: the first run builds the corpus (minutes), later
runs start warm and time only the changes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from common import free_port

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT.parent / "shared" / "data" / "2wikimultihopqa_hipporag"
KEY = "benchmark-key-0123456789"


def wait(check: Callable[[], bool], timeout: float, what: str, pause: float = 0.05) -> float:
    """Poll ``check`` until it holds; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if check():
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(pause)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def fact(round_no: int) -> tuple[str, str, str, str]:
    """A new document with a fact no passage of the corpus holds: id, title, text, question."""
    name = f"Quillfeather Observatory {round_no}"
    founder = ["Tobias Wrenfield", "Almira Castellane", "Ottokar Vennholm"][round_no % 3]
    text = (f"The {name} is an astronomical observatory on the coast of Tasmania. The {name} "
            f"was founded by the astronomer {founder} in {1880 + round_no}, who directed it "
            f"for thirty years and catalogued the southern variable stars there.")
    return f"bench-doc-{round_no}", name, text, f"Who founded the {name}?"


def cites(api: httpx.Client, question: str, doc_id: str, mode: str = "retrieval") -> bool:
    response = api.post("/chat", json={"message": question, "mode": mode, "top_k": 5})
    response.raise_for_status()
    return any(c["id"] == doc_id for c in response.json()["citations"])


def index_state(api: httpx.Client, doc_id: str) -> dict[str, str]:
    response = api.get(f"/documents/{doc_id}")
    if response.status_code == 404:
        return {}
    response.raise_for_status()
    states: dict[str, str] = response.json()["indexes"]
    return states


def idle(api: httpx.Client) -> bool:
    status = api.get("/status").json()
    return not status["building"] and bool(status["graphrag_ready"])


def rewritten(counts: dict[str, int]) -> int:
    """How many community reports a graph build wrote again (the others were reused)."""
    return counts["communities"] - counts["summaries_reused"]


def one_round(api: httpx.Client, round_no: int, timeout: float) -> dict[str, Any]:
    doc_id, title, text, question = fact(round_no)
    started = time.monotonic()
    response = api.post("/documents", json={"documents": [
        {"id": doc_id, "title": title, "text": text}]})
    response.raise_for_status()
    wait(lambda: cites(api, question, doc_id), timeout, "a citation")
    first_citation = time.monotonic() - started
    wait(lambda: index_state(api, doc_id).get("vectors") == "indexed", timeout, "the vectors")
    vectors = time.monotonic() - started
    wait(lambda: index_state(api, doc_id).get("graph") == "indexed", timeout, "the graph")
    graph = time.monotonic() - started
    graph_counts = api.get("/status").json()["stages"]["graph"]["counts"]
    graph_cites = cites(api, question, doc_id, mode="graph_local")
    wait(lambda: idle(api), timeout, "the build to end")

    started = time.monotonic()
    api.delete(f"/documents/{doc_id}").raise_for_status()
    wait(lambda: not cites(api, question, doc_id), timeout, "no citation")
    gone_from_answers = time.monotonic() - started
    wait(lambda: idle(api), timeout, "the removal build")
    removed_everywhere = time.monotonic() - started
    delete_counts = api.get("/status").json()["stages"]["graph"]["counts"]
    return {"post_to_first_citation_s": round(first_citation, 2),
            "post_to_vectors_s": round(vectors, 2), "post_to_graph_s": round(graph, 2),
            "graph_local_cites_it": graph_cites,
            "graph_after_add": graph_counts,
            "delete_to_no_citation_s": round(gone_from_answers, 2),
            "delete_to_removed_from_every_index_s": round(removed_everywhere, 2),
            "graph_after_delete": delete_counts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_SET,
                        help="a folder with corpus.jsonl")
    parser.add_argument("--data-dir", type=Path, help="reuse this data dir (warm runs)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--community-updates", choices=("auto", "exact", "stable"),
                        default="auto", help="GRAPHREADY_COMMUNITY_UPDATES of the server")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="graphready-docs-bench-"))
    docs = work / "docs"
    docs.mkdir()
    (docs / "corpus.jsonl").symlink_to((args.corpus / "corpus.jsonl").resolve())
    data = args.data_dir or work / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env["GRAPHREADY_API_KEY"] = KEY
    env["GRAPHREADY_COMMUNITY_UPDATES"] = args.community_updates
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphready.cli", "serve", str(docs), "--data-dir", str(data),
         "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120.0,
                       headers={"Authorization": f"Bearer {KEY}"})
    try:
        built = wait(lambda: idle(api), args.timeout, "the corpus to be built", pause=1.0)
        counts = api.get("/status").json()["counts"]
        print(f"corpus ready after {built:.1f} s: {json.dumps(counts)}", flush=True)
        rounds = []
        for round_no in range(args.rounds):
            result = one_round(api, round_no, args.timeout)
            rounds.append(result)
            print(f"round {round_no}: {json.dumps(result)}", flush=True)
        summary = {key: statistics.median(r[key] for r in rounds) for key in (
            "post_to_first_citation_s", "post_to_vectors_s", "post_to_graph_s",
            "delete_to_no_citation_s", "delete_to_removed_from_every_index_s")}
        for change in ("add", "delete"):
            summary[f"reports_written_after_{change}"] = statistics.median(
                rewritten(r[f"graph_after_{change}"]) for r in rounds)
        after = api.get("/status").json()["counts"]
        print(f"median of {len(rounds)} rounds: {json.dumps(summary)}")
        print(f"counts before {json.dumps(counts)}\ncounts after  {json.dumps(after)}")
        if args.json is not None:
            args.json.write_text(json.dumps({"counts": counts, "after": after,
                                             "rounds": rounds, "median": summary}, indent=2))
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
