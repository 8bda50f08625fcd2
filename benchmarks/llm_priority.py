"""Questions first on the model server: time to the first streamed token of `POST /chat` and
of `POST /v1/chat/completions`, for questions not in the cache, with the model idle and during
an LLM graph build of the same corpus, in one run, against llama.cpp's server with the packaged
SmolLM2-135M model (one thread; started here).

1. idle: `graphready serve` with the model answering and the graph built offline
   (`GRAPHREADY_LLM_GRAPH=off`); once everything is built, Q questions per endpoint;
2. during the build: the same data dir served with `GRAPHREADY_LLM_GRAPH=on`, so the graph is
   extracted again by the model; once the build's LLM calls are flowing, Q other questions per
   endpoint; then SIGTERM, timed (the worker must stop within seconds).

Endpoints: `/chat` in `retrieval` mode (one streamed call) and `/v1/chat/completions` with the
`graphready` model (auto: the agent's tool-choosing rounds, then the answer). Every question is
new to the cache. It prints each time, the medians, their ratio (target <= 3x) and whether any
answer went past the answer deadline (it would be flagged `degraded`).

    .venv/bin/python benchmarks/llm_priority.py [--corpus PATH/corpus.jsonl] [--passages 12]
                                                [--questions 3] [--deadline 30] [--top-k 5]
                                                [--max-steps 4] [--max-tokens 200]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.llm_server import LlamaServer  # noqa: E402
from support.server import ServerProcess  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "christmas_carol_nano_graphrag" / "corpus.jsonl"
QUESTIONS = [
    "Who was Marley?", "What did Scrooge say about Christmas?", "Who is Bob Cratchit?",
    "What did the ghost of Christmas Past show Scrooge?", "Who is Tiny Tim?",
    "What happened at Fezziwig's party?", "Why was Scrooge afraid of the third spirit?",
    "What did Scrooge do on Christmas morning?", "Who is Scrooge's nephew?",
    "What chain did Marley's ghost wear?", "Where did Scrooge work?",
    "What did Scrooge buy for the Cratchits?", "Who was Belle?", "What is the Ghost of "
    "Christmas Present like?", "What did the charity gentlemen ask Scrooge for?",
    "How did Scrooge treat his clerk?",
]
ENDPOINTS = ("/chat retrieval", "/v1/chat/completions graphready (auto)")


def first_token(server: ServerProcess, endpoint: str, question: str) -> tuple[float, bool]:
    """Seconds to the first streamed text, and whether the answer was degraded."""
    if endpoint.startswith("/chat"):
        path, body = "/chat", {"message": question, "mode": "retrieval", "stream": True}
    else:
        path, body = "/v1/chat/completions", {
            "model": "graphready", "stream": True,
            "messages": [{"role": "user", "content": question}]}
    started = time.monotonic()
    first, degraded = float("nan"), False
    with server.client.stream("POST", path, json=body, timeout=900) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            payload: dict[str, Any] = json.loads(line[6:])
            degraded = degraded or bool(payload.get("degraded"))
            text = payload.get("text") if "text" in payload else \
                (payload.get("choices") or [{}])[0].get("delta", {}).get("content")
            if text and first != first:
                first = time.monotonic() - started
    return first, degraded


def ask_all(server: ServerProcess, questions: list[str], label: str
            ) -> dict[str, list[tuple[float, bool]]]:
    out: dict[str, list[tuple[float, bool]]] = {}
    for i, endpoint in enumerate(ENDPOINTS):
        for question in questions[i::len(ENDPOINTS)]:
            timed = first_token(server, endpoint, question)
            out.setdefault(endpoint, []).append(timed)
            build = server.status()["llm"].get("build")
            print(f"  {label} {endpoint}: {timed[0]:.2f} s{' DEGRADED' if timed[1] else ''}"
                  f" ({question!r}; build {json.dumps(build)})", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--passages", type=int, default=12)
    parser.add_argument("--questions", type=int, default=3, help="per endpoint and phase")
    parser.add_argument("--deadline", type=int, default=30)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--top-k", type=int, default=5, help="passages per answer")
    parser.add_argument("--max-steps", type=int, default=4, help="the agent's rounds at most")
    args = parser.parse_args()
    rows = args.corpus.read_text("utf-8").splitlines()[:args.passages]
    per_phase = args.questions * len(ENDPOINTS)
    if 2 * per_phase > len(QUESTIONS):
        parser.error(f"at most {len(QUESTIONS) // (2 * len(ENDPOINTS))} questions per endpoint")
    with tempfile.TemporaryDirectory(prefix="graphready-priority-") as tmp, \
            LlamaServer(tools=True) as llama:
        root = Path(tmp)
        (root / "docs").mkdir()
        (root / "docs" / "corpus.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
        env = {**llama.env(), "GRAPHREADY_EMBEDDER": "hashing",
               "GRAPHREADY_LLM_MAX_TOKENS": str(args.max_tokens),
               "GRAPHREADY_LLM_ANSWER_DEADLINE_S": str(args.deadline),
               "GRAPHREADY_DEFAULT_TOP_K": str(args.top_k),
               "GRAPHREADY_LLM_MAX_STEPS": str(args.max_steps)}
        print(f"{len(rows)} passages; llama.cpp server with SmolLM2-135M, one thread; answer "
              f"deadline {args.deadline} s; max tokens {args.max_tokens}; top k {args.top_k}; "
              f"agent rounds <= {args.max_steps}", flush=True)

        idle_server = ServerProcess(root / "docs", root / "data",
                                    {**env, "GRAPHREADY_LLM_GRAPH": "off"})
        try:
            idle_server.wait_listening()
            idle_server.wait_until(lambda: idle_server.status()["graphrag_ready"] and not
                                   idle_server.status()["building"], 900, "the offline build")
            idle = ask_all(idle_server, QUESTIONS[:per_phase], "idle")
        finally:
            idle_server.kill()

        server = ServerProcess(root / "docs", root / "data",
                               {**env, "GRAPHREADY_LLM_GRAPH": "on"})
        try:
            server.wait_listening()
            server.wait_until(lambda: (server.status()["llm"].get("build") or {}).get(
                "calls", 0) >= 1, 900, "the LLM graph build's first calls")
            busy = ask_all(server, QUESTIONS[per_phase:2 * per_phase], "during the build")
            build = server.status()["llm"]["build"]
            stopping = time.monotonic()
            code = server.stop(signal.SIGTERM, timeout=120)
            stopped = time.monotonic() - stopping
            log = server.log()
        finally:
            server.kill()

    print("\nfirst streamed token, seconds (median of each):")
    for endpoint in ENDPOINTS:
        a = statistics.median(t for t, _ in idle[endpoint])
        b = statistics.median(t for t, _ in busy[endpoint])
        worst = max(t for t, _ in busy[endpoint])
        degraded = sum(d for _, d in busy[endpoint])
        print(f"  {endpoint}: idle {a:.2f}, during the build {b:.2f} ({b / a:.2f}x; worst "
              f"{worst:.2f}; past the {args.deadline} s deadline, flagged: {degraded})")
    print(f"build's LLM progress when the questions were done: {json.dumps(build)}")
    print(f"SIGTERM during the LLM build: exit status {code} after {stopped:.2f} s; "
          f"worker killed after its timeout: {'did not stop' in log}")


if __name__ == "__main__":
    main()
