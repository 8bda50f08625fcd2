"""Calibrate ``graphready.agent.support`` (whether a sentence a model wrote is supported by the
passages it cites) on the development halves' gold facts: each fact a sentence, labelled by
which passages hold it.

- MuSiQue: each hop of a question's decomposition ("#1" replaced by the earlier hop's answer),
  with its answer, against the supporting passage that holds the answer;
- 2Wiki: each evidence triple (subject, relation, object) against the supporting passage that
  holds its object;
- HotpotQA: the question with its answer against both supporting passages (a sentence that
  cites two passages).

Each fact gives one supported pair and two unsupported ones: the fact against another passage
(the question's other supporting passage when it does not hold the answer, else another
question's), and the fact with its answer swapped for another fact's answer not written in the
passage (a wrong fact told in the right context: what a model inventing looks like).

It sweeps the name weight and the threshold and prints, for each, the share of each kind
flagged, then the pair chosen: the one that catches the most unsupported pairs while flagging at
most 5% of the supported ones.

    python benchmarks/calibrate_support.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphready.agent.support import support

SETS = ("musique_mini", "2wikimultihopqa_hipporag", "hotpotqa_mini")
MAX_FLAGGED = 0.05
WEIGHTS = (1.0, 2.0, 3.0, 4.0)
THRESHOLDS = tuple(round(0.30 + 0.05 * i, 2) for i in range(13))


@dataclass(frozen=True)
class Case:
    sentence: str
    passages: list[str]
    supported: bool
    kind: str


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _facts(name: str, q: dict[str, Any], passages: dict[str, str]
           ) -> list[tuple[str, str, list[str], list[str]]]:
    """(sentence, answer, the passages holding it, other passages) of one question."""
    support = [passages[i] for i in q.get("supporting_ids", []) if i in passages]
    out = []
    if name.startswith("musique"):
        answers: list[str] = []
        for hop in q.get("question_decomposition", []):
            text = str(hop["question"])
            for n, earlier in enumerate(answers, start=1):
                text = text.replace(f"#{n}", earlier)
            answers.append(str(hop["answer"]))
            out.append((f"{text.replace('>>', '').strip()} {hop['answer']}", str(hop["answer"])))
    elif name.startswith("2wiki"):
        out = [(" ".join(t), str(t[2])) for t in q.get("evidence_triples", [])]
    else:
        answer = str(q["answers"][0])
        facts = [(f"{q['question']} {answer}", answer, support, [])]
        return facts if any(answer.casefold() in p.casefold() for p in support) else []
    found = []
    for sentence, answer in out:
        holding = [p for p in support if answer.casefold() in p.casefold()]
        if len(holding) == 1:
            found.append((sentence, answer, holding, [p for p in support if p is not holding[0]
                                                      and answer.casefold() not in p.casefold()]))
    return found


def cases(name: str, folder: Path, rng: random.Random) -> list[Case]:
    """The labelled sentence-passage pairs of one set."""
    passages = {str(r["id"]): f"{r['title']}. {r['text']}"
                for r in _rows(folder / "corpus.jsonl")}
    facts = [f for q in _rows(folder / "questions.dev.jsonl") for f in _facts(name, q, passages)]
    out = []
    for sentence, answer, holding, others in facts:
        joined = "\n".join(holding)
        out.append(Case(sentence, holding, True, "supported"))
        if not others:
            other = rng.choice(facts)[2]
            others = [] if answer.casefold() in "\n".join(other).casefold() else other
        if others:
            out.append(Case(sentence, others, False, "other passage"))
        swaps = [f[1] for f in facts if f[1].casefold() not in joined.casefold()]
        start = sentence.casefold().rfind(answer.casefold())
        if swaps and start >= 0:
            swapped = sentence[:start] + rng.choice(swaps) + sentence[start + len(answer):]
            out.append(Case(swapped, holding, False, "swapped answer"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    labelled = [c for name in SETS for c in cases(name, args.data / name, rng)]
    kinds = sorted({c.kind for c in labelled})
    print("pairs:", {k: sum(c.kind == k for c in labelled) for k in kinds})
    best: tuple[float, float, float] | None = None
    for weight in WEIGHTS:
        shares = [(c, support(c.sentence, c.passages, 0.0, weight)) for c in labelled]
        for threshold in THRESHOLDS:
            rates = {}
            for kind in kinds:
                these = [(c, s) for c, s in shares if c.kind == kind]
                flagged = sum(1 for _, s in these if s.missing_numbers or s.share < threshold)
                rates[kind] = flagged / len(these)
            caught = sum(v for k, v in rates.items() if k != "supported")
            print(f"name weight {weight:g} threshold {threshold:.2f}: " + ", ".join(
                f"{k} {100 * v:.1f}% flagged" for k, v in rates.items()))
            if rates["supported"] <= MAX_FLAGGED and (best is None or caught > best[2]):
                best = (weight, threshold, caught)
    if best is not None:
        print(f"chosen: NAME_WEIGHT = {best[0]:g}, THRESHOLD = {best[1]:.2f}")


if __name__ == "__main__":
    main()
