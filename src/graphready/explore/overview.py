"""The graph at a glance, for the graph view to open on: the most central entities with the
relations among them, spread over the top-level communities so that the drawing shows the
shape of the knowledge, not one hub's neighbourhood.

Centrality is the degree (how many relations an entity has), which :class:`GraphView` ranks
once per loaded graph; an overview reads only the first entities of that ranking and their
strongest relations, so its cost grows with ``limit``, never with the graph."""

from __future__ import annotations

import math
from dataclasses import dataclass

from graphready.knowledge import Relation

from .view import GraphView

SCAN = 8
"""How many times ``limit`` entities, by degree, are looked at to spread the choice."""
SHARE = 4
"""At first, no top-level community gets more than ``limit / SHARE`` of the entities (at
least :data:`MIN_PER_COMMUNITY`); what is left is filled by degree."""
MIN_PER_COMMUNITY = 3
NEIGHBOURS_READ = 100
"""The strongest relations of each chosen entity that are looked at for edges among them."""
EDGES_PER_NODE = 4


@dataclass(frozen=True, slots=True)
class Overview:
    """The chosen entities (positions, most central first), the relations among them
    (strongest first), and the top-level communities of the entities, most entities first."""

    nodes: list[int]
    edges: list[Relation]
    communities: list[str]


def overview(view: GraphView, limit: int) -> Overview:
    """Up to ``limit`` of the most central entities of ``view``, spread over its top-level
    communities, and the strongest relations among them (see the module docstring)."""
    ranked = view.search("", None, 0, limit * SCAN).items
    cap = max(MIN_PER_COMMUNITY, math.ceil(limit / SHARE))
    chosen: list[int] = []
    skipped: list[int] = []
    taken: dict[str | None, int] = {}
    for position in ranked:
        if len(chosen) >= limit:
            break
        community = view.top_community(position)
        if community is not None and taken.get(community, 0) >= cap:
            skipped.append(position)
            continue
        taken[community] = taken.get(community, 0) + 1
        chosen.append(position)
    for position in skipped[: limit - len(chosen)]:  # fill up by degree
        community = view.top_community(position)
        taken[community] = taken.get(community, 0) + 1
        chosen.append(position)
    chosen.sort(key=lambda p: (-int(view.degree[p]), p))
    return Overview(chosen, _edges_among(view, chosen, EDGES_PER_NODE * limit),
                    [c for c, _ in sorted(((c, n) for c, n in taken.items() if c is not None),
                                          key=lambda item: (-item[1], item[0]))])


def _edges_among(view: GraphView, nodes: list[int], most: int) -> list[Relation]:
    """The strongest ``most`` relations between two of ``nodes`` among each one's
    :data:`NEIGHBOURS_READ` strongest."""
    inside = set(nodes)
    found: dict[tuple[str, str], Relation] = {}
    for node in nodes:
        for neighbour in view.neighbours(node, NEIGHBOURS_READ):
            if neighbour.other in inside:
                relation = neighbour.relation
                found[(relation.source, relation.target)] = relation
    ranked = sorted(found.values(), key=lambda r: (-r.weight, r.source, r.target))
    return ranked[:most]
