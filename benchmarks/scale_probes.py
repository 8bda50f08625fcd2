"""The in-process probes of ``scale_targets.py`` (``probe``, ``probe-change``,
``probe-keyword``): on a built index, or a corpus file, what the server and the graph stage do,
timed and profiled by cProfile (see that script's docstring)."""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import pstats
import resource
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from scale import percentile
from scale_targets import docs_folder, new_document, questions, titles


def profiled(call: Callable[[], Any], out: Path, top: int = 25) -> tuple[Any, float]:
    """``call()`` under cProfile, its top functions by cumulative time written to ``out`` (and
    the whole profile beside it, ``.prof``, for ``pstats``); its result and wall seconds."""
    profile = cProfile.Profile()
    started = time.perf_counter()
    result = profile.runcall(call)
    seconds = time.perf_counter() - started
    profile.dump_stats(out.with_suffix(".prof"))
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(top)
    out.write_text(text.getvalue())
    return result, seconds


def probe(args: argparse.Namespace) -> dict[str, Any]:
    """In this process, on the built index: the server's graph load (what each server process
    does at start and after each change) and each retrieval mode's questions, timed and
    profiled (``WORK/profile-*.txt``), with the RSS each adds."""
    from graphready.config import load_settings
    from graphready.retrieval.loading import graph_file, load_graph, load_vectors
    from graphready.retrieval.modes import MODES, Mode
    from graphready.retrieval.pipeline import Toolset, retrieve
    from graphready.stores.registry import open_stores

    settings = load_settings({}, data_dir=args.work / "data",
                             docs_dir=docs_folder(args.corpus, args.work))
    stores = open_stores(settings)
    me = psutil.Process()
    out: dict[str, Any] = {"rss_start_mib": me.memory_info().rss / 2**20}
    try:
        # a file of its own, so the arrays are built and written as after every change
        fresh = args.work / "probe" / graph_file(settings).name
        fresh.parent.mkdir(exist_ok=True)
        fresh.unlink(missing_ok=True)
        graph, out["graph_load_s"] = profiled(lambda: load_graph(stores, fresh),
                                              args.work / "profile-graph-load.txt")
        out["arrays_file_mib"] = fresh.stat().st_size / 2**20 if fresh.exists() else None
        out["rss_graph_mib"] = me.memory_info().rss / 2**20
        started = time.perf_counter()
        vectors = load_vectors(settings, stores, None)
        out["vectors_load_s"] = time.perf_counter() - started
        out["rss_vectors_mib"] = me.memory_info().rss / 2**20
        tools = Toolset(keyword=stores.keyword, vectors=vectors,
                        graph=graph.local if graph else None,
                        communities=graph.communities if graph else None)
        asked = questions(args.corpus, args.questions)
        for mode in MODES:
            retrieve(tools, asked[0], mode, 5)  # warm

            def ask_all(mode: Mode = mode) -> list[float]:
                times = []
                for question in asked:
                    started = time.perf_counter()
                    retrieve(tools, question, mode, 5)
                    times.append(time.perf_counter() - started)
                return times

            times, _ = profiled(ask_all, args.work / f"profile-{mode}.txt")
            out[f"{mode}_ms"] = {"p50": percentile(times, 50), "p95": percentile(times, 95)}
    finally:
        stores.close()
    return out


def probe_change(args: argparse.Namespace) -> dict[str, Any]:
    """In this process, on a copy of the built index (``WORK/probe/data``): the document added
    (an upload, the documents stage) and deleted again, the graph stage of each timed and
    profiled (``WORK/profile-change-add.txt``, ``-delete.txt``), in ``--updates`` community
    mode; the process's peak RSS after each (spaCy loaded first, as a held graph worker has, and
    the graph stage's modules imported first, timed apart)."""
    from graphready.config import load_settings
    from graphready.documents.uploads import Upload, UploadStore, uploads_folder
    from graphready.extraction.spacy_nlp import SpacyExtractor
    from graphready.indexing.stages import run_documents, run_graph
    from graphready.stores.registry import open_stores

    copy = args.work / "probe" / "data"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(args.work / "data" / "index", copy / "index")
    settings = load_settings({}, data_dir=copy, docs_dir=docs_folder(args.corpus, args.work),
                             community_updates=args.updates)
    doc = new_document(args.corpus, args.change_at)
    uploads = UploadStore(uploads_folder(copy))
    offline = SpacyExtractor(pipeline=settings.nlp_pipeline)
    offline.load()
    out: dict[str, Any] = {"updates": args.updates, "rss_spacy_mib": peak_mib()}
    started = time.perf_counter()  # what a worker's first change imports (igraph: matplotlib)
    importlib.import_module("graphready.indexing.graph_update")
    out["import_graph_update_s"] = round(time.perf_counter() - started, 2)
    out["rss_imported_mib"] = peak_mib()
    stores = open_stores(settings)
    try:
        for action in ("add", "delete"):
            if action == "add":
                uploads.put(Upload(doc["id"], doc["title"], doc["text"], f"{doc['id']}.txt",
                                   time.time()))
            else:
                uploads.remove(doc["id"])
            run_documents(settings, stores, lambda event: None)
            cpu = time.process_time()
            done, seconds = profiled(
                lambda: run_graph(settings, stores, lambda event: None, offline=offline),
                args.work / f"profile-change-{action}.txt")
            out[action] = {"graph_s": round(seconds, 2),
                           "graph_cpu_s": round(time.process_time() - cpu, 2),
                           "peak_rss_mib": peak_mib(), "counts": done.counts}
    finally:
        stores.close()
        shutil.rmtree(copy, ignore_errors=True)
    return out


def probe_keyword(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword search alone at the corpus's size: every passage indexed into a new keyword
    store (``WORK/probe/keyword.db``, as the documents stage cuts it), then the questions
    searched (10 hits, as the pipeline asks), and their titles alone."""
    from graphready.config import load_settings
    from graphready.documents.chunking import chunk_document
    from graphready.documents.types import Document
    from graphready.stores.sqlite.keyword import SqliteKeywordIndex

    settings = load_settings({}, data_dir=args.work / "probe",
                             docs_dir=docs_folder(args.corpus, args.work))
    folder = args.work / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("keyword.db*"):
        old.unlink()
    index = SqliteKeywordIndex(folder / "keyword.db")
    started = time.perf_counter()
    batch = []
    with args.corpus.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            doc = Document(row["id"], row["title"], row["text"], args.corpus.name, "")
            batch.extend(chunk_document(doc, settings.chunk_chars,
                                        settings.chunk_overlap_sentences))
            if len(batch) >= 5000:
                index.add(batch)
                batch = []
    index.add(batch)
    out: dict[str, Any] = {"index_s": round(time.perf_counter() - started, 1)}
    try:
        for name, asked in (("questions", questions(args.corpus, args.questions)),
                            ("titles", titles(args.corpus, args.questions))):
            times = []
            for question in asked:
                index.search(question, 10)  # its pages read once
                began = time.perf_counter()
                index.search(question, 10)
                times.append(time.perf_counter() - began)
            out[f"{name}_ms"] = {"p50": percentile(times, 50), "p95": percentile(times, 95)}
    finally:
        index.close()
    return out


def peak_mib() -> float:
    """This process's peak RSS so far (MiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
