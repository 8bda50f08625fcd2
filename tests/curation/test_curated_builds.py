"""The property the curation must keep (issue 21): random edits interleaved with random
documents added, replaced and deleted (drawn by hypothesis, built now and then) end with the
graph a fresh build of the final documents makes with the surviving edits applied, the same
edits applied or stale; undoing every edit then gives the graph with no edits. On the embedded
SQLite store and on a real FalkorDB. And with edits live, a change (an edit too) is applied in
place: it writes only what it reaches."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphready.config import Settings, ensure_data_dir, load_settings
from graphready.curation.edits import (
    AddRelation,
    Change,
    DeleteEntity,
    DeleteRelation,
    Merge,
    Rename,
)
from graphready.curation.log import log_path, open_log
from graphready.documents.uploads import UploadStore, uploads_folder
from graphready.extraction.assemble import entity_id
from graphready.extraction.normalize import entity_key
from graphready.extraction.spacy_nlp import SpacyExtractor
from indexing.test_incremental_graph import _build, _graph, _put
from support.corpus import write_corpus

Urls = Callable[[str, str], tuple[str | None, str | None]]

POOL = [
    "Marie Curie worked in Paris with Pierre Curie. Curie won the Nobel Prize in Paris.",
    "Pierre Curie met Albert Einstein in Brussels. Einstein later moved to Princeton.",
    "Ada Lovelace met Charles Babbage in London. Babbage built the Analytical Engine in London.",
    "Ines Moreau founded a guild of glassblowers in Lyon. The guild in Lyon trained Pavel Kral.",
]
NAMES = ["Marie Curie", "Pierre Curie", "Paris", "Albert Einstein", "Brussels", "Ada Lovelace",
         "Charles Babbage", "London", "Lyon", "Ines Moreau", "Pavel Kral"]
IDS = [entity_id(entity_key(name)) for name in NAMES]
FIRST = {f"doc-{i}": POOL[i] for i in range(3)}
"""The documents the data dir holds before the steps (so that edits find their entities)."""
EDIT = st.tuples(st.sampled_from(["merge", "rename", "delete_entity", "delete_relation",
                                  "add_relation"]),
                 st.integers(0, len(IDS) - 1), st.integers(0, len(IDS) - 1))
STEP = st.one_of(
    st.tuples(st.just("doc"), st.integers(0, 2), st.integers(-1, len(POOL) - 1)),
    st.tuples(st.just("edit"), EDIT),
    st.tuples(st.just("undo"), st.integers(0, 5)))
STEPS = st.lists(st.tuples(STEP, st.booleans()), min_size=1, max_size=6)


@pytest.fixture(scope="module")
def spacy() -> Iterator[SpacyExtractor]:
    yield SpacyExtractor(pipeline="entities")


def _settings(root: Path, urls: tuple[str | None, str | None]) -> Settings:
    write_corpus(root / "docs", passages=3)
    found = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                          embedder="hashing", graph_url=urls[0], vector_url=urls[1],
                          community_max_size=6)
    ensure_data_dir(found)
    return found


def _change(op: str, i: int, j: int) -> Change | None:
    if op == "rename":
        return Rename(IDS[i], f"{NAMES[i]} (curated)")
    if op == "delete_entity":
        return DeleteEntity(IDS[i])
    if i == j:
        return None
    if op == "merge":
        return Merge((IDS[i],), IDS[j])
    if op == "delete_relation":
        return DeleteRelation(IDS[i], IDS[j])
    return AddRelation(IDS[i], IDS[j], "curated_link", f"{NAMES[i]} and {NAMES[j]}.")


def _outcomes(settings: Settings) -> list[tuple[str, str, str | None]]:
    with open_log(log_path(settings)) as log:
        return [(e.status, type(e.change).__name__, e.problem) for e in log.edits() if e.live]


def _run(settings: Settings, steps: list[tuple[tuple[Any, ...], bool]],
         spacy: SpacyExtractor) -> dict[str, str]:
    """Play ``steps`` on ``settings``' data dir, which holds the first documents of ``POOL``
    built; the documents held at the end."""
    held = dict(FIRST)
    made: list[str] = []
    for index, (step, build) in enumerate(steps):
        if step[0] == "doc":
            doc_id = f"doc-{step[1]}"
            if step[2] < 0:
                UploadStore(uploads_folder(settings.data_dir)).remove(doc_id)
                held.pop(doc_id, None)
            else:
                held[doc_id] = POOL[step[2]]
                _put(settings, doc_id, POOL[step[2]])
        elif step[0] == "edit":
            change = _change(*step[1])
            if change is not None:
                with open_log(log_path(settings)) as log:
                    names = {i: NAMES[IDS.index(i)] for i in change.entities}
                    made.append(log.add(change, names, "tester").id)
        elif made:
            with open_log(log_path(settings)) as log:
                edit = made[step[1] % len(made)]
                if any(e.id == edit and e.live for e in log.edits()):
                    log.undo(edit, "tester")
        if build or index == len(steps) - 1:
            _build(settings, spacy)
    return held


@pytest.mark.parametrize("backend", ["embedded", "falkordb"])
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=STEPS)
def test_edits_and_document_changes_end_where_a_fresh_build_does(
        backend: str, steps: list[tuple[tuple[Any, ...], bool]], store_urls: Urls,
        spacy: SpacyExtractor) -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        name = f"c{abs(hash((repr(steps), work))) % 10**8}"
        changed = _settings(root / "changed", store_urls(backend, f"{name}c"))
        for doc_id, text in FIRST.items():
            _put(changed, doc_id, text)
        _build(changed, spacy)
        held = _run(changed, steps, spacy)
        fresh = _settings(root / "fresh", store_urls(backend, f"{name}f"))
        for doc_id, text in held.items():
            _put(fresh, doc_id, text)
        with open_log(log_path(changed)) as source, open_log(log_path(fresh)) as log:
            for edit in source.live():
                log.add(edit.change, edit.names, edit.by)
        _build(fresh, spacy)
        after, expected = _graph(changed), _graph(fresh)
        for key in expected:
            assert after[key] == expected[key], f"{key} differs from a fresh build ({steps})"
        assert _outcomes(changed) == _outcomes(fresh)
        assert all(status in ("applied", "stale") for status, _, _ in _outcomes(changed))
        with open_log(log_path(changed)) as log:
            for edit in log.live():
                log.undo(edit.id, "tester")
        _build(changed, spacy)
        plain = _settings(root / "plain", store_urls(backend, f"{name}p"))
        for doc_id, text in held.items():
            _put(plain, doc_id, text)
        _build(plain, spacy)
        assert _graph(changed) == _graph(plain), f"undoing every edit ({steps})"


@pytest.mark.parametrize("backend", ["embedded", "falkordb"])
def test_with_edits_live_a_change_writes_only_what_it_reaches(
        tmp_path: Path, backend: str, store_urls: Urls, spacy: SpacyExtractor) -> None:
    settings = _settings(tmp_path, store_urls(backend, "reach"))
    write_corpus(tmp_path / "docs", passages=24)
    for doc_id, text in FIRST.items():
        _put(settings, doc_id, text)
    first = _build(settings, spacy)
    with open_log(log_path(settings)) as log:
        merge = log.add(Merge((IDS[1],), IDS[0]), {IDS[0]: NAMES[0], IDS[1]: NAMES[1]}, None)
        log.add(Rename(IDS[7], "Londinium"), {IDS[7]: NAMES[7]}, None)
    edited = _build(settings, spacy)
    assert _outcomes(settings) == [("applied", "Merge", None), ("applied", "Rename", None)]
    assert edited["entities"] == first["entities"] - 1
    assert 0 < edited["entities_written"] < edited["entities"] // 4
    assert edited["relations_written"] < edited["relations"] // 4
    _put(settings, "guild", POOL[3])
    added = _build(settings, spacy)
    assert added["chunks_extracted"] == 1
    assert 0 < added["entities_written"] < added["entities"] // 4
    with open_log(log_path(settings)) as log:
        log.undo(merge.id, None)
    undone = _build(settings, spacy)
    assert undone["entities"] == added["entities"] + 1
    assert 0 < undone["entities_written"] < undone["entities"] // 4
