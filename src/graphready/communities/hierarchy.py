"""Hierarchical community detection with Leiden (modularity) on the weighted entity graph.

Level 0 is the partition of the whole graph; a community larger than ``max_size`` is split by
running Leiden again on its induced subgraph, giving its children at the next level, until
``max_levels`` levels exist or Leiden cannot split it any further.

From scratch, the result depends only on the graph (and the seed). Leiden is chaotic, though: one
document more or less reshuffles about half the communities of a large graph (measured on 2Wiki:
~1,450 of 3,188), and each of them needs its report written again. Given the ``previous``
partition, every level starts from it instead (Leiden's ``initial_membership``; an entity new
at a level starts alone) and moves only what the change makes worth moving: about 1% of the
communities change on 2Wiki, at the same modularity. The result then depends on the history
of the graph, not on the graph alone, so this is a choice (``GRAPHREADY_COMMUNITY_UPDATES``).

:func:`update_communities` goes one step further for a graph changed in place: it keeps every
top-level community a change does not reach, with its whole subtree, and runs the warm-started
detection only on the subgraph of the top-level communities that hold a changed entity (and the
changed entities that had none), so its cost follows the change, not the graph.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import igraph

COMMUNITY_ID_CHARS = 16

Partition = Mapping[int, Mapping[str, str]]
"""A previous hierarchy, per level: entity id -> the id of its community at that level."""


@dataclass(frozen=True, slots=True)
class CommunityNode:
    """One community of the hierarchy: its level (0 is the top), its parent's id (None at the
    top) and its member entity ids, sorted."""

    id: str
    level: int
    parent: str | None
    members: tuple[str, ...]


def community_id(level: int, members: Sequence[str]) -> str:
    """The id of a community: a short hash of its level and sorted members, so an unchanged
    community keeps its id across rebuilds."""
    text = f"{level}\n" + "\n".join(sorted(members))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:COMMUNITY_ID_CHARS]


def _build_graph(
    entity_ids: Sequence[str], edges: Sequence[tuple[str, str, float]]
) -> tuple[igraph.Graph, list[str]]:
    """The undirected weighted graph of the entities that have at least one edge; parallel edges
    are summed, self-loops and edges to unknown entities ignored. Vertices are sorted by id."""
    known = set(entity_ids)
    weights: dict[tuple[str, str], float] = {}
    for source, target, weight in edges:
        if source == target or source not in known or target not in known or weight <= 0:
            continue
        pair = (source, target) if source < target else (target, source)
        weights[pair] = weights.get(pair, 0.0) + float(weight)
    names = sorted({e for pair in weights for e in pair})
    index = {name: i for i, name in enumerate(names)}
    pairs = sorted(weights)
    graph = igraph.Graph(n=len(names), edges=[(index[s], index[t]) for s, t in pairs])
    graph.es["weight"] = [weights[p] for p in pairs]
    return graph, names


def partition_of(communities: Iterable[tuple[int, str, Sequence[str]]]) -> Partition:
    """The partition of a hierarchy given as (level, community id, member ids) triples (the
    nodes found here, or the communities of a stored graph)."""
    levels: dict[int, dict[str, str]] = {}
    for level, community, members in communities:
        levels.setdefault(level, {}).update(dict.fromkeys(members, community))
    return levels


def _initial(names: Sequence[str], previous: Mapping[str, str]) -> list[int]:
    """Leiden's starting membership for the vertices ``names``: their previous community's, a
    community of its own for a vertex that had none; labels numbered 0.. in order of first use."""
    labels: dict[str, int] = {}
    membership = []
    for name in names:
        key = previous.get(name)
        label = labels.setdefault(key, len(labels)) if key is not None else -1
        membership.append(label)
    fresh = len(labels)
    for vertex, label in enumerate(membership):
        if label < 0:
            membership[vertex], fresh = fresh, fresh + 1
    return membership


def _leiden(graph: igraph.Graph, initial: list[int] | None,
            resolution: float = 1.0) -> list[list[int]]:
    """Leiden (modularity at ``resolution``, run to convergence) communities of ``graph``, from
    ``initial`` if given, as vertex indices, largest first (ties by smallest vertex)."""
    clustering = graph.community_leiden(
        objective_function="modularity", weights="weight", n_iterations=-1,
        initial_membership=initial, resolution=resolution,
    )
    groups: dict[int, list[int]] = {}
    for vertex, label in enumerate(clustering.membership):
        groups.setdefault(label, []).append(vertex)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def _split(
    graph: igraph.Graph,
    names: list[str],
    level: int,
    parent: str | None,
    limits: tuple[int, int],
    previous: Partition | None,
    resolution: float = 1.0,
) -> list[CommunityNode]:
    """The communities of ``graph`` at ``level`` and, for those above the size limit, their
    descendants. ``limits`` is (max_size, max_levels). A community that Leiden cannot split
    into at least two communities of several entities gets no children. ``previous``: the
    partition each level starts from, if any; ``resolution``: this level's (the levels below
    run at 1 on their community's subgraph)."""
    max_size, max_levels = limits
    initial = None if previous is None else _initial(names, previous.get(level, {}))
    groups = [g for g in _leiden(graph, initial, resolution) if len(g) > 1]
    if parent is not None and len(groups) < 2:
        return []
    nodes: list[CommunityNode] = []
    for group in groups:
        members = tuple(sorted(names[v] for v in group))
        node = CommunityNode(community_id(level, members), level, parent, members)
        nodes.append(node)
        if len(group) > max_size and level + 1 < max_levels:
            sub = graph.induced_subgraph(sorted(group))
            sub_names = [names[v] for v in sorted(group)]
            nodes.extend(_split(sub, sub_names, level + 1, node.id, limits, previous))
    return nodes


def detect_communities(
    entity_ids: Sequence[str],
    edges: Sequence[tuple[str, str, float]],
    max_size: int,
    max_levels: int,
    seed: int = 42,
    previous: Partition | None = None,
) -> list[CommunityNode]:
    """Hierarchical communities of the entity graph, ordered by level, then size (largest first),
    then id. Entities without edges belong to no community; single-entity communities are
    dropped. Deterministic for a given input, ``seed`` and ``previous`` (the partition to start
    from, see the module's docstring; None: from scratch)."""
    if max_levels < 1:
        return []
    graph, names = _build_graph(entity_ids, edges)
    if graph.vcount() == 0:
        return []
    igraph.set_random_number_generator(random.Random(seed))
    try:
        nodes = _split(graph, names, 0, None, (max_size, max_levels), previous)
    finally:
        igraph.set_random_number_generator(random)
    nodes.sort(key=lambda n: (n.level, -len(n.members), n.id))
    return nodes


def _top_of(rows: Mapping[str, CommunityNode], node: CommunityNode) -> str:
    """The id of the top-level community above ``node`` (a broken chain stops where it
    breaks)."""
    seen = {node.id}
    while node.parent is not None and node.parent in rows and node.parent not in seen:
        node = rows[node.parent]
        seen.add(node.id)
    return node.id


def update_communities(
    stored: Sequence[CommunityNode],
    changed: Collection[str],
    edges: Sequence[tuple[str, str, float]],
    max_size: int,
    max_levels: int,
    total_weight: float | None = None,
    seed: int = 42,
) -> tuple[list[CommunityNode], set[str]]:
    """The hierarchy after a change, computed where the change reaches (see the module
    docstring): ``stored`` is the hierarchy before, ``changed`` the entities whose rows or
    relations changed, ``edges`` every edge (after the change) with both ends in the region
    the change reaches (:func:`region_of`). The stored subtrees that no changed entity is in
    are kept as they are; the region is detected again, each level starting from the stored
    partition. ``total_weight``: the whole graph's edge weight after the change; the region's
    top level then runs at the resolution (its weight / the total) that makes its modularity
    the whole graph's (up to the edges that leave the region), so that re-clustering a part
    does not split it finer than a whole run would. Ordered as :func:`detect_communities`
    orders; also the region re-clustered."""
    by_id = {n.id: n for n in stored}
    touched = {n.id for n in stored if n.level == 0 and not set(changed).isdisjoint(n.members)}
    kept = [n for n in stored if _top_of(by_id, n) not in touched]
    region = region_of(stored, changed)
    graph, names = _build_graph(sorted(region), edges)
    nodes = list(kept)
    if graph.vcount() and max_levels >= 1:
        previous = partition_of((n.level, n.id, n.members) for n in stored
                                if _top_of(by_id, n) in touched)
        igraph.set_random_number_generator(random.Random(seed))
        try:
            inside = float(sum(graph.es["weight"]))
            resolution = inside / total_weight if total_weight and inside < total_weight else 1.0
            nodes.extend(_split(graph, names, 0, None, (max_size, max_levels), previous,
                                resolution))
        finally:
            igraph.set_random_number_generator(random)
    nodes.sort(key=lambda n: (n.level, -len(n.members), n.id))
    return nodes, region


def region_of(stored: Sequence[CommunityNode], changed: Collection[str]) -> set[str]:
    """The entities a change of ``changed`` re-clusters: the members of every top-level
    community that holds one of them, and the changed entities themselves."""
    wanted = set(changed)
    region = set(wanted)
    for node in stored:
        if node.level == 0 and not wanted.isdisjoint(node.members):
            region.update(node.members)
    return region
