"""What loading the graph costs a server process, as the server loads it
(``retrieval/loading.py``'s ``load_graph`` with the data dir's graph file): the RSS it adds and
keeps, its peak RSS during the load (Linux's VmHWM, reset just before), its seconds, and what
each part of the result keeps (the RSS given back when it is dropped: the graph API's view with
the stored graph it holds, the community index, graph-local search's index). The server loads
the vectors first; ``--vectors`` does too (the question embedder and the stored vectors, with
their own RSS and peak), so that the two loads can be compared.

Each run is a fresh process on a copy of the data dir's index (the graph file is written there
by the first run if it is missing or stale, and mapped by the later runs, as every server
process after the first maps it); ``--src`` measures another checkout's ``src`` (the same
benchmark before a change).

    .venv/bin/python benchmarks/graph_load.py --data-dir DIR [--runs 3] [--src OTHER/src]
        [--vectors]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _status(field: str) -> float:
    """A ``/proc/self/status`` field in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _rss() -> float:
    from graphready.heap import release_free_memory

    gc.collect()
    release_free_memory()
    return _status("VmRSS")


def child(data_dir: Path, vectors: bool) -> None:
    """Open the stores, load the graph (the vectors first with ``vectors``), print one JSON
    line of measurements."""
    from graphready.config import load_settings
    from graphready.retrieval.loading import graph_file, load_graph, load_vectors
    from graphready.stores.registry import open_stores

    settings = load_settings({}, data_dir=data_dir)
    stores = open_stores(settings)
    stores.graph.synced_fingerprint()  # the connection opened before the baseline
    first: dict[str, float] = {}
    if vectors:
        start = _rss()
        Path("/proc/self/clear_refs").write_text("5")
        search = load_vectors(settings, stores, None)
        assert search is not None, "no completed vectors in this data dir"
        search.search("Who directed the film?", 10)  # the vectors are read at the first search
        first = {"start": start, "peak": _status("VmHWM"), "loaded": _rss()}
    before = _rss()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    started = time.perf_counter()
    tools = load_graph(stores, graph_file(settings))
    seconds = time.perf_counter() - started
    peak = _status("VmHWM")
    assert tools is not None, "no completed graph in this data dir"
    loaded = _rss()
    kept = {}
    for part in ("view", "communities", "local"):
        at = _rss()
        object.__setattr__(tools, part, None)  # what holding this part costs
        kept[part] = at - _rss()
    print(json.dumps({"before": before, "loaded": loaded, "peak": peak, "seconds": seconds,
                      "counts": tools.counts, "kept": kept, "vectors": first}))
    stores.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--vectors", action="store_true",
                        help="load the vectors and the question embedder first, as the server does")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.data_dir, args.vectors)
        return 0
    with tempfile.TemporaryDirectory(prefix="graphready-graph-load-") as work:
        data = Path(work) / "data"
        shutil.copytree(args.data_dir / "index", data / "index",
                        ignore=shutil.ignore_patterns("*.lock"))
        env = {**os.environ, "PYTHONPATH": str(args.src.resolve())}
        for run in range(args.runs):
            command = [sys.executable, __file__, "--child", "--data-dir", str(data)]
            out = subprocess.run(command + (["--vectors"] if args.vectors else []), env=env,
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            if run == 0:
                c = r["counts"]
                print(f"{c['entities']:,} entities, {c['relations']:,} relations, "
                      f"{c['communities']:,} communities ({args.src})")
            k, v = r["kept"], r["vectors"]
            if v:
                print(f"run {run + 1}: vectors and question embedder: RSS {v['start']:.0f} MiB "
                      f"before, {v['loaded']:.0f} after (+{v['loaded'] - v['start']:.1f}), "
                      f"peak {v['peak']:.0f} (+{v['peak'] - v['start']:.1f})")
            print(f"run {run + 1}: RSS {r['before']:.0f} MiB before the load, "
                  f"{r['loaded']:.0f} after (+{r['loaded'] - r['before']:.1f}), "
                  f"peak {r['peak']:.0f} (+{r['peak'] - r['before']:.1f}), "
                  f"{r['seconds']:.1f} s; kept: view {k['view']:.1f} MiB, "
                  f"communities {k['communities']:.1f}, graph-local {k['local']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
