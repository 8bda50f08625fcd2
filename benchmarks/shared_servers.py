"""Servers that keep no state of their own, measured: one FalkorDB (graph, vectors and the
shared catalog, ``GRAPHREADY_CATALOG_URL``), ``graphready index`` of the first ``--passages``
passages of 2Wiki into it, then two servers A and B with empty data dirs and no folder.

Prints: the index build's wall time; for A (a server started on a built deployment with an
empty data dir) the seconds to its first answer and to graph ready; the seconds from an upload
to A returning to B citing the document, and to B listing it ``indexed`` in every index (its
graph included), and A's and B's last graph stage (built or found built, its seconds, the
seconds to load the graph); the seconds from a DELETE on B returning to A's next answer (which never
cites it: checked).

    .venv/bin/python benchmarks/shared_servers.py --passages 6119

``--community-updates exact|stable`` sets the servers' ``GRAPHREADY_COMMUNITY_UPDATES``
(offline, ``auto`` is ``exact``). ``--store-dir DIR`` keeps FalkorDB's data in ``DIR`` (saved
when the run ends): a run that finds ``DIR/dump.rdb`` loads it and skips the index build, so a
2Wiki deployment is built once and measured again (the run's upload is deleted at its end;
copy ``dump.rdb`` aside to start each run from the same state).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import support.falkordb_server as falkordb_server  # noqa: E402
from support.falkordb_server import FalkorDBServer  # noqa: E402
from support.server import ServerProcess  # noqa: E402

CORPUS = ROOT.parent / "shared/data/2wikimultihopqa_hipporag/corpus.jsonl"
NEW = {"id": "bench-new", "title": "The Quillon Harbour",
       "text": "The Quillon Harbour was dredged by the engineer Tobias Venkman in 1901."}
QUESTION = "Who dredged the Quillon Harbour?"
TIMEOUT_S = 900.0
LOAD_TIMEOUT_S = 600.0
"""How long FalkorDB may take to load a saved 2Wiki deployment (a test's server has 10 s)."""


def cites(server: ServerProcess, doc_id: str) -> bool:
    response = server.chat(QUESTION)
    return response.status_code == 200 and doc_id in {
        c["id"] for c in response.json()["citations"]}


def answers(server: ServerProcess) -> bool:
    return server.chat(QUESTION).status_code == 200


def indexed(server: ServerProcess, doc_id: str) -> bool:
    response = server.client.get(f"/documents/{doc_id}")
    body: dict[str, Any] = response.json() if response.status_code == 200 else {}
    return body.get("state") == "indexed"


def settled(server: ServerProcess) -> bool:
    status = server.status()
    return bool(status["graphrag_ready"]) and not status["building"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=6119)
    parser.add_argument("--community-updates", choices=("auto", "exact", "stable"),
                        default="auto", help="GRAPHREADY_COMMUNITY_UPDATES of the servers")
    parser.add_argument("--store-dir", type=Path, default=None,
                        help="FalkorDB's data dir, kept: a saved deployment skips the index")
    args = parser.parse_args()
    saved = args.store_dir is not None and (args.store_dir / "dump.rdb").exists()
    falkordb_server.START_TIMEOUT_S = LOAD_TIMEOUT_S
    store = FalkorDBServer(args.store_dir, persistent=args.store_dir is not None)
    with tempfile.TemporaryDirectory() as temp, store as falkordb:
        work = Path(temp)
        docs = work / "docs"
        docs.mkdir()
        with CORPUS.open(encoding="utf-8") as rows:
            lines = [line for _, line in zip(range(args.passages), rows, strict=False)]
        (docs / "corpus.jsonl").write_text("".join(lines), "utf-8")
        env = {"GRAPHREADY_EMBEDDER": "hashing",
               "GRAPHREADY_GRAPH_URL": f"{falkordb.url}/bench_graph",
               "GRAPHREADY_VECTOR_URL": f"{falkordb.url}/bench_vectors",
               "GRAPHREADY_CATALOG_URL": f"redis://{falkordb.host}:{falkordb.port}/0",
               "GRAPHREADY_COMMUNITY_UPDATES": args.community_updates}
        full = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
        started = time.monotonic()
        if saved:
            print(f"the deployment saved in {args.store_dir} loaded", flush=True)
        else:
            subprocess.run([sys.executable, "-m", "graphready.cli", "index", str(docs),
                            "--data-dir", str(work / "builder")], env={**full, **env},
                           check=True, capture_output=True, timeout=TIMEOUT_S)
            print(f"index of {len(lines)} passages into the shared stores: "
                  f"{time.monotonic() - started:.1f} s", flush=True)
        a = ServerProcess(None, work / "a", env)
        b = ServerProcess(None, work / "b", env)
        try:
            first = a.wait_until(lambda: answers(a), TIMEOUT_S, "A's first answer")
            ready = a.wait_until(lambda: bool(a.status()["graphrag_ready"]), TIMEOUT_S,
                                 "A's graph")
            print(f"A (empty data dir): first answer {first:.1f} s, graph ready "
                  f"{ready + first:.1f} s after start", flush=True)
            for server in (a, b):  # their first builds found everything built: let them end
                server.wait_until(lambda s=server: settled(s), TIMEOUT_S, "the first build")
            assert a.client.post("/documents", json={"documents": [NEW]}).status_code == 202
            cited = b.wait_until(lambda: cites(b, NEW["id"]), TIMEOUT_S, "B to cite it")
            print(f"upload to A -> cited by B: {cited:.2f} s", flush=True)
            graph = b.wait_until(lambda: indexed(b, NEW["id"]), TIMEOUT_S, "B's graph")
            print(f"upload to A -> indexed on B (graph included): {cited + graph:.1f} s",
                  flush=True)
            for name, server in (("A", a), ("B", b)):  # who built the graph, who loaded it
                timing = server.status()["timings"].get("graph") or {}
                print(f"  {name}'s last graph stage: {timing.get('source')} in "
                      f"{timing.get('seconds')} s, loaded in {timing.get('load_seconds')} s",
                      flush=True)
            assert b.client.delete(f"/documents/{NEW['id']}").status_code == 200
            start = time.monotonic()
            assert not cites(a, NEW["id"])
            print(f"DELETE on B returned -> A's next answer (not citing it): "
                  f"{time.monotonic() - start:.2f} s")
        finally:
            a.stop()
            b.stop()


if __name__ == "__main__":
    main()
