"""Fit the weights of ``graphready.agent.abstain`` (a logistic model over its features).

For each question set (``SETS``) it retrieves, in ``auto`` mode, for the set's development
questions (answerable) and for up to ``--per-set`` questions of every other set asked against the
same corpus (not answerable: a question whose reference answer occurs in the corpus is left
out), computes the features, fits the weights by gradient descent on the log loss (classes
balanced), then picks the lowest threshold at which at most 5% of answerable questions abstain
on every set, and prints the weights, the threshold and each set's abstention rates. Then, as a
check against overfitting, it fits again on half of every set's questions (even positions) and
reports on the other half, and the other way round.

    python benchmarks/calibrate_abstention.py --data ../shared/data \
        --data-dir-pattern /tmp/eval19-{set}

The data dirs are those ``graphready eval CORPUS QUESTIONS --data-dir DIR`` built. With
``--cache FILE`` what retrieval found is kept there, and a later run with the same file only
recomputes the features (by the code as it is then) and fits again: a change to the answer's
code is recalibrated in seconds. Copy the printed constants into
``src/graphready/agent/abstain.py``. ``--errors`` prints instead why the short answers of the
answerable questions are not right, by class (answer not in the passages read, a comparison, a
candidate of the right label ranked below another, tagged with another label, a tagged span
overlapping the answer, not a tagged span), with the F1 points each class loses.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from graphready.agent.abstain import FEATURES, features
from graphready.agent.reading import LABELS, sentences_of
from graphready.agent.short_answer import Source, question_kind, short_answer
from graphready.agent.tagging import KnownNamesTagger, Tagger
from graphready.config import load_settings
from graphready.evaluation.metrics import normalize_answer, token_f1
from graphready.evaluation.questions import load_questions
from graphready.retrieval.loading import load_toolset
from graphready.retrieval.pipeline import retrieve
from graphready.stores.registry import open_stores

SETS = ("musique_mini", "hotpotqa_mini", "2wikimultihopqa_hipporag")
OTHERS = (*SETS, "graphrag_bench_medical", "graphrag_bench_novel",
                 "graphrag_podcast_kevin_scott")
MAX_ANSWERABLE_ABSTAIN = 0.05
CUT_MARGIN = 0.01
EVAL_DEPTH = 20
"""The depth ``graphready eval`` retrieves answerable questions at (twice its largest k)."""

Row = tuple[str, bool, tuple[float, ...]]
ByTarget = dict[str, list[Row]]
Retrieved = tuple[str, bool, str, list[tuple[str, str]], list[tuple[str, str]]]
"""What retrieval found for one question: ``(origin set, answerable, question, passages as
(title, text), the names the graph knows in them with their labels)``."""


def _corpus_text(path: Path) -> str:
    rows = (json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip())
    return " " + " ".join(normalize_answer(f"{r['title']} {r['text']}") for r in rows) + " "


def collect(data: Path, target: str, data_dir: Path, per_set: int) -> list[Retrieved]:
    """What retrieval finds for the questions asked against ``target``."""
    settings = load_settings(os.environ, data_dir=data_dir)
    stores = open_stores(settings)
    corpus = _corpus_text(data / target / "corpus.jsonl")
    rows: list[Retrieved] = []
    try:
        tools = load_toolset(settings, stores)
        for origin in OTHERS:
            answerable = origin == target
            questions = load_questions(data / origin / "questions.dev.jsonl",
                                       None if answerable else per_set)
            for q in questions:
                if not answerable and any(
                        normalize_answer(a) and f" {normalize_answer(a)} " in corpus
                        for a in q.answers):
                    continue
                # as graphready eval retrieves: the answerable questions at its recall depth,
                # the answer reading the best k (a deeper fusion may order them otherwise)
                k = settings.default_top_k
                hits = retrieve(tools, q.question, "auto", EVAL_DEPTH if answerable else k).hits[:k]
                chunks = {c.id: c for c in stores.catalog.get_chunks([h.chunk_id for h in hits])}
                passages = [(chunks[h.chunk_id].title, chunks[h.chunk_id].text)
                            for h in hits if h.chunk_id in chunks]
                names = [] if tools.graph is None else [
                    named for h in hits for named in tools.graph.typed_names_in(h.chunk_id)]
                rows.append((origin, answerable, q.question, passages, names))
    finally:
        stores.close()
    return rows


def featured(retrieved: list[Retrieved]) -> list[Row]:
    """``(origin set, answerable, features)`` of each question, by the code as it is now (the
    short answer typed by the names the graph knows, as the server types it)."""
    rows: list[Row] = []
    for origin, answerable, question, passages, names in retrieved:
        sources = [Source(title, text) for title, text in passages]
        typed = short_answer(question, sources, KnownNamesTagger(names)) is not None
        rows.append((origin, answerable, features(question, sources, typed)))
    return rows


def fit(x: np.ndarray, y: np.ndarray, steps: int = 20000, rate: float = 0.5) -> (
        tuple[np.ndarray, float]):
    """Logistic regression by gradient descent, both classes weighted equally."""
    weights, bias = np.zeros(x.shape[1]), 0.0
    balance = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ weights + bias)))
        grad = balance * (p - y)
        weights -= rate * (x.T @ grad)
        bias -= rate * grad.sum()
    return weights, float(bias)


def calibrate(by_target: ByTarget) -> tuple[np.ndarray, float]:
    """Weights and the bias with the cut folded in: the highest cut at which at most 5% of
    each set's answerable questions abstain."""
    rows = [r for t in SETS for r in by_target[t]]
    x = np.array([r[2] for r in rows])
    y = np.array([1.0 if r[1] else 0.0 for r in rows])
    weights, bias = fit(x, y)
    cuts = []
    for t in SETS:
        answerable = np.sort([z for z, r in zip(_scores(by_target[t], weights, bias),
                                                by_target[t], strict=True) if r[1]])
        at = int(MAX_ANSWERABLE_ABSTAIN * len(answerable))
        # a little below the score itself, where the printed (rounded to 3 places) weights
        # cannot tip that question to the abstaining side; never below the next lower one
        below = float(answerable[at - 1]) if at else -np.inf
        cuts.append(max(float(answerable[at]) - CUT_MARGIN,
                        (float(answerable[at]) + below) / 2))
    return weights, bias - min(cuts)


def _scores(rows: list[Row], weights: np.ndarray, bias: float) -> np.ndarray:
    scores: np.ndarray = np.array([r[2] for r in rows]) @ weights + bias
    return scores


def report(by_target: ByTarget, weights: np.ndarray, bias: float, detail: bool) -> None:
    """Each set's abstention rates (abstain: score below 0) under ``weights`` and ``bias``."""
    for t in SETS:
        abstain = _scores(by_target[t], weights, bias) < 0
        answerable = np.array([r[1] for r in by_target[t]])
        print(f"{t}: answerable {answerable.sum()} abstain {100 * abstain[answerable].mean():.1f}%"
              f", unanswerable {(~answerable).sum()} abstain "
              f"{100 * abstain[~answerable].mean():.1f}%")
        for origin in OTHERS if detail else ():
            mask = np.array([r[0] == origin and not r[1] for r in by_target[t]])
            if mask.any():
                print(f"    unanswerable from {origin} ({mask.sum()}): "
                      f"abstain {100 * abstain[mask].mean():.1f}%")


def error_classes(data: Path, retrieved: dict[str, list[Retrieved]]) -> None:
    """Why each set's answerable questions get a short answer that is not right (F1 < 1), by
    class, with the F1 points each class loses (the short answer before abstention)."""
    for t in SETS:
        answers = {q.question: q.answers for q in load_questions(data / t / "questions.dev.jsonl")}
        classes: dict[str, list[float]] = {}
        rows = [r for r in retrieved[t] if r[1]]
        for _, _, question, passages, names in rows:
            sources = [Source(title, text) for title, text in passages]
            tagger = KnownNamesTagger(names)
            found = short_answer(question, sources, tagger)
            f1 = token_f1(found or "", answers[question])
            classes.setdefault(_error_class(question, answers[question], sources, tagger, f1),
                               []).append(1 - f1)
        print(f"{t} ({len(rows)} answerable): questions (F1 points lost) by class")
        for name, lost in sorted(classes.items(), key=lambda kv: -len(kv[1])):
            print(f"    {len(lost):4d} ({100 * sum(lost) / len(rows):4.1f})  {name}")


def _error_class(question: str, answers: Sequence[str], sources: list[Source], tagger: Tagger,
                 f1: float) -> str:
    if f1 >= 1:
        return "right"
    golds = {normalize_answer(a) for a in answers} - {""}
    text = f" {normalize_answer(' '.join(f'{s.title} {s.text}' for s in sources))} "
    if not any(f" {g} " in text for g in golds):
        return "answer not in the passages read"
    kind = question_kind(question)
    if kind == "choice":
        return "a comparison answered wrong"
    spans = [span for s in sources for found in tagger.tag(sentences_of(s)) for span in found]
    exact = {span.label for span in spans if normalize_answer(span.text) in golds}
    if exact & LABELS.get(kind, LABELS["thing"]):
        return "a candidate of the right label, ranked below another"
    if exact:
        return "tagged, but with another label"
    if any(g in normalize_answer(span.text) or normalize_answer(span.text) in g
           for span in spans if normalize_answer(span.text) for g in golds):
        return "a tagged span overlaps the answer"
    return "not a tagged span"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--data-dir-pattern", default="/tmp/eval19-{set}")
    parser.add_argument("--per-set", type=int, default=150)
    parser.add_argument("--cache", type=Path, help="keep what retrieval found here between "
                        "runs (the features are computed again each run, by the code as it is)")
    parser.add_argument("--errors", action="store_true", help="print why the short answers "
                        "of the answerable questions are not right, by class, and stop")
    args = parser.parse_args()
    if args.cache is not None and args.cache.exists():
        retrieved = pickle.loads(args.cache.read_bytes())
    else:
        retrieved = {t: collect(args.data, t, Path(args.data_dir_pattern.format(set=t)),
                                args.per_set) for t in SETS}
        if args.cache is not None:
            args.cache.write_bytes(pickle.dumps(retrieved))
    if args.errors:
        error_classes(args.data, retrieved)
        return
    by_target = {t: featured(retrieved[t]) for t in SETS}
    weights, bias = calibrate(by_target)
    print("FEATURES =", FEATURES)
    print("WEIGHTS = (" + ", ".join(f"{w:.3f}" for w in weights) + ")")
    print(f"BIAS = {bias:.3f}  # the cut folded into the bias; THRESHOLD = 0.5")
    report(by_target, weights, bias, detail=True)
    for fitted, checked in ((0, 1), (1, 0)):
        halves = [{t: by_target[t][k::2] for t in SETS} for k in (fitted, checked)]
        print(f"held out: fitted on the {'even odd'.split()[fitted]} positions, "
              f"checked on the others")
        report(halves[1], *calibrate(halves[0]), detail=False)


if __name__ == "__main__":
    main()
