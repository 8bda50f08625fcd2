"""Incremental assembly (extraction/contributions.py): after any sequence of chunks added and
removed, the entities and relations kept up to date by :func:`plan_change` and
:func:`assemble_part` equal :func:`assemble_graph` of the chunks that remain, aliases included
(a short name that merges into a long one, then stops merging when the chunk that showed the
alias goes, or when a second long form appears)."""

from __future__ import annotations

from collections.abc import Collection

from hypothesis import given, settings
from hypothesis import strategies as st

from graphready.extraction.assemble import assemble_graph, assemble_part
from graphready.extraction.contributions import Contribution, contribution, plan_change
from graphready.knowledge import ChunkExtraction, Entity, ExtractedRelation, Mention, Relation


class MemoryIndex:
    """A :class:`~graphready.extraction.contributions.ContributionIndex` held in a dict."""

    def __init__(self) -> None:
        self.items: dict[str, Contribution] = {}

    def graph_chunk_ids(self) -> set[str]:
        return set(self.items)

    def contributions(self, chunk_ids: Collection[str]) -> list[Contribution]:
        return [self.items[c] for c in chunk_ids if c in self.items]

    def key_counts(self, keys: Collection[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items.values():
            for key in item.keys:
                if key in keys:
                    counts[key] = counts.get(key, 0) + 1
        return counts

    def chunks_of_keys(self, keys: Collection[str]) -> set[str]:
        return {c for c, item in self.items.items() if set(item.keys) & set(keys)}

    def alias_votes(self) -> dict[str, dict[str, int]]:
        votes: dict[str, dict[str, int]] = {}
        for item in self.items.values():
            for short, long in item.aliases:
                longs = votes.setdefault(short, {})
                longs[long] = longs.get(long, 0) + 1
        return votes


PEOPLE = [("Marie Curie", "PERSON"), ("Pierre Curie", "PERSON"), ("Curie", "PERSON"),
          ("Marie", "PERSON"), ("National Aeronautics and Space Administration", "ORG"),
          ("NASA", "ORG"), ("Paris", "GPE"), ("radium", "CONCEPT"), ("Curie", "TITLE"),
          ("Ada Lovelace", "TITLE"), ("Lovelace", "PERSON")]


def _extraction(chunk_id: str, picks: list[int], weights: list[int]) -> ChunkExtraction:
    mentions = tuple(Mention(PEOPLE[i][0], PEOPLE[i][0].lower(), PEOPLE[i][1],
                             f"said {i}" if i % 3 == 0 else "") for i in picks)
    keys = [m.key for m in mentions]
    relations = tuple(
        ExtractedRelation(keys[a], keys[b], "met" if w % 2 else "related_to",
                          "" if w < 2 else f"how {w}", 1.0 + w / 4)
        for a, b, w in zip(range(len(keys)), range(1, len(keys)), weights, strict=False))
    return ChunkExtraction(chunk_id, mentions, relations)


POOL = st.lists(st.integers(0, len(PEOPLE) - 1), min_size=0, max_size=5)
STEPS = st.lists(st.tuples(st.integers(0, 7), POOL, st.lists(st.integers(0, 4), max_size=4)),
                 min_size=1, max_size=12)


def _apply(graph: tuple[dict[str, Entity], dict[tuple[str, str], Relation]],
           index: MemoryIndex, present: dict[str, ChunkExtraction],
           added: list[ChunkExtraction], removed: set[str]) -> None:
    entities, relations = graph
    plan = plan_change(index, added, removed)
    for item in removed:
        present.pop(item, None)
    for item in added:
        present[item.chunk_id] = item
    chunks = sorted([*(present[c] for c in plan.read), *added], key=lambda x: x.chunk_id)
    new_entities, new_relations = assemble_part(chunks, plan.moved, plan.keys)
    ids = plan.entity_ids
    for entity_id in ids:
        entities.pop(entity_id, None)
    for pair in [p for p in relations if p[0] in ids or p[1] in ids]:
        del relations[pair]
    entities.update({e.id: e for e in new_entities})
    relations.update({(r.source, r.target): r for r in new_relations})
    for item in plan.removed:
        del index.items[item.chunk_id]
    index.items.update({c.chunk_id: c for c in plan.added})


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_incremental_assembly_equals_a_full_assembly(steps: list[tuple[int, list[int],
                                                                       list[int]]]) -> None:
    graph: tuple[dict[str, Entity], dict[tuple[str, str], Relation]] = ({}, {})
    index = MemoryIndex()
    present: dict[str, ChunkExtraction] = {}
    for n, (slot, picks, weights) in enumerate(steps):
        chunk_id = f"c{slot}"
        removed = {chunk_id} if chunk_id in present else set()
        added = [] if removed and n % 3 == 0 else [_extraction(f"c{slot}-{n}", picks, weights)]
        _apply(graph, index, present, added, removed)
        entities, relations = assemble_graph(sorted(present.values(), key=lambda x: x.chunk_id))
        assert sorted(graph[0].values(), key=lambda e: e.id) == entities
        assert sorted(graph[1].values(), key=lambda r: (r.source, r.target)) == relations


def test_an_alias_merges_and_unmerges_with_the_chunk_that_shows_it() -> None:
    graph: tuple[dict[str, Entity], dict[tuple[str, str], Relation]] = ({}, {})
    index, present = MemoryIndex(), {}
    _apply(graph, index, present, [_extraction("a", [2, 6], [1])], set())  # Curie, Paris
    assert {e.name for e in graph[0].values()} == {"Curie", "Paris"}
    _apply(graph, index, present, [_extraction("b", [0, 2], [1])], set())  # Marie Curie: alias
    assert {e.name for e in graph[0].values()} == {"Marie Curie", "Paris"}
    assert contribution(present["b"]).aliases == (("curie", "marie curie"),)
    _apply(graph, index, present, [], {"b"})
    assert {e.name for e in graph[0].values()} == {"Curie", "Paris"}
    assert len(graph[1]) == 1
