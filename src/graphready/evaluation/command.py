"""``graphready eval``: index a corpus (reusing what is persisted), run the questions through
each mode, print the table, optionally write JSON. ``--unanswerable FILE`` (any number) adds
questions of other corpora, less those whose answer the corpus holds, to measure abstention."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from graphready.config import Settings
from graphready.errors import ConfigError

from .questions import Question, load_questions, not_held_by
from .runner import check_modes, evaluate_mode, format_table


def _link_corpus(settings: Settings, corpus: Path) -> Path:
    """A documents folder under the data dir holding a link to ``corpus``."""
    if not corpus.is_file():
        raise ConfigError("CORPUS", f"{corpus} is not a file")
    folder = settings.data_dir / "eval-corpus"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / corpus.name
    if link.is_symlink() or link.exists():
        if link.resolve() == corpus.resolve():
            return folder
        link.unlink()
    for other in folder.iterdir():
        other.unlink()
    link.symlink_to(corpus.resolve())
    return folder


def run_eval(settings: Settings, corpus: Path, questions_path: Path, modes: Sequence[str],
             ks: Sequence[int], json_out: Path | None, limit: int | None,
             unanswerable_paths: Sequence[Path] = ()) -> int:
    """Index, evaluate, report; 0 on success."""
    from graphready.agent.agent import OfflineAgent
    from graphready.commands import run_index
    from graphready.retrieval.loading import load_toolset
    from graphready.stores.registry import open_stores

    check_modes(modes)
    if not ks or min(ks) < 1:
        raise ConfigError("--k", "give positive integers, e.g. 2,5,10")
    questions = load_questions(questions_path, limit)
    unanswerable: list[Question] = []
    for path in unanswerable_paths:
        unanswerable += not_held_by(load_questions(path, limit), corpus)
    settings = replace(settings, docs_dir=_link_corpus(settings, corpus))
    if run_index(settings) != 0:
        print("graphready: indexing failed; see the messages above", file=sys.stderr)
        return 1
    stores = open_stores(settings)
    try:
        tools = load_toolset(settings, stores)
        agent = OfflineAgent(stores.catalog)
        results = [evaluate_mode(tools, stores.catalog, questions, mode, ks,
                                 settings.default_top_k, unanswerable, agent) for mode in modes]
    finally:
        stores.close()
    print(f"{len(questions)} questions from {questions_path}; passage recall@k in %, "
          "answer metrics in % (extractive answers; short: the short answer; supported: the "
          "answers' claims that the passages they cite support), abstain: "
          "share answered \"the documents don't say\" in %, retrieval latency in ms, "
          "answer p95: composing the answer, over retrieval")
    if unanswerable_paths:
        print(f"abstain-unans: over {len(unanswerable)} questions the corpus does not hold, "
              f"from {', '.join(str(p) for p in unanswerable_paths)}")
    print(format_table(results, ks))
    if json_out is not None:
        json_out.write_text(json.dumps({"corpus": str(corpus), "questions": str(questions_path),
                                        "unanswerable": [str(p) for p in unanswerable_paths],
                                        "results": [r.as_dict() for r in results]}, indent=2))
    return 0
