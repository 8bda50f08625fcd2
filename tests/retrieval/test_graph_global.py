"""Community search gives exactly what scoring each report word by word gives (the terms are
held as a blob and a hash table, not a dict): every community a question's rare words reach, by
the summed idf of the words it shares, and the largest top-level ones for a broad question."""

from __future__ import annotations

import math
import random

from graphready.knowledge import Community
from graphready.retrieval.graph_global import _GLOBAL, CommunityIndex, is_global_question
from graphready.retrieval.text import terms

WORDS = ["river", "rivers", "bridge", "tower", "castle", "film", "films", "director", "queen",
         "opera", "harbour", "Zoë", "café", "naïve", "königsberg", "ship", "war", "peace"]


def communities(rng: random.Random, count: int) -> tuple[Community, ...]:
    found = []
    for i in range(count):
        level = rng.choice((0, 0, 1))
        members = tuple(f"e{j}" for j in range(rng.randint(1, 9)))
        title = " ".join(rng.sample(WORDS, 2))
        summary = " ".join(rng.choices(WORDS, k=rng.randint(0, 12)))
        found.append(Community(f"c{i:02d}", level, None, members, title, summary, (), 1.0))
    return tuple(found)


def reference(found: tuple[Community, ...], question: str, k: int) -> list[tuple[str, float]]:
    """The scores worked out per community, from each report's set of terms."""
    reports = [set(terms(f"{c.title} {c.summary}")) for c in found]
    n = max(len(found), 1)
    idf = {t: math.log((n + 1) / (sum(t in r for r in reports) + 0.5))
           for r in reports for t in r}
    broad = is_global_question(question)
    wanted = set(terms(_GLOBAL.sub(" ", question) if broad else question))
    largest = max((len(c.entity_ids) for c in found), default=1)
    scored = []
    for community, report in zip(found, reports, strict=True):
        overlap = 0.0
        for term in wanted:  # the index's order of summation
            if term in report:
                overlap += idf[term]
        size = len(community.entity_ids) / largest
        if broad and community.level == 0:
            scored.append((community.id, size + 0.1 * overlap))
        elif not broad and overlap > 0:
            scored.append((community.id, overlap + 0.2 * size))
    return sorted(scored, key=lambda s: (-s[1], s[0]))[:k]


def test_search_equals_scoring_each_report() -> None:
    rng = random.Random(7)
    for round_ in range(30):
        found = communities(rng, rng.randint(0, 25))
        index = CommunityIndex(found)
        questions = [" ".join(rng.choices([*WORDS, "unknown", "the"], k=rng.randint(0, 4)))
                     for _ in range(20)] + ["What are the main themes of the films?", ""]
        for question in questions:
            got = [(h.community.id, h.score) for h in index.search(question, 5)]
            assert got == reference(found, question, 5), (round_, question)


def test_every_term_of_a_report_finds_it() -> None:
    found = communities(random.Random(11), 40)
    index = CommunityIndex(found)
    for community in found:
        for term in set(terms(f"{community.title} {community.summary}")):
            hits = {h.community.id for h in index.search(term, len(found))}
            assert community.id in hits, term
