"""What one document added, then deleted, costs the graph stage on a built 2Wiki index: the
stage's seconds, the rows it writes, and the peak RSS of the process that runs it (the graph
worker's part of a build).

The index is copied to a temporary folder first (the one given is only read). Each step runs in
a fresh child process, like a build worker: it uploads (or deletes) one document made of two
2Wiki passages under a new id (entities the corpus already has, so the change reaches existing
entities and communities), runs the documents stage, then times the graph stage. spaCy is
loaded before the stage starts (as a held worker does, ``indexing/prepare.py``), so that the
peak RSS printed beside it is the stage's own, over what the loaded model takes.

    .venv/bin/python benchmarks/graph_change.py --data-dir DIR [--rounds 2] [--updates stable]

``graph_s`` is the stage's wall time, ``graph_cpu_s`` its process CPU time (steadier on a busy
machine); ``*_written`` the rows the change wrote (a whole rebuild writes them all).

DIR must hold a built index of ../shared/data/2wikimultihopqa_hipporag with its documents
folder (``DIR/eval-corpus``, as ``graphready eval`` leaves it) and ``DIR/index``. After each
delete it prints whether the graph's content digests (``stores/digest.py``) equal the
original's. A graph written before the contribution index existed is rebuilt whole by the
first change (which writes the index); the changes after it are the in-place ones.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT

DOC_ID = "bench-change"


def _settings(data: Path, updates: str = "auto") -> Any:
    from graphready.config import load_settings

    return load_settings({}, data_dir=data, docs_dir=data / "eval-corpus",
                         community_updates=updates)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(data: Path, action: str, updates: str) -> dict[str, Any]:
    """In this process: add or delete the benchmark document, run the documents stage, then
    the graph stage (timed); what it cost."""
    from graphready.documents.uploads import Upload, UploadStore, uploads_folder
    from graphready.extraction.spacy_nlp import SpacyExtractor
    from graphready.indexing.stages import run_documents, run_graph
    from graphready.stores.registry import open_stores

    settings = _settings(data, updates)
    uploads = UploadStore(uploads_folder(settings.data_dir))
    if action == "add":
        lines = (data / "eval-corpus" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        passages = [json.loads(line) for line in lines[100:102]]
        text = " ".join(p["text"] for p in passages)
        uploads.put(Upload(DOC_ID, passages[0]["title"], text, f"{DOC_ID}.txt", time.time()))
    else:
        uploads.remove(DOC_ID)
    stores = open_stores(settings)
    try:
        documents = run_documents(settings, stores, lambda event: None)
        offline = SpacyExtractor(pipeline=settings.nlp_pipeline)
        offline.load()
        before = _rss_mib()
        started, cpu = time.perf_counter(), time.process_time()
        done = run_graph(settings, stores, lambda event: None, offline=offline)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        stores.close()
    return {"action": action, "graph_s": round(seconds, 2), "graph_cpu_s": round(cpu, 2),
            "chunks": documents.counts.get("chunks_added", 0)
            + documents.counts.get("chunks_removed", 0),
            "rss_before_mib": round(before), "peak_rss_mib": round(_rss_mib()),
            "counts": dict(done.counts)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--updates", choices=("exact", "stable"), default="exact",
                        help="GRAPHREADY_COMMUNITY_UPDATES for the changes")
    parser.add_argument("--step", choices=("add", "delete"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.data_dir, args.step, args.updates)))
        return 0
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "data"
        shutil.copytree(args.data_dir / "index", data / "index")
        shutil.copytree(args.data_dir / "eval-corpus", data / "eval-corpus")
        original = _graph_digest(data)
        for _ in range(args.rounds):
            for action in ("add", "delete"):
                out = subprocess.run(
                    [sys.executable, __file__, "--data-dir", str(data), "--step", action,
                     "--updates", args.updates],
                    check=True, capture_output=True, text=True, cwd=ROOT).stdout
                result = json.loads(out.strip().splitlines()[-1])
                if action == "delete":
                    result["graph_equals_the_original"] = _graph_digest(data) == original
                print(json.dumps(result), flush=True)
    return 0


def _graph_digest(data: Path) -> dict[str, str]:
    """The content digests of the graph (entities, relations, communities, reports)."""
    from graphready.stores.digest import content_digest

    digest = content_digest(_settings(data))
    return {k: digest[k] for k in ("entities", "relations", "communities", "reports")}


if __name__ == "__main__":
    sys.exit(main())
