"""Follow-up questions at 2Wiki size, offline: how often the rewrite finds the person a
pronoun means, and what it costs.

For each 2Wiki development question with an evidence triple about a person's birth or death
(subject, "date of death", ...), a two-turn conversation: "Who was SUBJECT?" answered with the
sentences the offline agent quotes, then the follow-up with a pronoun ("When did he die?"; he
or she as the subject's passage says). It prints recall@5 of the subject's passage for the
follow-up as written and as searched (``agent.followup.resolve``), how often the searched
question names the subject, and the p50/p95 of the rewrite's time (what a follow-up adds to
its answer).

    python benchmarks/followup.py --data ../shared/data \\
        --data-dir /tmp/eval19-2wikimultihopqa_hipporag

The data dir is one ``graphready eval`` built for the 2Wiki corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from common import percentile
from graphready.agent.answer import Passage, extractive_answer
from graphready.agent.followup import pronoun_of, resolve
from graphready.config import load_settings
from graphready.retrieval.loading import load_toolset
from graphready.retrieval.pipeline import retrieve
from graphready.stores.registry import open_stores

SET = "2wikimultihopqa_hipporag"
TEMPLATES = {
    "date of death": "When did {p} die?", "date of birth": "When was {p} born?",
    "place of birth": "Where was {p} born?", "place of death": "Where did {p} die?",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--data-dir", type=Path, default=Path(f"/tmp/eval19-{SET}"))
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    corpus = {}
    for line in (args.data / SET / "corpus.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        corpus[row["title"]] = (row["id"], row["text"])
    cases = []
    for line in (args.data / SET / "questions.dev.jsonl").read_text("utf-8").splitlines():
        q = json.loads(line)
        for subject, relation, _ in q.get("evidence_triples", []):
            if relation in TEMPLATES and subject in corpus:
                pronoun = pronoun_of(corpus[subject][1])
                if pronoun is not None:
                    cases.append((subject, TEMPLATES[relation].format(p=pronoun),
                                  corpus[subject][0]))
    cases = list(dict.fromkeys(cases))[:args.limit]
    settings = load_settings(os.environ, data_dir=args.data_dir)
    stores = open_stores(settings)
    try:
        tools = load_toolset(settings, stores)
        k = 5

        def answer(question: str) -> str:
            """The sentences the offline agent quotes for ``question``."""
            hits = retrieve(tools, question, "auto", k).hits
            chunks = stores.catalog.get_chunks([h.chunk_id for h in hits])
            return extractive_answer(question, [Passage(c.id, c.doc_id, c.title, c.text, 0.0)
                                                for c in chunks]).text

        def top_docs(question: str) -> list[str]:
            hits = retrieve(tools, question, "auto", k).hits
            return [c.doc_id for c in stores.catalog.get_chunks([h.chunk_id for h in hits])]

        as_written = as_searched = named = 0
        times: list[float] = []
        for subject, follow_up, doc in cases:
            first = f"Who was {subject}?"
            history = [{"role": "user", "content": first},
                       {"role": "assistant",
                        "content": answer(first)}]
            start = time.perf_counter()
            searched = resolve(follow_up, history, tools, stores.catalog)
            times.append(time.perf_counter() - start)
            named += subject.casefold() in searched.casefold()
            as_written += doc in top_docs(follow_up)
            as_searched += doc in top_docs(searched)
    finally:
        stores.close()
    n = max(len(cases), 1)
    print(f"{len(cases)} follow-ups on {SET}")
    print(f"recall@5 of the subject's passage: as written {100 * as_written / n:.1f}, "
          f"as searched {100 * as_searched / n:.1f}")
    print(f"searched question names the subject: {100 * named / n:.1f}%")
    print(f"rewrite time: p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms")


if __name__ == "__main__":
    main()
