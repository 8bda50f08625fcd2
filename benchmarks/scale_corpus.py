"""Corpora of any number of chunks with the statistics of the real sets, for the scale
benchmark (100,000, 300,000, 1,000,000 chunks), and each chunk's extraction written beside it.

The seven sets of ``../shared/data/`` are cut into chunks as ``graphready index`` cuts them and
extracted once by the offline extractor (``scale_corpus_source``: cached under
``--cache-dir``). Generated chunk ``j`` is in universe ``u = j // S`` (``S`` source chunks):
each universe takes every source chunk once, in a seeded order, with its sentences in a seeded
order and every word of the source's names remapped to a synthetic word of that universe
(``scale_corpus_names``: a bijection, so no two entities merge and 1,000,000 chunks carry ~40
times the source's names, not the same ones again). Per chunk the entities, the co-occurrences
and the titles' mentions are the source chunk's, so the statistics are the source's; common
lowercase words (the concepts) are shared by every universe, as a real drive's are. A passage
whose longer names push it past ``--chunk-chars`` loses sentences from its end (and the
mentions they held) until it is one chunk.

Outputs (never inside the repository): ``corpus-N.jsonl`` (``{"id", "title", "text"}`` lines,
what ``graphready index`` and ``eval`` read; each passage one chunk at ``--chunk-chars``) and
``contributions-N.tsv`` (``chunk_id<TAB>payload`` lines: the chunk id the index gives that
passage and its extraction as the graph store's ``extractions`` rows hold them, the payload in
the stores' encoding, which escapes every tab and line break, so a benchmark can build the graph
without spaCy: :func:`read_contributions`). All sizes are written in one pass:
a smaller corpus is a prefix of a larger one. Deterministic from ``--seed``; memory bounded by
the source, not by N.

Then (unless ``--no-stats``) the statistics of the source and of each corpus side by side
(``scale_corpus_stats``), how many named mentions keep a source name, and how far spaCy, run on
a sample of generated chunks, finds the names the contributions hold.

    .venv/bin/python benchmarks/scale_corpus.py --sizes 100000,300000,1000000 --out-dir /tmp/scale
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil

from graphready.config import Settings
from graphready.documents.chunking import chunk_document
from graphready.documents.types import Chunk, Document
from graphready.extraction.normalize import entity_key
from graphready.extraction.spacy_nlp import TITLE, SpacyExtractor
from graphready.knowledge import ChunkExtraction, ExtractedRelation, Mention
from graphready.stores.graph_codec import decode_extraction, encode_extraction
from scale_corpus_names import WORD, NameSpace, Universe
from scale_corpus_source import (
    GENERIC_TYPES,
    Source,
    SourceChunk,
    load_source,
    profile_path,
    write_profile,
)
from scale_corpus_stats import CorpusStats, graph_stats, table

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}
RSS_EVERY = 5_000
"""Chunks between two samples of the generator's RSS."""


@dataclasses.dataclass
class Generated:
    """What one generation pass did."""

    chunks: int = 0
    trimmed: int = 0
    universes: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    rss_start_mib: float = 0.0
    rss_peak_mib: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class Passage:
    """One generated passage, the id of its one chunk and that chunk's extraction."""

    row: dict[str, str]
    extraction: ChunkExtraction
    trimmed: bool


class _Generator:
    """Generated chunk ``j`` from the source; call with ``j`` in increasing order."""

    def __init__(self, source: Source, seed: int, largest: int, chunk_chars: int,
                 overlap: int) -> None:
        self._source = source
        self._seed = seed
        self.universes = -(-largest // len(source.chunks))
        self._space = NameSpace(source.vocabulary, seed, self.universes)
        self._chunk_chars = chunk_chars
        self._overlap = overlap
        self._universe = Universe(self._space, 0)
        self._rng = random.Random()
        self._order: list[int] = []
        self._keys: dict[str, str] = {}

    def _enter(self, universe: int) -> None:
        self._universe = Universe(self._space, universe)
        self._rng = random.Random(f"{self._seed}:{universe}")
        self._order = list(range(len(self._source.chunks)))
        self._rng.shuffle(self._order)
        self._keys = {}

    def passage(self, j: int) -> Passage:
        universe, position = divmod(j, len(self._source.chunks))
        if position == 0 or universe != self._universe.index:
            self._enter(universe)
        chunk = self._source.chunks[self._order[position]]
        title = self._universe.text(chunk.title)
        if title == chunk.title:
            title = f"{chunk.title} {universe + 1}"
        doc_id = f"scale-{j:07d}"
        sentences = [self._universe.render(*piece) for piece in chunk.sentences]
        self._rng.shuffle(sentences)
        text, one, trimmed = self._fit(doc_id, title, sentences)
        extraction = self._extraction(one.id, chunk, title, text if trimmed else None)
        return Passage({"id": doc_id, "title": title, "text": text}, extraction, trimmed)

    def _fit(self, doc_id: str, title: str, sentences: list[str]) -> tuple[str, Chunk, bool]:
        """The passage's text, its one chunk, and whether sentences (or, for one overlong
        sentence, its end) were cut to keep it one chunk."""
        trimmed = False
        text = " ".join(sentences)
        while True:
            chunks = chunk_document(Document(doc_id, title, text, "scale", ""),
                                    self._chunk_chars, self._overlap)
            if len(chunks) == 1:
                return text, chunks[0], trimmed
            trimmed = True
            if len(sentences) > 1:
                sentences.pop()
                text = " ".join(sentences)
            else:
                text = chunks[0].text

    def _key(self, name: str) -> str:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = entity_key(name)
        return key

    def _extraction(self, chunk_id: str, chunk: SourceChunk, title: str,
                    trimmed_text: str | None) -> ChunkExtraction:
        """The source chunk's extraction with its names remapped; of a trimmed passage, only
        the mentions still in its text (and the title's)."""
        keys: dict[str, str] = {}
        mentions: list[Mention] = []
        kept: set[str] = set()
        for m in chunk.extraction.mentions:
            name = " ".join(title.split()) if m.type == TITLE else self._universe.text(m.name)
            if trimmed_text is not None and m.type != TITLE and name not in trimmed_text:
                continue
            key = self._key(name)
            if key not in kept:
                kept.add(key)
                mentions.append(Mention(name, key, m.type, m.description))
            keys[m.key] = key
        relations = tuple(
            ExtractedRelation(keys[r.source], keys[r.target], r.label, r.description, r.weight)
            for r in chunk.extraction.relations
            if r.source in keys and r.target in keys and keys[r.source] != keys[r.target])
        return ChunkExtraction(chunk_id, tuple(mentions), relations)


def _rss_mib() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def generate(source: Source, sizes: Sequence[int], out_dir: Path, seed: int,
             chunk_chars: int, overlap: int, contributions: bool = True) -> Generated:
    """Write ``corpus-N.jsonl`` (and ``contributions-N.tsv``) for every N of ``sizes`` in
    one pass over the largest."""
    largest = max(sizes)
    generator = _Generator(source, seed, largest, chunk_chars, overlap)
    report = Generated(universes=generator.universes, rss_start_mib=_rss_mib())
    report.rss_peak_mib = report.rss_start_mib
    out_dir.mkdir(parents=True, exist_ok=True)
    started, cpu = time.monotonic(), time.process_time()
    with ExitStack() as files:
        outputs = [(size,
                    files.enter_context(corpus_path(out_dir, size).open("w", encoding="utf-8")),
                    files.enter_context(contributions_path(out_dir, size).open(
                        "w", encoding="utf-8")) if contributions else None)
                   for size in sorted(set(sizes))]
        for j in range(largest):
            passage = generator.passage(j)
            line = json.dumps(passage.row, ensure_ascii=False) + "\n"
            row = f"{passage.extraction.chunk_id}\t{encode_extraction(passage.extraction)}\n"
            for size, corpus, contributed in outputs:
                if j < size:
                    corpus.write(line)
                    if contributed is not None:
                        contributed.write(row)
            report.trimmed += passage.trimmed
            if j % RSS_EVERY == 0:
                report.rss_peak_mib = max(report.rss_peak_mib, _rss_mib())
    report.rss_peak_mib = max(report.rss_peak_mib, _rss_mib())
    report.chunks = largest
    report.seconds = time.monotonic() - started
    report.cpu_seconds = time.process_time() - cpu
    return report


def corpus_path(out_dir: Path, size: int) -> Path:
    """Where the corpus of ``size`` chunks is written."""
    return out_dir / f"corpus-{size}.jsonl"


def contributions_path(out_dir: Path, size: int) -> Path:
    """Where the contributions of the corpus of ``size`` chunks are written."""
    return out_dir / f"contributions-{size}.tsv"


def read_contributions(path: Path) -> Iterator[ChunkExtraction]:
    """The extractions of a ``contributions-N.tsv``, in the order of its corpus."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            chunk_id, payload = line.rstrip("\n").split("\t", 1)
            yield decode_extraction(chunk_id, payload)


def window(size: int, source_chunks: int) -> range:
    """The chunks of a corpus of ``size`` whose graph is compared with the source's: its last
    full universe, or all of it when it has none."""
    full = size // source_chunks
    if full == 0:
        return range(size)
    return range((full - 1) * source_chunks, full * source_chunks)


@dataclasses.dataclass
class _Window:
    """What the statistics keep of one corpus's window: its extractions and a sample of its
    chunks for the spaCy check."""

    span: range
    extractions: list[ChunkExtraction] = dataclasses.field(default_factory=list)
    chunks: list[Chunk] = dataclasses.field(default_factory=list)


def corpus_figures(source: Source, out_dir: Path, sizes: Sequence[int], sample: int,
                   source_names: frozenset[str]) -> dict[int, tuple[dict[str, float],
                                                                   list[Chunk],
                                                                   list[ChunkExtraction]]]:
    """For each of ``sizes``: the statistics of that corpus, the share of its named mentions
    that keep a source name, and ``sample`` chunks of its window with their contributions (for
    the spaCy check). One pass over the largest corpus's files, as smaller ones are its
    prefixes."""
    stats = CorpusStats()
    largest = max(sizes)
    windows = {size: _Window(window(size, len(source.chunks))) for size in sizes}
    out: dict[int, tuple[dict[str, float], list[Chunk], list[ChunkExtraction]]] = {}
    named = kept_names = 0
    with corpus_path(out_dir, largest).open(encoding="utf-8") as corpus:
        for j, (line, extraction) in enumerate(zip(
                corpus, read_contributions(contributions_path(out_dir, largest)), strict=True)):
            row = json.loads(line)
            stats.add(len(row["text"]), extraction)
            for mention in extraction.mentions:
                if mention.type != "CONCEPT":
                    named += 1
                    kept_names += mention.key in source_names
            for part in windows.values():
                if j in part.span:
                    part.extractions.append(extraction)
                    if len(part.chunks) < sample:
                        part.chunks.append(Chunk(extraction.chunk_id, row["id"], 0,
                                                 row["title"], row["text"]))
            if j + 1 in windows:
                part = windows.pop(j + 1)
                figures = stats.summary()
                figures.update(graph_stats(part.extractions, len(part.span)))
                figures["named and title mentions keeping a source name (share)"] = \
                    kept_names / max(named, 1)
                out[j + 1] = (figures, part.chunks, part.extractions[:len(part.chunks)])
    return out


def source_figures(source: Source) -> dict[str, float]:
    """The statistics of the source itself."""
    stats = CorpusStats()
    for chunk in source.chunks:
        stats.add(chunk.chars, chunk.extraction)
    figures = stats.summary()
    figures.update(graph_stats((c.extraction for c in source.chunks), len(source.chunks)))
    return figures


def ner_agreement(extractor: SpacyExtractor, chunks: Sequence[Chunk],
                  contributed: Sequence[ChunkExtraction]) -> dict[str, float]:
    """How far spaCy, run on the generated text, finds the named mentions the contributions
    hold (recall) and they hold what it finds (precision), pooled over ``chunks``: by key (the
    same entity), and by the words of the names (seen as a name, where it may cut it
    elsewhere: ``Diviza`` for ``Diviza Cazapa``)."""
    found = extractor.extract(chunks)
    counts = [0] * 6
    for mine, theirs in zip(contributed, found, strict=True):
        for at, parts in ((0, _keys), (3, _words)):
            ours, spacy = parts(mine), parts(theirs)
            counts[at] += len(ours & spacy)
            counts[at + 1] += len(ours)
            counts[at + 2] += len(spacy)
    return {"spaCy finds the contributed names (recall)": counts[0] / max(counts[1], 1),
            "spaCy's names in the contributions (precision)": counts[0] / max(counts[2], 1),
            "words of contributed names in spaCy's names (recall)": counts[3] / max(counts[4], 1),
            "words of spaCy's names in contributed names (precision)":
                counts[3] / max(counts[5], 1)}


def _keys(extraction: ChunkExtraction) -> set[str]:
    return {m.key for m in extraction.mentions if m.type not in GENERIC_TYPES}


def _words(extraction: ChunkExtraction) -> set[str]:
    return {w.casefold() for m in extraction.mentions if m.type not in GENERIC_TYPES
            for w in WORD.findall(m.name)}


def source_name_keys(source: Source) -> frozenset[str]:
    """The keys of the source's named and title mentions."""
    return frozenset(m.key for c in source.chunks for m in c.extraction.mentions
                     if m.type != "CONCEPT")


def _outside_repository(path: Path, what: str) -> Path:
    resolved = path.resolve()
    if resolved == ROOT or ROOT in resolved.parents:
        sys.exit(f"{what} {path} is inside the repository; write generated data elsewhere "
                 "(under /tmp)")
    return resolved


def _sets(value: str | None) -> list[Path]:
    if value:
        folders = [Path(v) for v in value.split(",") if v]
    else:
        folders = sorted(p for p in DATA.iterdir() if (p / "corpus.jsonl").is_file()) \
            if DATA.is_dir() else []
    missing = [str(f) for f in folders if not (f / "corpus.jsonl").is_file()]
    if not folders or missing:
        sys.exit(f"no corpus.jsonl in {', '.join(missing) or DATA}")
    return folders


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(v.replace("_", "")) for v in value.split(",") if v]
    except ValueError:
        sys.exit(f"--sizes takes whole numbers separated by commas, got {value!r}")
    if not sizes or min(sizes) < 1:
        sys.exit("--sizes needs at least one size, each 1 or more")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000",
                        help="chunks of each corpus, comma-separated (one pass for all)")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/graphready-scale-corpus"))
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/graphready-scale-corpus"),
                        help="where the source's profile (its extraction) is cached")
    parser.add_argument("--sets", help="set folders holding corpus.jsonl, comma-separated "
                        "(default: every set in ../shared/data)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-chars", type=int, default=_DEFAULTS["chunk_chars"])
    parser.add_argument("--overlap", type=int, default=_DEFAULTS["chunk_overlap_sentences"])
    parser.add_argument("--no-contributions", action="store_true",
                        help="write the corpora only")
    parser.add_argument("--no-stats", action="store_true", help="generate only")
    parser.add_argument("--ner-sample", type=int, default=300,
                        help="generated chunks of each window that spaCy checks (0: none)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    sizes = _sizes(args.sizes)
    out_dir = _outside_repository(args.out_dir, "--out-dir")
    cache_dir = _outside_repository(args.cache_dir, "--cache-dir")
    if args.no_contributions and not args.no_stats:
        sys.exit("the statistics are read from the contributions: --no-contributions needs "
                 "--no-stats")
    sets = _sets(args.sets)
    profile = profile_path(sets, cache_dir, args.chunk_chars, args.overlap)
    result: dict[str, Any] = {"sets": [s.name for s in sets], "seed": args.seed}
    if not profile.exists():
        started = time.monotonic()
        count = write_profile(sets, profile, args.chunk_chars, args.overlap)
        result["profile_seconds"] = time.monotonic() - started
        print(f"profiled {count:,} source chunks in {result['profile_seconds']:.1f} s "
              f"-> {profile}", flush=True)
    source = load_source(profile)
    print(f"source: {len(source.chunks):,} chunks of {len(sets)} sets, "
          f"{len(source.vocabulary):,} name words", flush=True)
    report = generate(source, sizes, out_dir, args.seed, args.chunk_chars, args.overlap,
                      contributions=not args.no_contributions)
    result["generation"] = dataclasses.asdict(report)
    print(f"generated {report.chunks:,} chunks ({report.universes} universes) in "
          f"{report.seconds:.1f} s, {report.cpu_seconds:.1f} CPU s "
          f"({report.chunks / max(report.cpu_seconds, 1e-9):,.0f} chunks per CPU-second); "
          f"RSS {report.rss_start_mib:.0f} MiB at the start, peak {report.rss_peak_mib:.0f} MiB; "
          f"{report.trimmed:,} passages trimmed to one chunk -> {out_dir}", flush=True)
    if args.no_stats:
        _dump(args.json, result)
        return 0
    started = time.monotonic()
    columns = [(f"source ({len(source.chunks):,})", source_figures(source))]
    names = source_name_keys(source)
    extractor = SpacyExtractor(pipeline="entities") if args.ner_sample else None
    if extractor is not None:
        sample = min(args.ner_sample, len(source.chunks))
        picked = random.Random(args.seed).sample(source.chunks, sample)
        columns[0][1].update(ner_agreement(
            extractor, [Chunk(c.extraction.chunk_id, "source", 0, c.title, _text(c))
                        for c in picked], [c.extraction for c in picked]))
    for size, (figures, chunks, contributed) in sorted(corpus_figures(
            source, out_dir, sorted(set(sizes)), args.ner_sample, names).items()):
        if extractor is not None:
            figures.update(ner_agreement(extractor, chunks[:args.ner_sample],
                                         contributed[:args.ner_sample]))
        columns.append((f"generated {size:,}", figures))
    result["columns"] = dict(columns)
    result["stats_seconds"] = time.monotonic() - started
    print()
    print(table(columns))
    print(f"\nstatistics in {result['stats_seconds']:.1f} s; graph figures over a window of "
          f"{len(source.chunks):,} chunks (a generated corpus's last full pass over the source)")
    _dump(args.json, result)
    return 0


def _text(chunk: SourceChunk) -> str:
    """A source chunk's text again (its sentences in order, the names as they were)."""
    return " ".join("".join(_interleave(literals, slots)) for literals, slots in chunk.sentences)


def _interleave(literals: Sequence[str], slots: Sequence[str]) -> Iterator[str]:
    yield literals[0]
    for slot, literal in zip(slots, literals[1:], strict=True):
        yield slot
        yield literal


def _dump(path: Path | None, result: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
