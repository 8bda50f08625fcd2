"""The ``KeywordIndex`` contract, run against every implementation in
``conftest.KEYWORD_INDEXES``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from graphready.documents.types import Chunk
from graphready.stores.base import KeywordIndex


def chunk(cid: str, title: str, text: str) -> Chunk:
    return Chunk(id=cid, doc_id=f"doc-{cid}", ordinal=0, title=title, text=text)


CORPUS = [
    chunk("volcano", "Mount Etna", "Etna is an active volcano on the east coast of Sicily."),
    chunk("lake", "Lake Como", "Lake Como is a lake of glacial origin in Lombardy, Italy."),
    chunk("cafe", "Café culture", "Vienna is famous for its coffee houses and cafés."),
    chunk("river", "Danube", "The Danube flows through Vienna and Budapest to the Black Sea."),
    chunk("run", "Marathon", "Runners were running the marathon route through the city."),
]

HOSTILE = [
    "", "   ", '"', '""', "'", "(", ")", "(()", "AND", "OR", "NOT", "NEAR", "NEAR(a b)",
    "a AND", "OR OR OR", "*", "etna*", "^etna", "title:etna", "chunk_id:volcano", "-etna",
    "+etna", "{etna}", "[etna]", "etna:", "\\", "\x00", "\u0300", "ـ", "😀", "日本語",
    "a" * 5000, " ".join(["etna"] * 2000), "'; DROP TABLE chunks; --", "%", "_", "é\u0301",
    "NEAR(etna, \"sicily\", 5)", "etna\nsicily\t", "\ud800".encode("utf-8", "surrogatepass")
    .decode("utf-8", "replace"),
]


@pytest.fixture
def filled(keyword: KeywordIndex) -> KeywordIndex:
    keyword.add(CORPUS)
    return keyword


def test_empty_index(keyword: KeywordIndex) -> None:
    assert keyword.ids() == set()
    assert keyword.synced_fingerprint() is None
    assert keyword.search("anything", 5) == []


def test_ids_after_add(filled: KeywordIndex) -> None:
    assert filled.ids() == {c.id for c in CORPUS}


def test_passage_with_query_terms_ranks_first(filled: KeywordIndex) -> None:
    hits = filled.search("Which volcano is in Sicily?", 3)
    assert hits[0].chunk_id == "volcano"
    hits = filled.search("glacial lake Lombardy", 5)
    assert hits[0].chunk_id == "lake"
    scores = [h.score for h in filled.search("Vienna Danube coffee", 5)]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)


def test_title_counts_more_than_text(keyword: KeywordIndex) -> None:
    keyword.add([
        chunk("in-text", "Geography notes", "Notes about a volcano and many other things."),
        chunk("in-title", "Volcano", "Notes about a mountain and many other things."),
    ])
    assert [h.chunk_id for h in keyword.search("volcano", 2)] == ["in-title", "in-text"]


def test_stemming_case_and_diacritics(filled: KeywordIndex) -> None:
    assert filled.search("RUNS", 1)[0].chunk_id == "run"
    assert filled.search("cafe", 1)[0].chunk_id == "cafe"
    assert filled.search("café", 1)[0].chunk_id == "cafe"


def test_k_limits_results(filled: KeywordIndex) -> None:
    assert len(filled.search("vienna lake etna marathon", 2)) == 2
    assert filled.search("vienna", 0) == []
    assert {h.chunk_id for h in filled.search("vienna", 50)} == {"cafe", "river"}


def test_unmatched_query_returns_nothing(filled: KeywordIndex) -> None:
    assert filled.search("zyzzyva quokka", 5) == []


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_raise(filled: KeywordIndex, query: str) -> None:
    hits = filled.search(query, 5)
    assert isinstance(hits, list)
    assert all(h.chunk_id in filled.ids() for h in hits)


def test_operators_are_plain_words(keyword: KeywordIndex) -> None:
    keyword.add([chunk("near", "Near", "The shop is near the station.")])
    assert [h.chunk_id for h in keyword.search("NEAR", 5)] == ["near"]
    assert [h.chunk_id for h in keyword.search('station" OR "', 5)] == ["near"]


def test_remove(filled: KeywordIndex) -> None:
    filled.remove(["volcano", "unknown-id"])
    assert "volcano" not in filled.ids()
    assert all(h.chunk_id != "volcano" for h in filled.search("etna volcano sicily", 5))
    filled.remove([])
    assert len(filled.ids()) == len(CORPUS) - 1


def test_re_adding_an_id_replaces_its_text(filled: KeywordIndex) -> None:
    filled.add([chunk("volcano", "Stromboli", "Stromboli erupts often.")])
    assert filled.search("etna", 5) == []
    assert filled.search("stromboli", 5)[0].chunk_id == "volcano"
    assert len(filled.ids()) == len(CORPUS)


def test_many_chunks(keyword: KeywordIndex) -> None:
    keyword.add([chunk(f"c{i}", f"Title {i}", f"Passage {i} mentions token{i}.") for i in
                 range(3000)])
    assert len(keyword.ids()) == 3000
    assert keyword.search("token2999", 3)[0].chunk_id == "c2999"
    keyword.remove([f"c{i}" for i in range(0, 3000, 2)])
    assert len(keyword.ids()) == 1500


def test_mark_synced_round_trip(open_keyword: Callable[[], KeywordIndex]) -> None:
    first = open_keyword()
    first.add(CORPUS)
    first.mark_synced("fp-1")
    assert first.synced_fingerprint() == "fp-1"
    first.mark_synced("fp-2")
    assert first.synced_fingerprint() == "fp-2"
    first.close()
    again = open_keyword()
    assert again.synced_fingerprint() == "fp-2"
    assert again.ids() == {c.id for c in CORPUS}
    assert again.search("etna", 1)[0].chunk_id == "volcano"


def test_writes_clear_synced_fingerprint(filled: KeywordIndex) -> None:
    filled.mark_synced("fp")
    filled.remove([])
    filled.remove(["not-there"])
    filled.add([])
    assert filled.synced_fingerprint() == "fp"
    filled.add([chunk("new", "New", "Something new.")])
    assert filled.synced_fingerprint() is None
    filled.mark_synced("fp2")
    filled.remove(["new"])
    assert filled.synced_fingerprint() is None


def test_second_connection_sees_committed_writes(
    open_keyword: Callable[[], KeywordIndex],
) -> None:
    reader, writer = open_keyword(), open_keyword()
    assert reader.search("etna", 1) == []
    writer.add(CORPUS)
    writer.mark_synced("fp")
    assert reader.search("etna", 1)[0].chunk_id == "volcano"
    assert reader.synced_fingerprint() == "fp"
    reader.remove(["volcano"])
    assert "volcano" not in writer.ids()
