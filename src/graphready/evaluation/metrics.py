"""Evaluation metrics (pure): passage recall@k, and SQuAD-style exact match and token F1."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_PUNCT = str.maketrans("", "", string.punctuation + "‘’“”")


def recall_at_k(ranked_ids: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """The share of ``relevant`` ids found among the first ``k`` of ``ranked_ids``
    (duplicates count once); 0 when nothing is relevant."""
    wanted = set(relevant)
    if not wanted:
        return 0.0
    top = set(ranked_ids[:k])
    return len(wanted & top) / len(wanted)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (as in SQuAD's evaluation)."""
    text = text.casefold().translate(_PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, references: Iterable[str]) -> float:
    """1.0 when the normalised prediction equals a normalised reference."""
    predicted = normalize_answer(prediction)
    return float(any(predicted == normalize_answer(r) for r in references))


def token_f1(prediction: str, references: Iterable[str]) -> float:
    """The best token-overlap F1 of the prediction against any reference."""
    predicted = normalize_answer(prediction).split()
    best = 0.0
    for reference in references:
        wanted = normalize_answer(reference).split()
        common = Counter(predicted) & Counter(wanted)
        overlap = sum(common.values())
        if not overlap:
            continue
        precision, recall = overlap / len(predicted), overlap / len(wanted)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def answer_in_texts(references: Iterable[str], texts: Iterable[str]) -> float:
    """1.0 when a normalised reference answer occurs in one of the normalised texts."""
    haystacks = [f" {normalize_answer(t)} " for t in texts]
    for reference in references:
        needle = normalize_answer(reference)
        if needle and any(f" {needle} " in h for h in haystacks):
            return 1.0
    return 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, -(-len(ordered) * q // 100) - 1))
    return ordered[int(index)]
