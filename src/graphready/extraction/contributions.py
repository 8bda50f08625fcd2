"""Incremental assembly: each chunk's extraction is a *contribution* to the graph, and a change
of chunks rewrites only the entities and relations it reaches.

A chunk contributes to the entity *keys* its mentions count for (after the chunk's own aliases,
:func:`~graphready.extraction.aliases.chunk_aliases`), and it votes for those aliases in the
corpus-wide table. A graph store that updates in place keeps, with the graph and in the same
transaction, one :class:`Contribution` per chunk the graph was built from (the
:class:`ContributionIndex`). :func:`plan_change` works out from that index, the extractions of
the chunks that come and the ids of the chunks that go, which entity keys the change reaches:

- the keys the added and removed chunks contribute to, each as the entity it belongs to before
  and after the change (an alias merges into its canonical key's entity);
- the short keys whose merging changes (the alias votes changed, or an entity came or went),
  with both entities they belonged to.

Every other entity, and every relation between two other entities, is untouched: an entity's
rows are made from the chunks that contribute to its keys, and a relation's from chunks that
contribute to both its ends. The reached entities are then assembled again from the chunks that
contribute to their keys (:func:`~graphready.extraction.assemble.assemble_part`), which gives
exactly what assembling the whole corpus would: the same accumulation in the same chunk order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from graphready.extraction.aliases import AliasTable, canonical, chunk_aliases
from graphready.extraction.assemble import entity_id, moved_keys
from graphready.knowledge import ChunkExtraction


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one chunk's extraction contributes: the entity keys its mentions count for, sorted,
    and its chunk-local aliases (short key, long key), sorted."""

    chunk_id: str
    keys: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]


def contribution(extraction: ChunkExtraction) -> Contribution:
    """The :class:`Contribution` of one chunk's extraction."""
    aliases = chunk_aliases(extraction.mentions)
    keys = {canonical(m.key, aliases) if aliases else m.key for m in extraction.mentions}
    return Contribution(extraction.chunk_id, tuple(sorted(keys)), tuple(sorted(aliases.items())))


class ContributionIndex(Protocol):
    """The contributions a graph was built from, as a graph store that updates in place keeps
    them (read in the state of its last complete graph)."""

    def graph_chunk_ids(self) -> set[str]:
        """The chunks the graph was built from."""
        ...

    def contributions(self, chunk_ids: Collection[str]) -> list[Contribution]:
        """The contributions of those of ``chunk_ids`` the graph was built from."""
        ...

    def key_counts(self, keys: Collection[str]) -> dict[str, int]:
        """How many chunks contribute to each of ``keys`` (keys with none left out)."""
        ...

    def chunks_of_keys(self, keys: Collection[str]) -> set[str]:
        """The chunks that contribute to any of ``keys``."""
        ...

    def alias_votes(self) -> dict[str, dict[str, int]]:
        """Short key -> long key -> how many chunks show that alias."""
        ...


@dataclass(frozen=True, slots=True)
class ChangePlan:
    """What a change of chunks reaches. ``keys``: the entity keys to assemble again (their
    entities and every relation touching them are replaced; a key that no longer has an entity
    is deleted). ``moved``: the corpus-wide merged aliases after the change. ``read``: the
    chunks (besides the added ones) whose extractions :func:`assemble_part` needs.
    ``added`` and ``removed``: the contributions that enter and leave the index."""

    keys: frozenset[str]
    moved: Mapping[str, str]
    read: frozenset[str]
    added: tuple[Contribution, ...]
    removed: tuple[Contribution, ...]

    @property
    def entity_ids(self) -> set[str]:
        """The ids of the entities the change replaces or deletes."""
        return {entity_id(key) for key in self.keys}


def _resolve(votes: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
    table = AliasTable()
    for short, longs in votes.items():
        for long in longs:
            table.add({short: long})
    return table.resolve()


def _apply_votes(votes: dict[str, dict[str, int]], items: Iterable[Contribution],
                 sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) the alias votes of ``items``."""
    for item in items:
        for short, long in item.aliases:
            longs = votes.setdefault(short, {})
            longs[long] = longs.get(long, 0) + sign
            if longs[long] <= 0:
                del longs[long]
            if not longs:
                del votes[short]


def plan_change(index: ContributionIndex, added: Sequence[ChunkExtraction],
                removed: Collection[str]) -> ChangePlan:
    """What adding the extractions ``added`` (chunks the graph was not built from) and removing
    the chunks ``removed`` reaches (see the module docstring)."""
    gone = tuple(index.contributions(removed))
    new = tuple(contribution(x) for x in added)
    votes = index.alias_votes()
    aliases_before = _resolve(votes)
    _apply_votes(votes, gone, -1)
    _apply_votes(votes, new, 1)
    aliases_after = _resolve(votes)
    asked = {k for table in (aliases_before, aliases_after) for pair in table.items()
             for k in pair}
    counts = index.key_counts(asked)
    delta: dict[str, int] = {}
    for sign, items in ((-1, gone), (1, new)):
        for item in items:
            for key in item.keys:
                delta[key] = delta.get(key, 0) + sign
    before = moved_keys(aliases_before, {k for k in asked if counts.get(k, 0) > 0})
    after = moved_keys(aliases_after,
                       {k for k in asked if counts.get(k, 0) + delta.get(k, 0) > 0})
    changed = {k for c in (*gone, *new) for k in c.keys}
    keys = {before.get(k, k) for k in changed} | {after.get(k, k) for k in changed}
    for short in before.keys() | after.keys():
        if before.get(short) != after.get(short):
            keys.update((short, before.get(short, short), after.get(short, short)))
    members = keys | {short for short, long in after.items() if long in keys}
    dropped = {c.chunk_id for c in gone}
    read = index.chunks_of_keys(members) - dropped - {x.chunk_id for x in added}
    return ChangePlan(frozenset(keys), after, frozenset(read), new, gone)
