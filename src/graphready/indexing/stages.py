"""The build stages. Each brings one index in line with the documents, incrementally: what is
already stored under a content-hash id is kept, what is gone is removed, and an index is marked
synced (complete) only at the very end, so a stage killed half-way is redone on the next run.

    documents: scan the folder, load changed files, chunk, update catalog and keyword index
    vectors:   embed the chunks that have no vector yet
    graph:     extract entities and relations from new chunks, assemble the graph (in place:
               only the entities a change reaches), detect hierarchical communities, report
               the changed ones, write the graph at once (``indexing/graph_update.py``)

With a queue (``GRAPHREADY_QUEUE_URL``) the chunks' embedding and extraction are jobs that
``graphready worker`` processes do (``queue/``), with :class:`ChunkExtractor` and
:func:`embed_chunks` as here; the stage's lease holder enqueues them, waits, and does the rest.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from graphready.config import Settings, Stage
from graphready.curation.log import log_path
from graphready.curation.log import settled as edits_settled
from graphready.documents.types import Chunk, SkippedFile
from graphready.errors import BuildError, LLMError
from graphready.knowledge import ChunkExtraction
from graphready.llm.refusals import Refusals
from graphready.redact import redact, redact_url
from graphready.settings_spec import env_name
from graphready.stores.base import Catalog, IncrementalGraphStore, KeywordIndex, Vectors
from graphready.stores.registry import Stores

from .events import Event, Progress, StageDone
from .lease import leased

if TYPE_CHECKING:
    from graphready.embeddings.base import Embedder
    from graphready.extraction.spacy_nlp import SpacyExtractor
    from graphready.llm.cache import CachedChatModel
    from graphready.llm.gate import ModelGate

Report = Callable[[Event], None]
EMBED_WINDOW = 256
"""Chunks the vectors stage hands the embedder at once and commits at once (~4 s of one core
with MiniLM: small enough to renew the build lease often on a busy machine)."""
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


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> Vectors:
    """The vectors of ``chunks``, as the vectors stage stores them."""
    return embedder.embed([search_text(c) for c in chunks])


def _check_injected_failure(settings: Settings, stage: Stage) -> None:
    if settings.fail_stage == stage:
        raise BuildError(f"injected failure in the {stage} stage "
                         f"({env_name('fail_stage')}={stage})")


def _missing(catalog: Catalog, have: set[str], remove: Callable[[set[str]], None]) -> list[str]:
    """Align a derived store that holds the chunks ``have`` with the catalog: ``remove`` the
    chunks the catalog no longer has; the catalog's chunk ids the store lacks, in id order (the
    order a stage adds them in)."""
    wanted = catalog.chunk_ids()
    if have - wanted:
        remove(have - wanted)
    return sorted(wanted - have)


def _reconcile_keyword(catalog: Catalog, keyword: KeywordIndex) -> None:
    """Make the keyword index hold exactly the catalog's chunks (after a crash, say)."""
    for batch in batches(_missing(catalog, keyword.ids(), keyword.remove), 500):
        keyword.add(catalog.get_chunks(batch))


def run_documents(settings: Settings, stores: Stores, report: Report) -> StageDone:
    """Bring the catalog and the keyword index in line with the documents folder and the
    documents uploaded over HTTP (``documents/uploads.py``), two sources handled alike. Each
    changed file of the folder is read in a child process under the parse budgets
    (``documents/sandbox.py``): one whose budget runs out is skipped with the reason."""
    from graphready.documents.chunking import chunk_document
    from graphready.documents.loaders import LoadResult, scan_folder
    from graphready.documents.sandbox import ParseBudget, Sandbox
    from graphready.documents.uploads import UploadStore, is_upload, uploads_folder

    started = time.perf_counter()
    _check_injected_failure(settings, "documents")
    catalog, keyword = stores.catalog, stores.keyword
    root = settings.docs_dir
    uploads = UploadStore(uploads_folder(settings.data_dir))
    files = [*(scan_folder(root) if root is not None else []), *uploads.scan()]
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
    budget = ParseBudget(settings.parse_cpu_s, settings.parse_memory_mb)
    with Sandbox(budget) as parsers:  # its child starts with the first file of the folder
        folder = [f for f in changed if not is_upload(f.path)]  # read in order, sent ahead
        read = parsers.load_sources(root, folder) if root is not None else iter([])
        for done, source in enumerate(changed, start=1):
            loaded: LoadResult | None = (
                uploads.load(source) if is_upload(source.path)
                else next(read) if root is not None else None)
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


def run_vectors(settings: Settings, stores: Stores, report: Report,
                embedder: Embedder | None = None) -> StageDone:
    """Embed every chunk that has no vector from the configured embedder yet. Processes that
    share the vector store embed once: the one holding the store's build lease embeds, the
    others wait (reporting its progress as ``vectors.other_builder``) and use what it stored.
    ``embedder``: one the worker loaded ahead (``indexing/prepare.py``), else the configured one."""
    started = time.perf_counter()
    _check_injected_failure(settings, "vectors")
    catalog, vectors = stores.catalog, stores.vectors
    fingerprint = catalog.fingerprint()
    from graphready.embeddings.registry import create_embedder

    if embedder is None:
        embedder = create_embedder(settings)

    def current() -> bool:
        return (vectors.model_id() == embedder.model_id
                and vectors.synced_fingerprint() == fingerprint)

    if current():
        return _loaded("vectors", started)
    with leased(vectors, "vectors", fingerprint, report, built=current) as keeper:
        if keeper is None:
            return _built_elsewhere("vectors", started)
        if vectors.model_id() != embedder.model_id:
            vectors.set_model_id(embedder.model_id)
        missing = _missing(catalog, vectors.ids(), vectors.remove)
        keeper(Progress("vectors", 0, len(missing)))
        done = 0
        if settings.queue_url is not None:  # the workers embed (queue/dispatch.py)
            from graphready.queue.dispatch import run_on_queue

            run_on_queue(settings, "embed", missing, catalog, embedder.model_id,
                         lambda n: keeper(Progress("vectors", n, len(missing))))
            _check_stored(vectors.ids(), missing, "vectors")
        here = missing if settings.queue_url is None else []
        # Windows of 256: the embedder sorts each by length, so its batches are little
        # padded (ids are hashes: any window is a sample of the lengths); one commit each.
        for batch in batches(here, max(EMBED_WINDOW, settings.embed_batch)):
            chunks = catalog.get_chunks(batch)
            vectors.add([c.id for c in chunks], embed_chunks(embedder, chunks))
            done += len(batch)
            keeper(Progress("vectors", done, len(missing)))
        if catalog.fingerprint() == fingerprint:
            vectors.mark_synced(fingerprint)
    return StageDone(stage="vectors", seconds=round(time.perf_counter() - started, 3),
                     source="built", counts={"vectors_added": len(missing)})


def run_graph(settings: Settings, stores: Stores, report: Report,
              gate: ModelGate | None = None, offline: SpacyExtractor | None = None) -> StageDone:
    """Extract what is new, then assemble, cluster and summarise, and replace the graph. With an
    LLM configured (``GRAPHREADY_LLM_BASE_URL``), it extracts and writes the community reports
    (a bad reply, or a prompt the model refuses, falls back to the offline way for that chunk
    or community, counted, the first refusals named in ``notes``; an outage fails the stage,
    which a retry resumes from the stored extractions and the LLM cache). The store
    records which extractor wrote its extractions: another one re-extracts every chunk. The
    LLM's calls go through ``gate`` (the worker's, which questions in the server hold back).
    ``offline``: the spaCy extractor the worker loaded ahead (``indexing/prepare.py``), if any."""
    started = time.perf_counter()
    catalog, graph = stores.catalog, stores.graph
    fingerprint = catalog.fingerprint()
    extractor_id = graph_extractor_id(settings)

    def current() -> bool:  # the curators' edits too: one added or undone rebuilds the graph
        return (graph.synced_fingerprint() == fingerprint
                and _same_extractor(graph.extractor_id(), extractor_id)
                and edits_settled(log_path(settings)))

    if current() and settings.fail_stage != "graph":
        return _loaded("graph", started)
    with leased(graph, "graph", fingerprint, report, built=current) as keeper:
        if keeper is None:
            return _built_elsewhere("graph", started)
        with chat_model(settings, gate) as model:
            try:
                if not _same_extractor(graph.extractor_id(), extractor_id):
                    graph.set_extractor_id(extractor_id)
                extracted, extract_fallbacks, extract_refusals = _extract_missing(
                    settings, catalog, stores, keeper, model, offline)
                offline = None  # spaCy is freed before the graph is assembled
                _check_injected_failure(settings, "graph")
                from .graph_update import rebuild, update

                reuse = graph.synced_fingerprint() is not None  # None: another extractor's
                if reuse and isinstance(graph, IncrementalGraphStore) \
                        and graph.incremental_ready():
                    outcome = update(settings, catalog, graph, keeper, model, fingerprint)
                else:
                    outcome = rebuild(settings, catalog, graph, keeper, model, fingerprint,
                                      reuse=reuse)
            except LLMError as exc:
                url = settings.llm_base_url or ""
                raise BuildError(f"the LLM at {env_name('llm_base_url')}={redact_url(url)} "
                                 f"gave no usable reply: {redact(str(exc), [url])}") from exc
            counts = {"chunks_extracted": extracted, **outcome.counts,
                      "summaries_reused": outcome.reused,
                      **{f"{kind}_written": n for kind, n in outcome.written.items()}}
            if model is not None:
                counts.update(_llm_counts(model, extract_fallbacks, outcome.fallbacks))
                counts.update(extract_refused=extract_refusals.count,
                              report_refused=outcome.refusals.count)
            notes = [*extract_refusals.reasons, *outcome.refusals.reasons]
    return StageDone(stage="graph", seconds=round(time.perf_counter() - started, 3),
                     source="built", counts=counts, notes=notes)


def graph_extractor_id(settings: Settings) -> str:
    """Who extracts with these settings: the offline extractor, or the configured LLM."""
    from graphready.extraction.base import offline_extractor_id
    from graphready.extraction.llm_extract import llm_extractor_id

    if not settings.llm_builds_graph:
        return offline_extractor_id(settings.nlp_pipeline)
    return llm_extractor_id(settings.llm_model or "")


def _same_extractor(stored: str | None, wanted: str) -> bool:
    """Whether the stored extractions are ``wanted``'s (none recorded: the offline extractor's
    with the full spaCy pipeline, which was the only one then)."""
    from graphready.extraction.base import FULL_PIPELINE_EXTRACTOR

    return stored == wanted or (stored is None and wanted == FULL_PIPELINE_EXTRACTOR)


@contextlib.contextmanager
def chat_model(settings: Settings,
                gate: ModelGate | None = None) -> Iterator[CachedChatModel | None]:
    """The configured LLM behind its cache (closed at the end), or None offline."""
    if not settings.llm_builds_graph:
        yield None
        return
    from graphready.llm.registry import open_chat_model

    model = open_chat_model(settings, gate)
    try:
        yield model
    finally:
        if model is not None:
            model.close()


def _llm_counts(model: CachedChatModel, extract_fallbacks: int,
                report_fallbacks: int) -> dict[str, int]:
    """What the stage cost in LLM calls and tokens, for ``StageDone.counts``."""
    stats = model.stats.snapshot()
    return {"llm_calls": int(stats["calls"]), "llm_cache_hits": int(stats["cache_hits"]),
            "llm_prompt_tokens": int(stats["prompt_tokens"]),
            "llm_completion_tokens": int(stats["completion_tokens"]),
            "extract_fallbacks": extract_fallbacks, "report_fallbacks": report_fallbacks}


def _extract_missing(settings: Settings, catalog: Catalog, stores: Stores, report: Report,
                     model: CachedChatModel | None,
                     offline: SpacyExtractor | None = None) -> tuple[int, int, Refusals]:
    """Extract the chunks that have no stored extraction, persisting each batch; how many, how
    many of them fell back from the LLM to the offline extractor on a bad reply, and the
    prompts the model refused (those chunks are extracted offline too, and stored: the same
    content-hashed prompt would be refused again, so it is not sent again)."""
    graph = stores.graph
    missing = _missing(catalog, graph.ids(), graph.remove_extractions)
    report(Progress("graph.extract", 0, len(missing)))
    if settings.queue_url is not None:  # the workers extract (queue/dispatch.py)
        from graphready.queue.dispatch import run_on_queue

        run_on_queue(settings, "extract", missing, catalog, graph_extractor_id(settings),
                     lambda n: report(Progress("graph.extract", n, len(missing))))
        _check_stored(graph.ids(), missing, "extractions")
        return len(missing), 0, Refusals()
    extractor = ChunkExtractor(settings, model, offline)
    done = 0
    for batch in batches(missing, extractor.batch):
        chunks = catalog.get_chunks(batch)
        graph.add_extractions(extractor.extract(chunks, _progress(report, done, len(missing))))
        done += len(batch)
        report(Progress("graph.extract", done, len(missing)))
    return len(missing), extractor.fallbacks, extractor.refusals


class ChunkExtractor:
    """Extracts chunks as the graph stage does: by the language model when ``model`` is given
    (a bad reply or a refused prompt falls back to the offline extractor, counted), else by
    the offline extractor (``offline``, one loaded ahead, or spaCy loaded here)."""

    def __init__(self, settings: Settings, model: CachedChatModel | None,
                 offline: SpacyExtractor | None = None) -> None:
        from graphready.extraction.llm_extract import LLMExtractor
        from graphready.extraction.spacy_nlp import SpacyExtractor

        self._offline = offline or SpacyExtractor(pipeline=settings.nlp_pipeline)
        self._llm = None if model is None else LLMExtractor(
            model, self._offline, concurrency=settings.llm_build_concurrency,
            max_tokens=settings.llm_max_tokens)
        self.batch = 128 if self._llm is None else max(8, 4 * settings.llm_build_concurrency)
        """Chunks extracted (and stored) at once."""

    def extract(self, chunks: Sequence[Chunk],
                progress: Callable[[int], None] | None = None) -> list[ChunkExtraction]:
        """One extraction per chunk, in order (``progress``: the LLM's answers so far)."""
        if self._llm is None:
            return self._offline.extract(chunks)
        return self._llm.extract(chunks, progress=progress)

    @property
    def fallbacks(self) -> int:
        """Chunks the offline extractor did after a bad reply of the model."""
        return 0 if self._llm is None else self._llm.fallbacks

    @property
    def refusals(self) -> Refusals:
        """The prompts the model refused."""
        return Refusals() if self._llm is None else self._llm.refusals


def _check_stored(stored: set[str], wanted: Sequence[str], what: str) -> None:
    """After the queue's jobs: a ``BuildError`` when a chunk's result is not in its store."""
    lacking = len(set(wanted) - stored)
    if lacking:
        raise BuildError(f"the queue's jobs are done but {lacking} chunk(s) have no {what} in "
                         "the store (written elsewhere, or removed meanwhile): build again")


def _progress(report: Report, base: int, total: int) -> Callable[[int], None]:
    """Reports ``graph.extract`` progress of ``base`` chunks plus those a batch has done."""
    return lambda n: report(Progress("graph.extract", base + n, total))


def _loaded(stage: Stage, started: float) -> StageDone:
    return StageDone(stage=stage, seconds=round(time.perf_counter() - started, 3),
                     source="loaded")


def _built_elsewhere(stage: Stage, started: float) -> StageDone:
    """Another process that shares the store built ``stage`` while this one waited."""
    return StageDone(stage=stage, seconds=round(time.perf_counter() - started, 3),
                     source="loaded", counts={"built_by_another_process": 1})


RUNNERS: Mapping[Stage, Callable[[Settings, Stores, Report], StageDone]] = MappingProxyType({
    "documents": run_documents,
    "vectors": run_vectors,
    "graph": run_graph,
})
"""The function that runs each stage (``config.STAGES`` names them; a test checks that each
has one)."""
