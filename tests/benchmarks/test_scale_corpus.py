"""``benchmarks/scale_corpus.py``: the generated corpora are deterministic, one chunk per
passage with the chunk ids the index gives them, statistically like their source, and carry
none of the source's names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphready.documents.chunking import chunk_document
from graphready.documents.loaders import load_bytes
from graphready.extraction.normalize import STOPWORDS
from scale_corpus import contributions_path, corpus_path, read_contributions
from scale_corpus_names import MIN_UNIVERSES, NameSpace, Universe, with_case
from support.corpus import CITIES, FIRST, LAST, write_corpus

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scale_corpus.py"
PASSAGES = 200
SOURCE_CHUNKS = PASSAGES + 1  # the biographies and the needle
SIZE = 2 * SOURCE_CHUNKS + 77  # two full passes over the source and part of a third
TOLERANCE = 0.02
"""Per-chunk means and the window's entities and relations per chunk: within 2%."""
GRAPH_TOLERANCE = 0.001
"""The window (the last full pass over the source) is the source's graph renamed: its degree
and chunks-per-entity distributions are the source's."""
COMMUNITY_FACTOR = 2.0
"""Community counts and sizes: within a factor of 2. Leiden's result on a renamed graph is
another run (the order of its vertices differs), and this small source's graph is one dense
blob (every biography names the same 15 cities) with only a dozen communities."""
KEPT_NAMES = 0.01
"""At most this share of named mentions keep a source name."""


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bio")
    write_corpus(folder, PASSAGES)
    return folder


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Passages of two-letter names, each just under a chunk: the longer names their
    synthetic ones must be (two letters have too few spellings) push every passage over."""
    folder = tmp_path_factory.mktemp("packed")
    names = ["Bo", "Li", "Wu", "Ng", "Jo", "Al", "Ty", "Ed"]
    rows = []
    for i in range(24):
        first, second, third = names[i % 8], names[(i + 3) % 8], names[(i + 5) % 8]
        sentence = f"{first} {second} met {third} {first} at the market in Ko {i}. "
        text = (sentence * (1190 // len(sentence)))[:1190].rsplit(". ", 1)[0] + "."
        rows.append({"id": f"p{i}", "title": f"{first} {second}", "text": text})
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def run(source: Path, cache: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sets", str(source), "--cache-dir", str(cache),
         "--out-dir", str(out), *args], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def figures(source: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, dict[str, float]]:
    out = tmp_path_factory.mktemp("stats")
    run(source, cache, out, "--sizes", str(SIZE), "--ner-sample", "150",
        "--json", str(out / "figures.json"))
    columns: dict[str, dict[str, float]] = json.loads(
        (out / "figures.json").read_text())["columns"]
    return columns


def test_same_seed_writes_the_same_corpus_and_a_smaller_one_is_its_prefix(
        source: Path, cache: Path, tmp_path: Path) -> None:
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        run(source, cache, tmp_path / name, "--sizes", f"50,{SIZE}", "--seed", seed,
            "--no-stats")
    for path in (corpus_path, contributions_path):
        first = path(tmp_path / "a", SIZE).read_bytes()
        assert first == path(tmp_path / "b", SIZE).read_bytes()
        assert first != path(tmp_path / "c", SIZE).read_bytes()
        assert first.startswith(path(tmp_path / "a", 50).read_bytes())
        assert first.count(b"\n") == SIZE


@pytest.mark.parametrize("which", ["source", "packed"])
def test_each_passage_is_the_chunk_its_contribution_names(
        request: pytest.FixtureRequest, cache: Path, tmp_path: Path, which: str) -> None:
    """The index cuts each generated passage into exactly one chunk, whose id the contribution
    carries; every mention but the title's is in the text. Passages that longer names push
    past a chunk (``packed``) lose sentences from their end, and their mentions with them."""
    folder: Path = request.getfixturevalue(which)
    done = run(folder, cache, tmp_path, "--sizes", str(SIZE), "--no-stats")
    trimmed = int(done.stdout.split(" passages trimmed")[0].rsplit("; ", 1)[1].replace(",", ""))
    assert (trimmed == SIZE) if which == "packed" else (trimmed == 0)
    corpus = corpus_path(tmp_path, SIZE)
    documents = load_bytes(corpus.name, corpus.read_bytes()).documents
    extractions = list(read_contributions(contributions_path(tmp_path, SIZE)))
    assert len(documents) == len(extractions) == SIZE
    for document, extraction in zip(documents, extractions, strict=True):
        chunks = chunk_document(document, 1200, 1)
        assert [c.id for c in chunks] == [extraction.chunk_id]
        for mention in extraction.mentions:
            assert mention.type == "TITLE" or mention.name in document.text
        keys = {m.key for m in extraction.mentions}
        assert all(r.source in keys and r.target in keys for r in extraction.relations)


def test_generated_statistics_are_the_sources(figures: dict[str, dict[str, float]]) -> None:
    source = figures[f"source ({SOURCE_CHUNKS})"]
    generated = figures[f"generated {SIZE}"]
    assert generated["chunks"] == SIZE
    assert generated["window chunks"] == SOURCE_CHUNKS

    def near(row: str, tolerance: float) -> None:
        assert abs(generated[row] - source[row]) <= tolerance * abs(source[row]), row

    for row in ("chunk chars: mean", "mentions per chunk: mean", "named mentions per chunk: mean",
                "extracted relations per chunk: mean", "entities per chunk",
                "relations per chunk"):
        near(row, TOLERANCE)
    for row in ("entity degree: mean", "entity degree: p50", "entity degree: p90",
                "entity degree: p99", "entity degree: max", "chunks per entity: mean",
                "chunks per entity: p99", "entities with no relation (share)"):
        near(row, GRAPH_TOLERANCE)
    for row in ("communities per chunk (all levels)", "level-0 community size: mean"):
        assert source[row] / COMMUNITY_FACTOR <= generated[row] <= source[row] * COMMUNITY_FACTOR
    # Whole corpus: the names of each pass are its own, so distinct entities grow with it.
    assert generated["distinct entity keys per chunk (whole corpus)"] >= \
        0.9 * source["distinct entity keys per chunk (whole corpus)"]


def test_spacy_sees_the_synthetic_names_as_names(figures: dict[str, dict[str, float]]) -> None:
    generated = figures[f"generated {SIZE}"]
    assert generated["spaCy finds the contributed names (recall)"] >= 0.8
    assert generated["spaCy's names in the contributions (precision)"] >= 0.75


def test_no_source_name_survives(figures: dict[str, dict[str, float]], tmp_path: Path,
                                 source: Path, cache: Path) -> None:
    generated = figures[f"generated {SIZE}"]
    assert generated["named and title mentions keeping a source name (share)"] <= KEPT_NAMES
    run(source, cache, tmp_path, "--sizes", str(SIZE), "--no-stats")
    words = corpus_path(tmp_path, SIZE).read_text().split()
    names = set(FIRST) | set(LAST) | set(CITIES)
    kept = [w for w in words if w.strip(".,") in names]
    assert len(kept) <= KEPT_NAMES * len(words), kept[:10]


def test_every_word_and_universe_gets_its_own_name() -> None:
    vocabulary = [w.casefold() for w in (*FIRST, *LAST, *CITIES)] + ["li", "wu", "ng", "o"]
    space = NameSpace(vocabulary, seed=3, universes=10)
    made = [space.word(w, u) for u in range(MIN_UNIVERSES) for w in vocabulary if len(w) > 1]
    assert len(set(made)) == len(made)
    assert all(w.isalpha() and w.islower() and w not in STOPWORDS for w in made)
    assert space.word("alice", 5) == NameSpace(vocabulary, seed=3, universes=1).word("alice", 5)
    assert space.word("alice", 5) != NameSpace(vocabulary, seed=4, universes=1).word("alice", 5)
    with pytest.raises(ValueError, match="universe 64"):
        space.word("alice", MIN_UNIVERSES)


def test_a_universe_keeps_case_and_leaves_other_words() -> None:
    universe = Universe(NameSpace(["toto", "porcaro"], seed=1, universes=1), 0)
    renamed = universe.text("Porcaro of TOTO and the toto band")
    first, of, band, and_, the, lower, last = renamed.split()
    assert (of, and_, the, lower, last) == ("of", "and", "the", "toto", "band")
    assert first == with_case(universe.word("porcaro"), "Porcaro") != "Porcaro"
    assert band == universe.word("toto").upper()


def test_refuses_to_write_into_the_repository(source: Path, cache: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sets", str(source), "--cache-dir", str(cache),
         "--out-dir", str(SCRIPT.parent / "out"), "--sizes", "10"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "inside the repository" in done.stderr
    assert not (SCRIPT.parent / "out").exists()
