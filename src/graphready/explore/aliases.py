"""The other names of each entity, read back from the stored extractions (pure): the surface
forms its mentions were written in besides its name, and the short forms merged into it as
aliases (``Curie`` into ``Marie Curie``, ``NASA`` into its full name), resolved exactly as
assembly resolves them (:mod:`graphready.extraction.aliases`), so every name found belongs to
the entity the graph holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Mapping

from graphready.extraction.aliases import AliasTable, canonical, chunk_aliases
from graphready.extraction.assemble import entity_id
from graphready.knowledge import ChunkExtraction

MAX_ALIASES = 20


def entity_aliases(extractions: Iterable[ChunkExtraction], names: Mapping[str, str],
                   chunks: Container[str]) -> dict[str, tuple[str, ...]]:
    """Entity id -> its other names, the most frequent first (at most ``MAX_ALIASES``), for
    the entities of ``names`` (id -> name), from the extractions of ``chunks`` only (a build
    may have stored extractions the loaded graph does not hold yet). Names that differ from
    the entity's name only in case are left out."""
    table = AliasTable()
    seen: Counter[tuple[str, str]] = Counter()
    for extraction in extractions:
        if extraction.chunk_id not in chunks:
            continue
        local = chunk_aliases(extraction.mentions)
        table.add(local)
        for mention in extraction.mentions:
            seen[(canonical(mention.key, local) if local else mention.key, mention.name)] += 1
    resolved = table.resolve()
    found: dict[str, Counter[str]] = {}
    for (key, name), count in seen.items():
        owner = entity_id(resolved.get(key, key))
        if owner not in names:
            owner = entity_id(key)
        if owner in names and name.casefold() != names[owner].casefold():
            found.setdefault(owner, Counter())[name] += count
    return {owner: tuple(n for n, _ in sorted(counts.items(), key=lambda i: (-i[1], i[0]))
                         [:MAX_ALIASES])
            for owner, counts in found.items()}
