"""The server's question embedder: the MiniLM session a server uses (``lean=True``: the int8
token table looked up before it is dequantised, no arena) against the build's fully optimised
one. For each, in a fresh process: the RSS its construction adds (imports excluded), after N
questions one at a time, and CPU and wall milliseconds per question; then the cosine between
the two sessions' vectors for the same questions.

    .venv/bin/python benchmarks/question_embedder.py [--questions 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = ROOT.parent / "shared" / "data" / "2wikimultihopqa_hipporag" / \
    "questions.dev.jsonl"

_ONE = """
import json, sys, time
import numpy as np, psutil
import onnxruntime, tokenizers, google.protobuf.message_factory  # imports are not the session
from graphready.embeddings.minilm import MiniLMEmbedder
from graphready.heap import release_free_memory
lean, questions = sys.argv[1] == "lean", json.loads(sys.argv[2])
rounds, out = int(sys.argv[3]), sys.argv[4]
def rss():
    return psutil.Process().memory_info().rss / 2**20
release_free_memory()
before = rss()
embedder = MiniLMEmbedder(lean=lean)
built = rss()
vectors = np.vstack([embedder.embed([q]) for q in questions])
cpu, wall = [], []
for _ in range(rounds):
    c, w = time.process_time(), time.perf_counter()
    for q in questions:
        embedder.embed([q])
    cpu.append((time.process_time() - c) / len(questions) * 1000)
    wall.append((time.perf_counter() - w) / len(questions) * 1000)
np.save(out, vectors)
print(json.dumps({"session_mib": built - before, "after_questions_mib": rss() - before,
                  "cpu_ms": min(cpu), "wall_ms": min(wall)}))
"""


def measure(kind: str, questions: list[str], rounds: int, out: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", _ONE, kind, json.dumps(questions),
                           str(rounds), str(out)], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions-from", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="best of N timed passes")
    args = parser.parse_args()
    questions = [json.loads(line)["question"]
                 for line in args.questions_from.open()][: args.questions]
    with tempfile.TemporaryDirectory() as work:
        results = {kind: measure(kind, questions, args.rounds, Path(work) / f"{kind}.npy")
                   for kind in ("fast", "lean")}
        fast, lean = (np.load(Path(work) / f"{kind}.npy") for kind in ("fast", "lean"))
    cosines = (fast * lean).sum(axis=1)
    print(f"{len(questions)} questions, one at a time, best of {args.rounds} passes")
    print(f"{'session':8s} {'RSS MiB':>8s} {'after Qs':>9s} {'CPU ms/q':>9s} {'wall ms/q':>10s}")
    for kind, r in results.items():
        print(f"{kind:8s} {r['session_mib']:8.1f} {r['after_questions_mib']:9.1f} "
              f"{r['cpu_ms']:9.2f} {r['wall_ms']:10.2f}")
    print(f"cosine lean vs fast: min {cosines.min():.7f}, "
          f"max abs difference {np.abs(fast - lean).max():.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
