"""A small, known knowledge graph for the graph view, API and export tests: a hub with many
neighbours of growing weight, a few named entities (accents, several words), two levels of
communities, and hostile text (markup, control characters) where documents put text."""

from __future__ import annotations

from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation

HUB = "e-hub"
SPOKES = 120
HOSTILE = '<script>alert(1)</script> & "quotes" \x01\x0b'


def _entity(ident: str, name: str, kind: str, chunks: tuple[str, ...],
            description: str = "") -> Entity:
    return Entity(id=ident, name=name, type=kind, chunk_ids=chunks, description=description)


def _relation(a: str, b: str, weight: float, label: str = "related_to") -> Relation:
    source, target = sorted((a, b))
    return Relation(source=source, target=target, label=label, weight=weight,
                    chunk_ids=("c-0",), description=f"{a} and {b}")


def sample_graph(spokes: int = SPOKES) -> KnowledgeGraph:
    """The hub ``Hub City`` tied to ``spokes`` spokes (spoke ``i`` with weight ``i + 1``), spoke
    0 tied to two second-hop entities, and a handful of named entities."""
    entities = [_entity(HUB, "Hub City", "GPE", ("c-0", "c-1"), "A city at the centre.")]
    relations = []
    for i in range(spokes):
        entities.append(_entity(f"e-spoke-{i:03d}", f"Spoke {i:03d}", "ORG", (f"c-{i % 7}",)))
        relations.append(_relation(HUB, f"e-spoke-{i:03d}", float(i + 1)))
    entities += [
        _entity("e-far-a", "Far Alpha", "PERSON", ("c-2",)),
        _entity("e-far-b", "Far Beta", "PERSON", ("c-3",)),
        _entity("e-amelie", "Amélie Poulain", "PERSON", ("c-4", "c-5"), HOSTILE),
        _entity("e-jean", "Jean-Pierre Jeunet", "PERSON", ("c-4",)),
        _entity("e-montmartre", "Montmartre", "GPE", ("c-5",)),
    ]
    relations += [
        _relation("e-spoke-000", "e-far-a", 5.0), _relation("e-spoke-000", "e-far-b", 2.0),
        _relation("e-amelie", "e-jean", 3.0, label=HOSTILE),
        _relation("e-amelie", "e-montmartre", 2.0, label="lives_in"),
    ]
    top = Community(id="k-top", level=0, parent=None,
                    entity_ids=("e-amelie", "e-jean", "e-montmartre"), title="Paris film",
                    summary="A film set in Paris.", chunk_ids=("c-4",), rating=7.5)
    low = Community(id="k-low", level=1, parent="k-top", entity_ids=("e-amelie", "e-jean"),
                    title="Film makers", summary="The director and his heroine.",
                    chunk_ids=("c-4",), rating=6.0)
    hub = Community(id="k-hub", level=0, parent=None,
                    entity_ids=(HUB, *(f"e-spoke-{i:03d}" for i in range(spokes))),
                    title="The hub", summary="Everything around the hub.", chunk_ids=("c-0",))
    entities.sort(key=lambda e: e.id)
    relations.sort(key=lambda r: (r.source, r.target))
    return KnowledgeGraph(tuple(entities), tuple(relations), (top, low, hub))


CHUNK_DOCS = {f"c-{i}": f"doc-{i // 2}" for i in range(8)}
