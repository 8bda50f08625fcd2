"""Graph-global search: community summaries for questions about the whole corpus ("what are the
main themes?"), or the communities whose reports best match a question."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from graphready.knowledge import Community

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
        self._terms = [Counter(terms(f"{c.title} {c.summary}")) for c in communities]
        df: Counter[str] = Counter()
        for bag in self._terms:
            df.update(bag.keys())
        n = max(len(communities), 1)
        self._idf = {t: math.log((n + 1) / (d + 0.5)) for t, d in df.items()}
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
        hits = []
        for community, bag in zip(self._communities, self._terms, strict=True):
            overlap = sum(self._idf.get(t, 0.0) for t in wanted if t in bag)
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
