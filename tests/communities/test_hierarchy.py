"""Tests of hierarchical Leiden community detection on planted structures."""

from __future__ import annotations

import random
from itertools import combinations

from graphready.communities.hierarchy import (
    CommunityNode,
    community_id,
    detect_communities,
    partition_of,
    region_of,
    update_communities,
)

Edge = tuple[str, str, float]


def _clique(prefix: str, size: int) -> tuple[list[str], list[Edge]]:
    ids = [f"{prefix}{i:02d}" for i in range(size)]
    return ids, [(a, b, 1.0) for a, b in combinations(ids, 2)]


def _cliques(count: int, size: int) -> tuple[list[str], list[Edge], list[list[str]]]:
    """``count`` cliques joined in a ring by single edges."""
    ids: list[str] = []
    edges: list[Edge] = []
    groups: list[list[str]] = []
    for c in range(count):
        members, inner = _clique(f"c{c}n", size)
        ids += members
        edges += inner
        groups.append(members)
    for c in range(count):
        edges.append((groups[c][0], groups[(c + 1) % count][1], 1.0))
    return ids, edges, groups


def _nested(supers: int, cliques: int, size: int) -> tuple[list[str], list[Edge]]:
    """Super-groups of cliques: cliques of one group joined by two edges per pair, the groups
    joined in a ring by one edge."""
    ids: list[str] = []
    edges: list[Edge] = []
    for g in range(supers):
        heads = []
        for k in range(cliques):
            members, inner = _clique(f"g{g}k{k}n", size)
            ids += members
            edges += inner
            heads.append(members)
        for a, b in combinations(range(cliques), 2):
            edges += [(heads[a][j], heads[b][j], 1.0) for j in range(2)]
    edges += [(f"g{g}k0n00", f"g{(g + 1) % supers}k0n01", 1.0) for g in range(supers)]
    return ids, edges


def test_planted_cliques_recovered_exactly() -> None:
    ids, edges, groups = _cliques(4, 10)
    nodes = detect_communities([*ids, "lonely"], edges, max_size=40, max_levels=3)
    assert {n.members for n in nodes} == {tuple(sorted(g)) for g in groups}
    assert all(n.level == 0 and n.parent is None for n in nodes)
    assert all(n.id == community_id(0, n.members) for n in nodes)


def test_large_community_split_into_child_level() -> None:
    ids, edges = _nested(6, 3, 6)
    nodes = detect_communities(ids, edges, max_size=10, max_levels=3)
    top = [n for n in nodes if n.level == 0]
    children = [n for n in nodes if n.level == 1]
    assert sorted(len(n.members) for n in top) == [18] * 6
    assert sorted(len(n.members) for n in children) == [6] * 18
    by_id = {n.id: n for n in top}
    for child in children:
        assert child.parent in by_id
        assert set(child.members) <= set(by_id[child.parent].members)
        assert len({m[:4] for m in child.members}) == 1


def test_levels_limit_respected() -> None:
    ids, edges = _nested(6, 3, 6)
    nodes = detect_communities(ids, edges, max_size=10, max_levels=1)
    assert {n.level for n in nodes} == {0}
    assert detect_communities(ids, edges, max_size=10, max_levels=0) == []


def test_unsplittable_community_gets_no_children() -> None:
    ids, edges = _clique("k", 12)
    nodes = detect_communities(ids, edges, max_size=5, max_levels=3)
    assert [(n.level, len(n.members)) for n in nodes] == [(0, 12)]


def test_deterministic_and_input_order_independent() -> None:
    rng = random.Random(1)
    ids = [f"e{i:03d}" for i in range(300)]
    edges = [(rng.choice(ids), rng.choice(ids), rng.uniform(0.5, 3)) for _ in range(900)]
    first = detect_communities(ids, edges, max_size=20, max_levels=3, seed=7)
    second = detect_communities(list(reversed(ids)), list(reversed(edges)), 20, 3, seed=7)
    assert first == second
    assert first
    assert [n.level for n in first] == sorted(n.level for n in first)


def test_isolated_entities_self_loops_and_unknown_edges_ignored() -> None:
    edges = [("a", "a", 1.0), ("a", "zz", 1.0), ("b", "c", 1.0)]
    nodes = detect_communities(["a", "b", "c", "d"], edges, max_size=10, max_levels=2)
    assert nodes == [CommunityNode(community_id(0, ["b", "c"]), 0, None, ("b", "c"))]


def test_empty_input() -> None:
    assert detect_communities([], [], max_size=10, max_levels=3) == []
    assert detect_communities(["a", "b"], [], max_size=10, max_levels=3) == []


def _swing() -> tuple[list[str], list[Edge], list[list[str]]]:
    """Four cliques in a ring and an entity ``x`` tied equally to the first two: either
    community is as good a home for it."""
    ids, edges, groups = _cliques(4, 8)
    edges += [("x", groups[0][3], 1.0), ("x", groups[1][3], 1.0)]
    return [*ids, "x"], edges, groups


def test_previous_partition_is_where_leiden_starts() -> None:
    ids, edges, groups = _swing()
    homes = set()
    for home in (0, 1):
        previous = partition_of([(0, f"c{g}", [*groups[g], *(["x"] if g == home else [])])
                                 for g in range(4)])
        nodes = detect_communities(ids, edges, max_size=40, max_levels=1, previous=previous)
        with_x = [n for n in nodes if "x" in n.members]
        assert len(nodes) == 4 and len(with_x) == 1
        assert set(groups[home]) < set(with_x[0].members)
        homes.add(with_x[0].id)
    assert len(homes) == 2


def test_previous_partition_kept_where_nothing_changed() -> None:
    ids, edges = _nested(6, 3, 6)
    first = detect_communities(ids, edges, max_size=10, max_levels=3)
    previous = partition_of((n.level, n.id, n.members) for n in first)
    assert detect_communities(ids, edges, max_size=10, max_levels=3, previous=previous) == first
    # an entity added to one clique: only communities of its super-group change
    grown = [*ids, "new"]
    more = [*edges, ("new", "g2k1n00", 1.0), ("new", "g2k1n01", 1.0)]
    second = detect_communities(grown, more, max_size=10, max_levels=3, previous=previous)
    changed = [n for n in second if n not in first]
    assert changed and any("new" in n.members for n in changed)
    assert all(m.startswith("g2") or m == "new" for n in changed for m in n.members)
    assert len(second) - len(changed) >= len(first) - 4


def test_new_entities_start_alone_and_unknown_levels_start_from_scratch() -> None:
    ids, edges, groups = _cliques(4, 10)
    previous = partition_of([(0, "only", groups[0][:3])])
    nodes = detect_communities(ids, edges, max_size=40, max_levels=3, previous=previous)
    assert {n.members for n in nodes} == {tuple(sorted(g)) for g in groups}


def test_update_keeps_what_a_change_does_not_reach() -> None:
    """A new entity joining one clique re-clusters that clique's top-level community only:
    every other community, subtrees included, keeps its id, parent and members."""
    ids, edges = _nested(6, 3, 6)
    stored = detect_communities(ids, edges, max_size=10, max_levels=3)
    assert any(n.level == 1 for n in stored)
    newcomer = "zz-new"
    anchor = groups_of(stored)[0][0]
    grown = [*edges, (newcomer, anchor, 1.0), (newcomer, anchor[:-1] + "1", 1.0)]
    region = region_of(stored, {newcomer, anchor})
    inside = [e for e in grown if e[0] in region and e[1] in region]
    nodes, reclustered = update_communities(stored, {newcomer, anchor}, inside, 10, 3)
    assert reclustered == region and newcomer in region
    assert len(region) == 18 + 1  # one top-level community of 18, and the newcomer
    touched = {n.id for n in stored if n.level == 0 and anchor in n.members}
    untouched = [n for n in stored if n.level == 0 and n.id not in touched]
    assert untouched
    for top in untouched:
        subtree = [n for n in stored if set(n.members) <= set(top.members)]
        assert all(n in nodes for n in subtree)
    assert any(newcomer in n.members for n in nodes if n.level == 0)
    by_id = {n.id: n for n in nodes}
    for node in nodes:  # a consistent hierarchy: each child inside its parent
        if node.parent is not None:
            assert set(node.members) <= set(by_id[node.parent].members)
    assert nodes == sorted(nodes, key=lambda n: (n.level, -len(n.members), n.id))


def test_update_without_a_change_keeps_everything() -> None:
    ids, edges, _ = _cliques(4, 6)
    stored = detect_communities(ids, edges, max_size=40, max_levels=2)
    nodes, region = update_communities(stored, set(), [], 40, 2)
    assert nodes == stored and region == set()


def groups_of(nodes: list[CommunityNode]) -> list[tuple[str, ...]]:
    """The members of the top-level communities."""
    return [n.members for n in nodes if n.level == 0]
