"""What graph-local search's graph costs each server process: built in the process's memory
(as every process did before the graph file; ``--built-src`` an older checkout's
``src`` to measure that code) against mapped read-only from the graph file
(``retrieval/graph_file.py``) by several processes at once.

Each variant runs in fresh processes on a built data dir: the stored graph is loaded first (a
server holds it anyway, for the graph API and the communities), then the graph-local index is
built or mapped and asked ``--questions`` questions; the process's private memory (USS) and
RSS added by that step are printed, and, with ``--processes`` processes mapping the file at
once, each one's proportional share (PSS) of it.

    .venv/bin/python benchmarks/graph_file.py --data-dir DIR --questions DEV.jsonl [--processes 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil

KEY = "benchmark"


def memory() -> dict[str, float]:
    """USS, PSS and RSS in MiB, after a collection and the free heap returned."""
    from graphready.heap import release_free_memory

    gc.collect()
    release_free_memory()
    info = psutil.Process().memory_full_info()
    return {name: getattr(info, name) / 2**20 for name in ("uss", "pss", "rss")}


def child(mode: str, data_dir: Path, path: Path, questions: list[str]) -> None:
    """Load the stored graph, then build or map the index; print what that added; wait."""
    from graphready.config import load_settings
    from graphready.retrieval.graph_local import GraphIndex
    from graphready.stores.registry import open_stores

    stores = open_stores(load_settings({}, data_dir=data_dir))
    graph = stores.graph.load_graph()
    assert graph is not None
    titles: dict[str, list[str]] = {}
    for chunk in stores.catalog.iter_chunks():
        titles.setdefault(chunk.title, []).append(chunk.id)
    before = memory()
    if mode == "built":
        index = GraphIndex(graph, titles)
    else:
        from graphready.retrieval.graph_file import open_graph_file

        arrays = open_graph_file(path, KEY)
        assert arrays is not None, "the graph file is missing"
        index = GraphIndex.from_arrays(arrays)
    for question in questions:
        index.search(question, 40)
    after = memory()
    print(json.dumps({name: after[name] - before[name] for name in after}
                     | {"rss_total": after["rss"]}), flush=True)
    sys.stdin.readline()  # held until the parent has measured every process


def run(mode: str, count: int, args: argparse.Namespace, path: Path) -> list[dict[str, Any]]:
    """``count`` processes of ``mode`` alive at once; each one's figures."""
    procs = [subprocess.Popen([sys.executable, __file__, "--child", mode, "--data-dir",
                               str(args.data_dir), "--file", str(path), "--questions",
                               str(args.questions), "--limit", str(args.limit)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=os.environ | ({"PYTHONPATH": str(args.built_src)}
                                                if mode == "built" and args.built_src else {}))
             for _ in range(count)]
    rows = []
    for proc in procs:
        assert proc.stdout is not None
        rows.append(json.loads(proc.stdout.readline()))
    shares = [psutil.Process(p.pid).memory_full_info().pss / 2**20 for p in procs]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    return [row | {"pss_now": share} for row, share in zip(rows, shares, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--built-src", type=Path,
                        help="the src folder of the code whose built index to measure "
                        "(e.g. a checkout before the graph file); default: this one")
    parser.add_argument("--child")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    with args.questions.open() as f:
        questions = [json.loads(line)["question"] for line in f][: args.limit]
    if args.child:
        child(args.child, args.data_dir, args.file, questions)
        return
    from graphready.config import load_settings
    from graphready.retrieval.graph_arrays import build_arrays
    from graphready.retrieval.graph_file import write_graph_file
    from graphready.retrieval.loading import _titles
    from graphready.stores.registry import open_stores

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph-local.arrays"
        stores = open_stores(load_settings({}, data_dir=args.data_dir))
        graph = stores.graph.load_graph()
        assert graph is not None
        arrays = build_arrays(graph, _titles(stores)[0], 3.0)
        write_graph_file(path, arrays, KEY)
        stores.close()
        print(f"{args.data_dir}: {arrays.df.size:,} entities, {arrays.chunk_offsets.size - 1:,} "
              f"passages, {arrays.indices.size // 2:,} edges; graph file "
              f"{path.stat().st_size / 2**20:.1f} MiB; MiB added by the index, "
              f"{len(questions)} questions asked")
        print(f"{'variant':<28} {'USS':>7} {'RSS':>7} {'PSS now':>8} {'process RSS':>12}")
        for mode, count in (("built", 1), ("mapped", 1), ("built", args.processes),
                            ("mapped", args.processes)):
            for i, row in enumerate(run(mode, count, args, path)):
                label = f"{mode}, {i + 1} of {count} at once"
                print(f"{label:<28} {row['uss']:>7.1f} {row['rss']:>7.1f} "
                      f"{row['pss_now']:>8.1f} {row['rss_total']:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
