"""An entity's other names, read back from the extractions it was assembled from: spellings,
and short forms merged into it, exactly as assembly merged them."""

from __future__ import annotations

from graphready.explore.aliases import entity_aliases
from graphready.extraction.assemble import assemble_graph
from graphready.extraction.normalize import entity_key
from graphready.knowledge import ChunkExtraction, Mention


def mention(name: str, kind: str) -> Mention:
    return Mention(name=name, key=entity_key(name), type=kind)


EXTRACTIONS = [
    ChunkExtraction("c1", (mention("Marie Curie", "PERSON"), mention("Curie", "PERSON"),
                           mention("National Aeronautics and Space Administration", "ORG"),
                           mention("NASA", "ORG")), ()),
    ChunkExtraction("c2", (mention("Curie", "PERSON"), mention("the Beatles", "ORG")), ()),
    ChunkExtraction("c3", (mention("Beatles", "ORG"), mention("BEATLES", "ORG"),
                           mention("Marie Curie", "PERSON")), ()),
]


def by_name() -> dict[str, str]:
    entities, _ = assemble_graph(EXTRACTIONS)
    return {e.name: e.id for e in entities}


def test_short_forms_merged_into_an_entity_are_its_aliases() -> None:
    ids = by_name()
    names = {v: k for k, v in ids.items()}
    found = entity_aliases(EXTRACTIONS, names, {"c1", "c2", "c3"})
    assert "Curie" not in ids  # assembly merged it into Marie Curie...
    assert found[ids["Marie Curie"]] == ("Curie",)  # ...and it is her alias, seen twice
    assert found[ids["National Aeronautics and Space Administration"]] == ("NASA",)


def test_other_spellings_are_aliases_but_case_alone_is_not() -> None:
    ids = by_name()
    names = {v: k for k, v in ids.items()}
    beatles = next(i for n, i in ids.items() if "beatles" in n.casefold())
    assert names[beatles] == "BEATLES"  # three spellings once each: the first in order
    found = entity_aliases(EXTRACTIONS, names, {"c1", "c2", "c3"})
    assert found[beatles] == ("the Beatles",)  # "Beatles" differs only in case


def test_only_the_chunks_of_the_loaded_graph_count() -> None:
    ids = by_name()
    names = {v: k for k, v in ids.items()}
    found = entity_aliases(EXTRACTIONS, names, {"c3"})
    assert ids["Marie Curie"] not in found


def test_the_view_reads_the_extractions_once_and_only_when_asked() -> None:
    from graphready.explore.view import GraphView
    from graphready.knowledge import KnowledgeGraph

    entities, relations = assemble_graph(EXTRACTIONS)
    reads: list[int] = []

    def extractions() -> list[ChunkExtraction]:
        reads.append(1)
        return EXTRACTIONS

    view = GraphView(KnowledgeGraph(tuple(entities), tuple(relations)),
                     {"c1": "d1", "c2": "d2", "c3": "d3"}, extractions)
    assert reads == []
    curie = next(e for e in entities if e.name == "Marie Curie")
    assert view.aliases_of(curie) == ("Curie",)
    assert view.aliases_of(entities[0]) is not None and reads == [1]
