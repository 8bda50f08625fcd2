"""``graphready eval`` end to end on a tiny corpus, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.corpus import NEEDLE, NEEDLE_ANSWER, NEEDLE_QUESTION, write_corpus


def run_eval(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env["GRAPHREADY_EMBEDDER"] = "hashing"
    return subprocess.run([sys.executable, "-m", "graphready.cli", "eval", *args,
                           "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, env=env, timeout=300)


def test_eval_prints_and_writes_recall_per_mode(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "docs", passages=60)
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": "q1", "question": NEEDLE_QUESTION, "answers": [NEEDLE_ANSWER],
         "supporting_ids": [NEEDLE["id"]]},
        {"id": "q2", "question": "Who built the lighthouse in Brittany?",
         "answers": ["Marisol Quenby"], "supporting_ids": [NEEDLE["id"], "bio-00001"]},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "eval.json"
    done = run_eval(tmp_path, str(corpus), str(questions), "--k", "1,5", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "R@1" in done.stdout and "auto" in done.stdout
    results = {r["mode"]: r for r in json.loads(out.read_text())["results"]}
    assert set(results) == {"keyword", "vector", "hybrid", "graph_local", "auto"}
    for result in results.values():
        assert result["questions"] == 2
        assert 0 <= result["recall"]["1"] <= result["recall"]["5"] <= 100
    assert results["keyword"]["recall"]["5"] >= 50.0
    assert results["auto"]["answer_in_citations"] > 0
    # offline answers quote their passages: every claim is held by the passage it cites
    assert results["auto"]["claims"] >= 2 and results["auto"]["supported_claims"] == 100.0
    assert "supported" in done.stdout

    again = run_eval(tmp_path, str(corpus), str(questions), "--modes", "auto", "--k", "2")
    assert again.returncode == 0, again.stderr
    assert "graph: loaded" in again.stderr


def test_eval_names_bad_input(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "docs", passages=5)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok", "answers": [], "supporting_ids": []}\n{oops\n')
    done = run_eval(tmp_path, str(corpus), str(bad))
    assert done.returncode == 2 and "bad.jsonl:2" in done.stderr
    unknown = run_eval(tmp_path, str(corpus), str(bad), "--modes", "psychic")
    assert unknown.returncode == 2 and "psychic" in unknown.stderr
    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "ok", "answers": [], "supporting_ids": []}\n')
    missing = run_eval(tmp_path, str(tmp_path / "nope.jsonl"), str(good))
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr
