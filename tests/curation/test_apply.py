"""The live edits applied to an assembled graph (``curation/apply.py``): merges move edges and
combine parallel ones without self-loops, renames keep the old name, deletes take relations
with them, added relations join what is there, and an edit naming what the graph no longer
holds is reported stale and applies again once it comes back."""

from __future__ import annotations

from graphready.curation.apply import apply_edits
from graphready.curation.edits import (
    AddRelation,
    Change,
    DeleteEntity,
    DeleteRelation,
    Edit,
    Merge,
    Rename,
    digest,
)
from graphready.knowledge import Entity, Relation


def _entity(ident: str, name: str, chunks: tuple[str, ...] = ("c1",)) -> Entity:
    return Entity(ident, name, "PERSON", chunks, f"{name} is someone.")


ENTITIES = [_entity("a", "Alan Turing", ("c1", "c2")), _entity("b", "Turing", ("c3",)),
            _entity("c", "Bletchley Park"), _entity("d", "Enigma"), _entity("e", "Manchester")]
RELATIONS = [Relation("a", "c", "worked_at", 2.0, ("c1",), "Turing worked there."),
             Relation("a", "b", "related_to", 1.0, ("c2",)),
             Relation("b", "c", "related_to", 1.0, ("c3",), "He was at the park."),
             Relation("b", "d", "broke", 1.0, ("c3",)),
             Relation("c", "e", "related_to", 1.0, ("c4",))]


def _edit(ident: str, change: Change, undone: bool = False) -> Edit:
    names = {e.id: e.name for e in ENTITIES}
    return Edit(ident, change, names, "2026-12-07T00:00:00.000Z", "curator",
                "2026-12-07T00:00:01.000Z" if undone else None)


def test_a_merge_moves_edges_combines_parallel_ones_and_makes_no_self_loop() -> None:
    done = apply_edits(ENTITIES, RELATIONS, [_edit("m", Merge(("b",), "a"))])
    assert [e.id for e in done.entities] == ["a", "c", "d", "e"]
    target = done.entities[0]
    assert target.name == "Alan Turing" and target.chunk_ids == ("c1", "c2", "c3")
    pairs = {(r.source, r.target): r for r in done.relations}
    assert set(pairs) == {("a", "c"), ("a", "d"), ("c", "e")}  # (a, b) would be a self-loop
    combined = pairs[("a", "c")]
    assert combined.weight == 3.0 and combined.label == "worked_at"
    assert combined.chunk_ids == ("c1", "c3")
    assert combined.description == "Turing worked there. He was at the park."
    assert pairs[("a", "d")].label == "broke"
    assert done.marks.aliases == {"a": ("Turing",)}
    assert done.marks.entities == {"a"} and ("a", "c") in done.marks.relations
    assert done.outcomes["m"].status == "applied"
    assert done.marks.digest == digest([_edit("m", Merge(("b",), "a"))])


def test_merging_two_sources_drops_the_edge_between_them() -> None:
    done = apply_edits(ENTITIES, RELATIONS, [_edit("m", Merge(("a", "b"), "d"))])
    pairs = {(r.source, r.target) for r in done.relations}
    assert pairs == {("c", "d"), ("c", "e")}
    assert all(r.source != r.target for r in done.relations)
    assert done.marks.aliases["d"] == ("Alan Turing", "Turing")


def test_a_rename_keeps_the_old_name_as_an_alias_and_a_later_merge_carries_it() -> None:
    done = apply_edits(ENTITIES, RELATIONS, [_edit("r", Rename("b", "A. M. Turing")),
                                             _edit("m", Merge(("b",), "a"))])
    assert done.marks.aliases == {"a": ("A. M. Turing", "Turing")}
    renamed = apply_edits(ENTITIES, RELATIONS, [_edit("r", Rename("c", "The Park"))])
    assert next(e for e in renamed.entities if e.id == "c").name == "The Park"
    assert renamed.marks.aliases == {"c": ("Bletchley Park",)}


def test_deletes_take_an_entity_with_its_relations_and_a_relation_alone() -> None:
    done = apply_edits(ENTITIES, RELATIONS, [_edit("x", DeleteEntity("c")),
                                             _edit("y", DeleteRelation("d", "b"))])
    assert "c" not in {e.id for e in done.entities}
    assert {(r.source, r.target) for r in done.relations} == {("a", "b")}
    assert {o.status for o in done.outcomes.values()} == {"applied"}


def test_an_added_relation_is_new_or_joins_the_one_there() -> None:
    done = apply_edits(ENTITIES, RELATIONS, [
        _edit("n", AddRelation("e", "a", "lived_in", "He moved there.")),
        _edit("j", AddRelation("b", "a", "same_person", "One man."))])
    pairs = {(r.source, r.target): r for r in done.relations}
    assert pairs[("a", "e")] == Relation("a", "e", "lived_in", 1.0, (), "He moved there.")
    assert pairs[("a", "b")].label == "same_person" and pairs[("a", "b")].weight == 2.0
    assert pairs[("a", "b")].description == "One man."
    assert done.marks.relations == {("a", "e"), ("a", "b")}


def test_an_edit_whose_entity_is_gone_is_stale_and_applies_again_when_it_is_back() -> None:
    edits = [_edit("m", Merge(("b",), "a")), _edit("y", DeleteRelation("c", "e"))]
    without = [e for e in ENTITIES if e.id != "b"]
    done = apply_edits(without, [r for r in RELATIONS if "b" not in (r.source, r.target)],
                       edits)
    assert done.outcomes["m"].status == "stale"
    assert done.outcomes["m"].problem == "entity 'Turing' (b) no longer exists"
    assert done.outcomes["y"].status == "applied"
    back = apply_edits(ENTITIES, RELATIONS, edits)
    assert back.outcomes["m"].status == "applied"
    gone = apply_edits(ENTITIES, [r for r in RELATIONS if r.target != "e"], edits[1:])
    assert gone.outcomes["y"].status == "stale"
    assert "no relation between 'Bletchley Park' (c) and 'Manchester' (e)" in str(
        gone.outcomes["y"].problem)


def test_an_edit_after_a_merge_that_names_a_source_is_stale() -> None:
    done = apply_edits(ENTITIES, RELATIONS, [_edit("m", Merge(("b",), "a")),
                                             _edit("r", Rename("b", "Other"))])
    assert done.outcomes["r"].status == "stale"


def test_undone_edits_are_not_applied() -> None:
    edits = [_edit("m", Merge(("b",), "a"), undone=True), _edit("x", DeleteEntity("e"), True)]
    done = apply_edits(ENTITIES, RELATIONS, edits)
    assert done.entities == ENTITIES and done.relations == RELATIONS
    assert done.outcomes == {} and done.marks.digest == "" and not done.marks.aliases
