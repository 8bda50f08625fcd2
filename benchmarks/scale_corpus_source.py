"""The source of ``scale_corpus.py``: the real sets cut into chunks as ``graphready index``
cuts them, each chunk's extraction by the offline extractor (spaCy, the ``entities``
pipeline), and from them the vocabulary of name words and a template of each chunk.

Extracting the seven sets (~21,000 chunks) takes minutes on 2 cores, so the profile is cached
in a file of ``--cache-dir`` (outside the repository), keyed by the sets' files, the chunking
and the extractor; the sets are read from where they are and never copied into the project.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from graphready.documents.chunking import chunk_document, chunk_sentences
from graphready.documents.loaders import load_bytes
from graphready.documents.types import Chunk
from graphready.extraction.base import OFFLINE_EXTRACTOR
from graphready.extraction.normalize import STOPWORDS
from graphready.extraction.spacy_nlp import CONCEPT, TITLE, SpacyExtractor
from graphready.knowledge import ChunkExtraction
from graphready.stores.graph_codec import decode_extraction, encode_extraction
from scale_corpus_names import WORD, template

BATCH = 256
"""Chunks extracted per call of the extractor while profiling."""
GENERIC_TYPES = frozenset({CONCEPT, TITLE})


@dataclass(frozen=True, slots=True)
class SourceChunk:
    """One chunk of the source: its title, its text cut into sentence templates (literals and
    name words between them: ``scale_corpus_names.template``), its length and its
    extraction."""

    title: str
    sentences: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    chars: int
    extraction: ChunkExtraction


@dataclass(frozen=True, slots=True)
class Source:
    """The profiled source: its chunks, in the order of the sets, and the vocabulary of name
    words (casefolded)."""

    chunks: tuple[SourceChunk, ...]
    vocabulary: frozenset[str]


def _set_chunks(corpus: Path, chunk_chars: int, overlap: int) -> Iterator[Chunk]:
    result = load_bytes(corpus.name, corpus.read_bytes())
    for document in result.documents:
        yield from chunk_document(document, chunk_chars, overlap)


def profile_path(sets: Sequence[Path], cache_dir: Path, chunk_chars: int, overlap: int) -> Path:
    """Where the profile of ``sets`` (folders holding ``corpus.jsonl``) is cached."""
    digest = hashlib.sha256(f"{OFFLINE_EXTRACTOR}/{chunk_chars}/{overlap}".encode())
    for folder in sets:
        corpus = folder / "corpus.jsonl"
        stat = corpus.stat()
        digest.update(f"\n{corpus.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return cache_dir / f"profile-{digest.hexdigest()[:16]}.jsonl"


def write_profile(sets: Sequence[Path], path: Path, chunk_chars: int, overlap: int) -> int:
    """Chunk and extract ``sets`` into ``path`` (one JSON line a chunk); the chunks written."""
    extractor = SpacyExtractor(pipeline="entities")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    written = 0
    with partial.open("w", encoding="utf-8") as out:
        for folder in sets:
            chunks = list(_set_chunks(folder / "corpus.jsonl", chunk_chars, overlap))
            for start in range(0, len(chunks), BATCH):
                batch = chunks[start:start + BATCH]
                for chunk, extraction in zip(batch, extractor.extract(batch), strict=True):
                    starts = [s.start for s in chunk_sentences(chunk.text, chunk.title)]
                    out.write(json.dumps({"set": folder.name, "title": chunk.title,
                                          "text": chunk.text, "starts": starts,
                                          "payload": encode_extraction(extraction)},
                                         ensure_ascii=False) + "\n")
                    written += 1
    partial.replace(path)
    return written


def _rows(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


CALENDAR = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split())
"""Words of dates that names hold too (``April Wine``): kept, or spaCy would take the
remapped dates for names."""


def name_words(name: str) -> list[str]:
    """The casefolded words of a name that are remapped: letters only, not stopwords, not
    months or days."""
    return [w for w in (w.casefold() for w in WORD.findall(name))
            if w not in STOPWORDS and w not in CALENDAR]


def _pieces(text: str, starts: Sequence[int]) -> list[str]:
    """``text`` cut at the sentence starts, each piece stripped (the first keeps what comes
    before the first sentence)."""
    cuts = sorted({0, *(s for s in starts if 0 < s < len(text))})
    pieces = [text[a:b].strip() for a, b in zip(cuts, [*cuts[1:], len(text)], strict=True)]
    return [p for p in pieces if p]


def load_source(path: Path) -> Source:
    """The profile at ``path`` as templates and the vocabulary of name words: the words of
    named mentions (any type but concepts and titles) and of the titles."""
    vocabulary: set[str] = set()
    rows = []
    for number, row in enumerate(_rows(path)):
        title = str(row["title"])
        extraction = decode_extraction(f"source-{number}", str(row["payload"]))
        vocabulary.update(name_words(title))
        for mention in extraction.mentions:
            if mention.type not in GENERIC_TYPES:
                vocabulary.update(name_words(mention.name))
        starts = row["starts"]
        assert isinstance(starts, list)
        rows.append((title, _pieces(str(row["text"]), starts), len(str(row["text"])),
                     extraction))
    frozen = frozenset(vocabulary)
    chunks = tuple(SourceChunk(title, tuple(template(piece, frozen) for piece in pieces), chars,
                               extraction)
                   for title, pieces, chars, extraction in rows)
    return Source(chunks, frozen)
