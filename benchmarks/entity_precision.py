"""Entity precision of the offline graph, on a hand-judged sample of its named entities.

The offline graph (spaCy's ``en_core_web_sm``, the default ``entities`` pipeline, assembled as a
build assembles it) of several corpora: A Christmas Carol, the example documents, and a seeded
sample of 400 documents of each other set of ``../shared/data/``. Its named entities (every type
but ``CONCEPT``: what graph-local search walks on) were drawn at random (``--draw``) and judged
by hand in ``benchmarks/entity_precision/judgements.tsv`` (the rule for judging is at its top).

Precision before is the share of the judged entities that are right (the sample is the graph of
the commit named in the file). Precision after builds the same corpora's graphs with the code of
this checkout and counts a judged entity as kept when an entity with its id is still named (not
``CONCEPT``) there: the share of the kept ones that are right, how many right ones were lost,
and each noise class before and after.

    .venv/bin/python benchmarks/entity_precision.py              # precision before and after
    .venv/bin/python benchmarks/entity_precision.py --draw 60    # a new sample to judge (TSV)
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from graphready.config import Settings
from graphready.documents.chunking import chunk_document
from graphready.documents.loaders import load_bytes, load_source, scan_folder
from graphready.documents.types import Chunk, Document
from graphready.extraction.assemble import assemble_graph
from graphready.extraction.spacy_nlp import CONCEPT, SpacyExtractor
from graphready.knowledge import Entity

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
JUDGEMENTS = ROOT / "benchmarks" / "entity_precision" / "judgements.tsv"
DOCUMENTS_PER_SET = 400
CONTEXT_CHARS = 60
COLUMNS = ("corpus", "id", "type", "chunks", "name", "right", "noise", "context")


@dataclass(frozen=True, slots=True)
class Corpus:
    """A corpus of the sample: a folder or a JSON-lines file, and how many of its documents
    (a seeded random choice; None: all)."""

    name: str
    path: Path
    documents: int | None = None


def corpora(data: Path) -> tuple[Corpus, ...]:
    """The corpora the sample is drawn from."""
    def shared(folder: str, limit: int | None = DOCUMENTS_PER_SET) -> Corpus:
        return Corpus(folder, data / folder / "corpus.jsonl", limit)

    return (shared("christmas_carol_nano_graphrag", None),
            Corpus("examples", ROOT / "examples/docs"), shared("hotpotqa_mini"),
            shared("musique_mini"), shared("2wikimultihopqa_hipporag"),
            shared("graphrag_bench_novel"), shared("graphrag_bench_medical"),
            shared("graphrag_podcast_kevin_scott"))


@dataclass(frozen=True, slots=True)
class Judged:
    """One judged entity: its corpus, id, type, name, whether it is right, and its noise class
    (empty when right)."""

    corpus: str
    id: str
    type: str
    name: str
    right: bool
    noise: str


def corpus_chunks(corpus: Corpus, seed: int = 0) -> list[Chunk]:
    """The chunks of ``corpus`` as a build makes them with the default settings."""
    documents: list[Document] = []
    if corpus.path.is_dir():
        for source in scan_folder(corpus.path):
            documents += load_source(corpus.path, source).documents
    else:
        documents = load_bytes(corpus.path.name, corpus.path.read_bytes()).documents
    if corpus.documents is not None and len(documents) > corpus.documents:
        documents = random.Random(seed).sample(documents, corpus.documents)
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    chars, overlap = defaults["chunk_chars"], defaults["chunk_overlap_sentences"]
    return [chunk for doc in documents for chunk in chunk_document(doc, chars, overlap)]


def named_entities(chunks: Sequence[Chunk], extractor: SpacyExtractor) -> list[Entity]:
    """The named entities (not ``CONCEPT``) of the offline graph of ``chunks``."""
    extractions = sorted(extractor.extract(chunks), key=lambda e: e.chunk_id)
    entities, _ = assemble_graph(extractions)
    return [e for e in entities if e.type != CONCEPT and e.chunk_ids]


def context(entity: Entity, texts: dict[str, str]) -> str:
    """Where the entity's name first occurs in its first chunk, on one line."""
    text = texts[entity.chunk_ids[0]]
    at = max(0, text.casefold().find(entity.name.casefold()))
    around = text[max(0, at - CONTEXT_CHARS): at + len(entity.name) + CONTEXT_CHARS]
    return " ".join(around.split())


def draw(per_corpus: int, data: Path, seed: int) -> Iterable[str]:
    """TSV lines of a new sample to judge: ``per_corpus`` entities of each corpus."""
    extractor = SpacyExtractor()
    yield "\t".join(COLUMNS)
    for corpus in corpora(data):
        chunks = corpus_chunks(corpus)
        texts = {c.id: c.text for c in chunks}
        entities = named_entities(chunks, extractor)
        for e in random.Random(seed).sample(entities, min(per_corpus, len(entities))):
            name = " ".join(e.name.split())
            yield "\t".join((corpus.name, e.id, e.type, str(len(e.chunk_ids)), name, "", "",
                             context(e, texts)))


def read_judgements(lines: Iterable[str]) -> list[Judged]:
    """The judged rows of a judgements file (lines starting with ``#`` are its preamble; the
    first other line names the columns); a row without a verdict is an error."""
    rows: list[Judged] = []
    header: list[str] | None = None
    for number, line in enumerate(lines, 1):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        if header is None:
            header = fields
            continue
        row = dict(zip(header, fields, strict=False))
        if row.get("right") not in ("1", "0"):
            raise ValueError(f"line {number}: 'right' must be 1 or 0, got {row.get('right')!r}")
        rows.append(Judged(row["corpus"], row["id"], row["type"], row["name"],
                           row["right"] == "1", row.get("noise", "")))
    return rows


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report(judged: Sequence[Judged], kept: set[tuple[str, str]]) -> list[str]:
    """Lines of precision before and after, per corpus and overall, with the noise classes."""
    lines = [f"{'corpus':32} {'n':>4} {'before':>7} {'kept':>5} {'after':>7} {'right lost':>10}"]
    groups: dict[str, list[Judged]] = {}
    for row in judged:
        groups.setdefault(row.corpus, []).append(row)
    for name, rows in [*groups.items(), ("all", list(judged))]:
        right = sum(r.right for r in rows)
        after = [r for r in rows if (r.corpus, r.id) in kept]
        lost = sum(r.right for r in rows if (r.corpus, r.id) not in kept)
        lines.append(f"{name:32} {len(rows):>4} {share(right, len(rows)):>7} {len(after):>5} "
                     f"{share(sum(r.right for r in after), len(after)):>7} {lost:>10}")
    noise = Counter(r.noise for r in judged if not r.right)
    left = Counter(r.noise for r in judged if not r.right and (r.corpus, r.id) in kept)
    lines.append("noise class: before -> after")
    lines.extend(f"  {cls or '(none)':28} {n:>4} -> {left[cls]}" for cls, n in noise.most_common())
    lost_rows = [r for r in judged if r.right and (r.corpus, r.id) not in kept]
    lines.extend(f"  right but dropped: {r.corpus}: {r.name} ({r.type})" for r in lost_rows)
    return lines


def kept_ids(judged: Sequence[Judged], data: Path) -> set[tuple[str, str]]:
    """(corpus, id) of every judged entity still named in this checkout's graph."""
    wanted = {r.corpus for r in judged}
    extractor = SpacyExtractor()
    kept: set[tuple[str, str]] = set()
    for corpus in corpora(data):
        if corpus.name in wanted:
            kept |= {(corpus.name, e.id) for e in named_entities(corpus_chunks(corpus), extractor)}
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draw", type=int, metavar="N",
                        help="print a new sample of N entities per corpus to judge, and stop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--judgements", type=Path, default=JUDGEMENTS)
    args = parser.parse_args()
    if args.draw:
        for line in draw(args.draw, args.data, args.seed):
            print(line)
        return
    judged = read_judgements(args.judgements.read_text(encoding="utf-8").splitlines())
    for line in report(judged, kept_ids(judged, args.data)):
        print(line)


if __name__ == "__main__":
    sys.exit(main())
