"""What the server's question embedder (the lean MiniLM session, ``create_embedder(...,
questions_only=True)``) costs a process, part by part: the RSS each step adds and keeps and its
peak (Linux's VmHWM, reset before each step): importing onnxruntime, the tokenizer, the session
(with the model rewrite of ``embeddings/onnx_lookup.py``), the first question; then the median
seconds to embed one question. Each run is a fresh process; ``--src`` also measures another
checkout's ``src`` (the same benchmark before a change), its runs alternating with this
checkout's so that both see the same machine. It also prints whether both embed the questions
to the same vectors, bit for bit.

    .venv/bin/python benchmarks/embedder_memory.py [--runs 3] [--questions 50] [--src OTHER/src]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from graph_load import _rss, _status  # the same RSS and VmHWM readings

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["Who directed the film that won the Palme d'Or in 1994?",
             "When was the director of Alien (film) born?",
             "Which country is the birthplace of the composer of the film Doctor Zhivago?"]


def child(questions: int, vectors_file: Path) -> None:
    """Build the question embedder step by step, print one JSON line of measurements."""
    import numpy as np

    from graphready.config import Settings
    from graphready.embeddings import minilm

    steps: dict[str, tuple[float, float]] = {}
    at = _rss()

    def step(name: str) -> None:
        nonlocal at
        now = _rss()
        steps[name] = (now - at, _status("VmHWM") - at)
        at = now
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS

    start = at
    Path("/proc/self/clear_refs").write_text("5")
    import onnxruntime  # noqa: F401

    step("import onnxruntime")
    tokenizer = minilm._load_tokenizer(minilm._tokenizer_file(), 128)
    step("tokenizer")
    del tokenizer
    step("tokenizer dropped")
    from graphready.embeddings.registry import create_embedder

    settings = Settings(data_dir=vectors_file.parent, embedder="minilm")
    embedder = create_embedder(settings, questions_only=True)
    step("tokenizer and session")
    vectors = embedder.embed(QUESTIONS)
    step("first questions")
    np.save(vectors_file, vectors)
    seconds = []
    for i in range(questions):
        began = time.perf_counter()
        embedder.embed([f"{QUESTIONS[i % len(QUESTIONS)]} ({i})"])
        seconds.append(time.perf_counter() - began)
    step(f"{questions} questions")
    seconds.sort()
    print(json.dumps({"steps": steps, "p50": seconds[len(seconds) // 2],
                      "total": _rss() - start}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--src", type=Path, action="append", default=[])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.questions, args.child)
        return 0
    import numpy as np

    sources = [*(s.resolve() for s in args.src), (ROOT / "src").resolve()]
    with tempfile.TemporaryDirectory(prefix="graphready-embedder-memory-") as work:
        for run in range(args.runs):
            for n, src in enumerate(sources):
                vectors = Path(work) / f"vectors-{n}.npy"
                env = {**os.environ, "PYTHONPATH": str(src)}
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(vectors), "--questions",
                     str(args.questions)], env=env, check=True, capture_output=True,
                    text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                parts = "; ".join(f"{name} +{kept:.1f} (peak +{peak:.1f})"
                                  for name, (kept, peak) in r["steps"].items())
                print(f"run {run + 1} {src}: +{r['total']:.1f} MiB kept; {parts}; "
                      f"one question p50 {r['p50'] * 1000:.2f} ms")
        same = all(np.array_equal(np.load(Path(work) / "vectors-0.npy"),
                                  np.load(Path(work) / f"vectors-{n}.npy"))
                   for n in range(len(sources)))
        print(f"the same vectors, bit for bit: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
