"""Graph-global search: community summaries for questions about the whole corpus ("what are the
main themes?"), or the communities whose reports best match a question."""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from graphready.knowledge import Community

from .graph_arrays import KeyTable, NamedArrays, Strings
from .text import terms

_GLOBAL = re.compile(
    r"\b(main|key|major|central|overall|common|recurring|important)\s+(themes?|topics?|ideas?|"
    r"subjects?|points?|threads?|entities|people|characters|players)\b"
    r"|\b(themes?|overview|summar(y|ize|ise|ies)|gist)\b"
    r"|\bwhat\s+(is|are)\s+(this|these|the)\s+(corpus|collection|dataset|documents?|texts?|"
    r"books?|files?)\s+about\b"
    r"|\bacross\s+(all|the)\s+(documents?|corpus|collection)\b",
    re.IGNORECASE,
)


def is_global_question(question: str) -> bool:
    """Whether a question asks about the corpus as a whole rather than a specific fact."""
    return bool(_GLOBAL.search(question))


@dataclass(frozen=True, slots=True)
class CommunityHit:
    """A community and how well it answers the question."""

    community: Community
    score: float


@dataclass(frozen=True, slots=True)
class CommunityArrays(NamedArrays):
    """What :class:`CommunityIndex` searches, as flat arrays (mapped from a file with the graph
    API's view: :mod:`graphready.explore.view_arrays`): each term of the reports (one blob and a
    table of their hashes) with its idf and the communities whose report has it, in order
    (CSR: ``members[starts[t]:starts[t + 1]]``); each community's level, size and id."""

    term_blob: npt.NDArray[np.uint8]
    term_offsets: npt.NDArray[np.int64]
    term_hashes: npt.NDArray[np.uint64]
    term_rows: npt.NDArray[np.int32]
    idf: npt.NDArray[np.float64]
    starts: npt.NDArray[np.int64]
    members: npt.NDArray[np.int32]
    level: npt.NDArray[np.int32]
    size: npt.NDArray[np.int32]
    id_blob: npt.NDArray[np.uint8]
    id_offsets: npt.NDArray[np.int64]


def community_arrays(communities: Sequence[Community]) -> CommunityArrays:
    """The arrays that :class:`CommunityIndex` searches ``communities`` with."""
    postings: dict[str, list[int]] = {}
    for index, community in enumerate(communities):
        for term in dict.fromkeys(terms(f"{community.title} {community.summary}")):
            postings.setdefault(term, []).append(index)
    n = max(len(communities), 1)
    names = list(postings)
    term_strings, ids = Strings.of(names), Strings.of(c.id for c in communities)
    hashes, rows = KeyTable.arrays(names, range(len(names)))
    starts = np.zeros(len(names) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in postings.values()], out=starts[1:])
    members = array("i")
    for found in postings.values():
        members.extend(found)
    return CommunityArrays(
        term_strings.blob, term_strings.offsets, hashes, rows,
        np.array([math.log((n + 1) / (len(p) + 0.5)) for p in postings.values()],
                 dtype=np.float64),
        starts, np.frombuffer(members, dtype=np.int32).copy(),
        np.array([c.level for c in communities], dtype=np.int32),
        np.array([len(c.entity_ids) for c in communities], dtype=np.int32), ids.blob,
        ids.offsets)


class CommunityIndex:
    """Read-only index over community reports: ``communities`` (any sequence: the graph API
    view's records, read one at a time, serve) and their arrays, built here unless given."""

    def __init__(self, communities: Sequence[Community],
                 arrays: CommunityArrays | None = None) -> None:
        self._communities = communities
        found = arrays or community_arrays(communities)
        self._term = KeyTable(found.term_hashes, found.term_rows,
                              Strings(found.term_blob, found.term_offsets).__getitem__)
        self._idf, self._starts, self._members = found.idf, found.starts, found.members
        self._level, self._size = found.level, found.size
        self._ids = Strings(found.id_blob, found.id_offsets)
        self._largest = int(found.size.max()) if len(found.size) else 1

    def __len__(self) -> int:
        return len(self._communities)

    def search(self, question: str, k: int) -> list[CommunityHit]:
        """The best ``k`` communities. For a corpus-wide question, the largest top-level
        communities (the main themes), lightly steered by the question's words; otherwise the
        communities whose reports share the most (rare) words with the question."""
        broad = is_global_question(question)
        # In "what are the main themes of the letters?" only "letters" may steer the choice.
        wanted = set(terms(_GLOBAL.sub(" ", question) if broad else question))
        overlaps: dict[int, float] = {}
        asked = list(wanted)
        # summed in the order of ``wanted``, as a per-community sum would
        for number in self._term.find(asked) if asked else ():
            if number < 0:
                continue
            idf = float(self._idf[number])
            for index in self._members[self._starts[number]: self._starts[number + 1]].tolist():
                overlaps[index] = overlaps.get(index, 0) + idf
        if broad:  # every top-level community, by index
            chosen = np.flatnonzero(self._level == 0).tolist()
        else:
            chosen = sorted(i for i, overlap in overlaps.items() if overlap > 0)
        scored = []
        for index in chosen:
            overlap = overlaps.get(index, 0)
            size = int(self._size[index]) / self._largest
            score = size + 0.1 * overlap if broad else overlap + 0.2 * size
            scored.append((score, index))
        scored.sort(key=lambda hit: (-hit[0], self._ids[hit[1]]))
        return [CommunityHit(self._communities[index], score) for score, index in scored[:k]]
