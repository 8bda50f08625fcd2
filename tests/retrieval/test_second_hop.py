"""The second hop of ``auto`` retrieval: from the top passage's entities to the passage about the
bridging entity, which the question never names."""

from __future__ import annotations

from pathlib import Path

from graphready.documents.types import Chunk
from graphready.knowledge import Entity, KnowledgeGraph
from graphready.retrieval.graph_local import GraphIndex
from graphready.retrieval.pipeline import Toolset, bridge_query, retrieve
from graphready.stores.sqlite.keyword import SqliteKeywordIndex

CHUNKS = (
    Chunk("c1", "moonfall", 0, "Moonfall", "Moonfall is a 1999 film starring Mira Quell."),
    # the bridging passage: extraction missed its entity, so the walk cannot reach it
    Chunk("c2", "quell", 0, "Early life", "Mira Quell grew up in Tromsø, where Quell was born."),
    Chunk("c3", "star", 0, "Star", "A star forms where a nebula collapses."),
    Chunk("c4", "born", 0, "Born free", "The lion cub was born in a zoo."),
    *(Chunk(f"f{n}", f"filler{n}", 0, f"Filler {n}", f"Unrelated text number {n}.")
      for n in range(8)),
)


def graph() -> KnowledgeGraph:
    return KnowledgeGraph((Entity("e1", "Moonfall", "WORK_OF_ART", ("c1",)),
                           Entity("e2", "Mira Quell", "PERSON", ("c1",)),
                           Entity("e3", "nebula", "CONCEPT", ("c3",))), (), ())


def test_names_in_lists_the_entities_of_a_passage_once() -> None:
    index = GraphIndex(graph(), {"Moonfall": ["c1"]})
    assert index.names_in("c1") == ["Moonfall", "Mira Quell"]
    assert index.names_in("c2") == []
    assert index.names_in("c3") == []  # concepts are not in the graph


def test_bridge_query_adds_only_names_the_question_lacks() -> None:
    assert bridge_query("Who starred in Moonfall?", ["Moonfall", "Mira Quell"]) == (
        "Who starred in Moonfall? Mira Quell")
    assert bridge_query("Who starred in moonfall?", ["Moonfall"]) == "Who starred in moonfall?"


def test_auto_follows_the_top_passage_to_the_bridging_one(tmp_path: Path) -> None:
    keyword = SqliteKeywordIndex(tmp_path / "keyword.db")
    keyword.add(CHUNKS)
    question = "Where was the star of Moonfall born?"
    assert [hit.chunk_id for hit in keyword.search(question, 10)][-1] == "c2"
    tools = Toolset(keyword=keyword, graph=GraphIndex(graph(), {"Moonfall": ["c1"]}))
    found = retrieve(tools, question, "auto", 2)
    assert [hit.chunk_id for hit in found.hits] == ["c1", "c2"]
    plain = retrieve(tools, question, "retrieval", 2)
    assert "c2" not in [hit.chunk_id for hit in plain.hits]
