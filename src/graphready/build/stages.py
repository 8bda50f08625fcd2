"""The build stages. Each brings one index in line with the documents, incrementally: what is
already stored under a content-hash id is kept, what is gone is removed, and an index is marked
synced (complete) only at the very end, so a stage killed half-way is redone on the next run.

    documents: scan the folder, load changed files, chunk, update catalog and keyword index
    vectors:   embed the chunks that have no vector yet
    graph:     extract entities and relations from new chunks, assemble the graph, detect
               hierarchical communities, summarise the changed ones, replace the graph at once
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

from graphready.config import Settings
from graphready.documents.types import Chunk, SkippedFile
from graphready.errors import BuildError, StoreError
from graphready.knowledge import KnowledgeGraph
from graphready.stores.base import Catalog, KeywordIndex
from graphready.stores.registry import Stores

from .events import Event, Progress, StageDone
from .lease import TTL_S, LeaseKeeper, new_owner, wait_for_builder

Report = Callable[[Event], None]
T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def search_text(chunk: Chunk) -> str:
    """The text that is embedded for a chunk: its title, then its text."""
    if chunk.title and not chunk.text.startswith(chunk.title):
        return f"{chunk.title}\n{chunk.text}"
    return chunk.text


def _check_injected_failure(settings: Settings, stage: str) -> None:
    if settings.fail_stage == stage:
        raise BuildError(f"injected failure in the {stage} stage (GRAPHREADY_FAIL_STAGE={stage})")


def _reconcile_keyword(catalog: Catalog, keyword: KeywordIndex) -> None:
    """Make the keyword index hold exactly the catalog's chunks (after a crash, say)."""
    wanted = catalog.chunk_ids()
    have = keyword.ids()
    if have - wanted:
        keyword.remove(have - wanted)
    missing = sorted(wanted - have)
    for batch in batches(missing, 500):
        keyword.add(catalog.get_chunks(batch))


def run_documents(settings: Settings, stores: Stores, report: Report) -> StageDone:
    """Bring the catalog and the keyword index in line with the documents folder."""
    from graphready.documents.chunking import chunk_document
    from graphready.documents.loaders import load_source, scan_folder

    started = time.perf_counter()
    _check_injected_failure(settings, "documents")
    catalog, keyword = stores.catalog, stores.keyword
    root = settings.docs_dir
    files = scan_folder(root) if root is not None else []
    known = catalog.sources()
    present = {f.path for f in files}
    changed = [f for f in files if known.get(f.path) != f.file_hash]
    removed = sorted(set(known) - present)
    kept_skips = [s for s in catalog.skipped() if _skip_file(s) in present
                  and _skip_file(s) not in {f.path for f in changed}]
    new_skips: list[SkippedFile] = []
    added = dropped = 0
    total = len(changed) + len(removed)
    report(Progress("documents", 0, total))
    for done, source in enumerate(changed, start=1):
        loaded = load_source(root, source) if root is not None else None
        if loaded is None:
            continue
        new_skips.extend(loaded.skipped)
        chunks = [c for d in loaded.documents for c in chunk_document(
            d, settings.chunk_chars, settings.chunk_overlap_sentences)]
        change = catalog.apply_source(source, loaded.documents, chunks)
        keyword.remove(change.removed_chunk_ids)
        fresh = set(change.added_chunk_ids)
        keyword.add([c for c in chunks if c.id in fresh])
        added += len(change.added_chunk_ids)
        dropped += len(change.removed_chunk_ids)
        report(Progress("documents", done, total))
    for done, path in enumerate(removed, start=len(changed) + 1):
        change = catalog.remove_source(path)
        keyword.remove(change.removed_chunk_ids)
        dropped += len(change.removed_chunk_ids)
        report(Progress("documents", done, total))
    catalog.set_skipped([*kept_skips, *new_skips])
    _reconcile_keyword(catalog, keyword)
    keyword.mark_synced(catalog.fingerprint())
    return StageDone(
        stage="documents",
        seconds=round(time.perf_counter() - started, 3),
        source="built" if total else "loaded",
        counts={"files_changed": len(changed), "files_removed": len(removed),
                "chunks_added": added, "chunks_removed": dropped,
                "skipped_files": len(kept_skips) + len(new_skips)},
    )


def _skip_file(skipped: SkippedFile) -> str:
    """The file a skip record is about (jsonl line records are ``path:LINE``)."""
    head, sep, tail = skipped.path.rpartition(":")
    return head if sep and tail.isdigit() else skipped.path


def run_vectors(settings: Settings, stores: Stores, report: Report) -> StageDone:
    """Embed every chunk that has no vector from the configured embedder yet."""
    started = time.perf_counter()
    _check_injected_failure(settings, "vectors")
    catalog, vectors = stores.catalog, stores.vectors
    fingerprint = catalog.fingerprint()
    from graphready.embeddings.registry import create_embedder

    embedder = create_embedder(settings)
    if vectors.model_id() == embedder.model_id and vectors.synced_fingerprint() == fingerprint:
        return _loaded("vectors", started)
    if vectors.model_id() != embedder.model_id:
        vectors.set_model_id(embedder.model_id)
    wanted = catalog.chunk_ids()
    have = vectors.ids()
    if have - wanted:
        vectors.remove(have - wanted)
    missing = sorted(wanted - have)
    report(Progress("vectors", 0, len(missing)))
    done = 0
    for batch in batches(missing, max(64, settings.embed_batch * 4)):
        chunks = catalog.get_chunks(batch)
        vectors.add([c.id for c in chunks], embedder.embed([search_text(c) for c in chunks]))
        done += len(batch)
        report(Progress("vectors", done, len(missing)))
    if catalog.fingerprint() == fingerprint:
        vectors.mark_synced(fingerprint)
    return StageDone(stage="vectors", seconds=round(time.perf_counter() - started, 3),
                     source="built", counts={"vectors_added": len(missing)})


def run_graph(settings: Settings, stores: Stores, report: Report) -> StageDone:
    """Extract what is new, then assemble, cluster and summarise, and replace the graph."""
    started = time.perf_counter()
    catalog, graph = stores.catalog, stores.graph
    fingerprint = catalog.fingerprint()
    if graph.synced_fingerprint() == fingerprint and settings.fail_stage != "graph":
        return _loaded("graph", started)
    owner = new_owner()
    if not graph.acquire_lease(owner, TTL_S, "graph", 0, 0) and \
            wait_for_builder(graph, owner, fingerprint, report):
        return StageDone(stage="graph", seconds=round(time.perf_counter() - started, 3),
                         source="loaded", counts={"built_by_another_process": 1})
    try:
        keeper = LeaseKeeper(graph, owner, report)
        extracted = _extract_missing(settings, catalog, stores, keeper)
        _check_injected_failure(settings, "graph")
        knowledge, reused = _assemble(settings, catalog, stores, keeper)
        graph.replace_graph(knowledge, fingerprint)
    finally:
        with contextlib.suppress(StoreError):
            graph.release_lease(owner)
    return StageDone(
        stage="graph", seconds=round(time.perf_counter() - started, 3), source="built",
        counts={"chunks_extracted": extracted, "entities": len(knowledge.entities),
                "relations": len(knowledge.relations),
                "communities": len(knowledge.communities), "summaries_reused": reused},
    )


def _extract_missing(settings: Settings, catalog: Catalog, stores: Stores, report: Report) -> int:
    from graphready.extraction.spacy_nlp import SpacyExtractor

    graph = stores.graph
    wanted = catalog.chunk_ids()
    have = graph.ids()
    if have - wanted:
        graph.remove_extractions(have - wanted)
    missing = sorted(wanted - have)
    report(Progress("graph.extract", 0, len(missing)))
    extractor = SpacyExtractor()
    done = 0
    for batch in batches(missing, 128):
        chunks = catalog.get_chunks(batch)
        graph.add_extractions(extractor.extract(chunks))
        done += len(batch)
        report(Progress("graph.extract", done, len(missing)))
    return len(missing)


def _assemble(
    settings: Settings, catalog: Catalog, stores: Stores, report: Report
) -> tuple[KnowledgeGraph, int]:
    from graphready.communities.hierarchy import detect_communities
    from graphready.communities.summaries import summarize_communities
    from graphready.extraction.assemble import assemble_graph

    report(Progress("graph.communities", 0, 1))
    entities, relations = assemble_graph(stores.graph.iter_extractions())
    nodes = detect_communities(
        [e.id for e in entities],
        [(r.source, r.target, r.weight) for r in relations],
        max_size=settings.community_max_size,
        max_levels=settings.community_levels,
    )
    report(Progress("graph.communities", 1, 1))
    previous_graph = stores.graph.load_graph()
    previous = {c.id: c for c in previous_graph.communities} if previous_graph else {}
    report(Progress("graph.summaries", 0, len(nodes)))
    texts = {c.id: c.text for c in catalog.iter_chunks()}
    communities = summarize_communities(
        nodes, {e.id: e for e in entities}, relations, texts, previous
    )
    report(Progress("graph.summaries", len(nodes), len(nodes)))
    reused = sum(1 for c in communities if c.id in previous)
    return KnowledgeGraph(tuple(entities), tuple(relations), tuple(communities)), reused


def _loaded(stage: str, started: float) -> StageDone:
    return StageDone(stage=stage, seconds=round(time.perf_counter() - started, 3),
                     source="loaded")


STAGES: Mapping[str, Callable[[Settings, Stores, Report], StageDone]] = MappingProxyType({
    "documents": run_documents,
    "vectors": run_vectors,
    "graph": run_graph,
})
