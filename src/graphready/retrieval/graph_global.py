"""Graph-global search: community summaries for questions about the whole corpus ("what are the
main themes?"), or the communities whose reports best match a question."""

from __future__ import annotations

import math
import re
from array import array
from dataclasses import dataclass

from graphready.knowledge import Community

from .graph_arrays import KeyTable, Strings
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


class CommunityIndex:
    """Read-only index over community reports."""

    def __init__(self, communities: tuple[Community, ...]) -> None:
        self._communities = communities
        # term -> the communities whose report has it, in order, all in one array (CSR):
        # ``_members[_starts[t]:_starts[t + 1]]`` for term number ``t``. The terms are held as
        # one blob and a table of their hashes (:mod:`graph_arrays`), not a string and a dict
        # entry each.
        postings: dict[str, list[int]] = {}
        for index, community in enumerate(communities):
            for term in dict.fromkeys(terms(f"{community.title} {community.summary}")):
                postings.setdefault(term, []).append(index)
        n = max(len(communities), 1)
        names = list(postings)
        self._terms = Strings.of(names)
        self._term = KeyTable(*KeyTable.arrays(names, range(len(names))), self._terms.__getitem__)
        del names
        self._idf = array("d", (math.log((n + 1) / (len(p) + 0.5)) for p in postings.values()))
        self._starts = array("i", [0])
        self._members = array("i")
        for found in postings.values():
            self._members.extend(found)
            self._starts.append(len(self._members))
        self._largest = max((len(c.entity_ids) for c in communities), default=1)

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
            idf = self._idf[number]
            for index in self._members[self._starts[number]: self._starts[number + 1]]:
                overlaps[index] = overlaps.get(index, 0) + idf
        hits = []
        for index, community in enumerate(self._communities):
            overlap = overlaps.get(index, 0)
            size = len(community.entity_ids) / self._largest
            if broad:
                if community.level != 0:
                    continue
                score = size + 0.1 * overlap
            else:
                if overlap <= 0:
                    continue
                score = overlap + 0.2 * size
            hits.append(CommunityHit(community, score))
        hits.sort(key=lambda h: (-h.score, h.community.id))
        return hits[:k]
