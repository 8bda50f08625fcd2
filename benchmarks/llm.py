"""LLM benchmark against a real OpenAI-compatible server: llama.cpp's server with the packaged
SmolLM2-135M model (a protocol-grade model: its extractions mostly fail the schema and fall
back, so the repair calls are counted too). In one run:

1. a graph build with the LLM on the first N passages of a corpus: LLM calls and tokens per
   1,000 chunks, extraction and report fallbacks, seconds;
2. the same build again after the graph store is lost (the data dir's LLM cache kept): the
   cache hit rate and the calls that still reach the server;
3. `graphready serve` with the model answering: time to the first streamed token through
   `POST /chat` and through `POST /v1/chat/completions` (median of Q questions each, different
   ones per endpoint), and to the end of the answer, in `auto` mode (the agent's tool-choosing
   calls come first) and in `retrieval` mode (the fixed plan: one streamed call).

    .venv/bin/python benchmarks/llm.py [--corpus ../shared/data/hotpotqa_mini] [--chunks 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from graphready.config import Settings, load_settings  # noqa: E402
from graphready.indexing.stages import run_documents, run_graph  # noqa: E402
from graphready.stores.registry import open_stores  # noqa: E402
from support.llm_server import LlamaServer  # noqa: E402
from support.server import ServerProcess  # noqa: E402

DEFAULT_SET = ROOT.parent / "shared" / "data" / "hotpotqa_mini"


def build(settings: Settings) -> dict[str, Any]:
    """Run the documents and graph stages; the graph stage's counts and seconds."""
    stores = open_stores(settings)
    try:
        run_documents(settings, stores, lambda _: None)
        started = time.perf_counter()
        done = run_graph(settings, stores, lambda _: None)
        return {**done.counts, "seconds": round(time.perf_counter() - started, 1)}
    finally:
        stores.close()


def per_thousand(counts: dict[str, Any], chunks: int) -> dict[str, float]:
    scale = 1000 / max(chunks, 1)
    return {"llm_calls": round(counts.get("llm_calls", 0) * scale),
            "prompt_tokens": round(counts.get("llm_prompt_tokens", 0) * scale),
            "completion_tokens": round(counts.get("llm_completion_tokens", 0) * scale)}


def first_token(server: ServerProcess, path: str, body: dict[str, Any]) -> tuple[float, float]:
    """Seconds to the first streamed content and to the end of the stream."""
    started = time.monotonic()
    first = float("nan")
    with server.client.stream("POST", path, json=body, timeout=900) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or first == first:
                continue
            data = line[6:]
            if data == "[DONE]":
                continue
            payload = json.loads(data)
            text = payload.get("text") if "text" in payload else \
                (payload.get("choices") or [{}])[0].get("delta", {}).get("content")
            if text:
                first = time.monotonic() - started
    return first, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_SET)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()
    rows = (args.corpus / "corpus.jsonl").read_text("utf-8").splitlines()[:args.chunks]
    questions = [json.loads(line)["question"] for line in
                 (args.corpus / "questions.dev.jsonl").read_text("utf-8").splitlines()
                 [:2 * args.questions]]
    with tempfile.TemporaryDirectory(prefix="graphready-llm-bench-") as tmp, \
            LlamaServer(tools=True) as llama:
        root = Path(tmp)
        (root / "docs").mkdir()
        (root / "docs" / "corpus.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
        env = {**llama.env(), "GRAPHREADY_LLM_MAX_TOKENS": str(args.max_tokens),
               "GRAPHREADY_LLM_CONCURRENCY": "2"}
        settings = load_settings(env, data_dir=root / "data", docs_dir=root / "docs",
                                 embedder="hashing")
        cold = build(settings)
        (settings.db_dir / "graph.db").unlink()
        for extra in settings.db_dir.glob("graph.db-*"):
            extra.unlink()
        warm = build(settings)
        chunks = cold.get("chunks_extracted", args.chunks)
        hits, calls = warm.get("llm_cache_hits", 0), warm.get("llm_calls", 0)
        print(f"graph build with the LLM, {chunks} chunks: {json.dumps(cold)}")
        print(f"  per 1,000 chunks: {json.dumps(per_thousand(cold, chunks))}")
        print(f"rebuild after losing the graph store: {json.dumps(warm)}")
        print(f"  cache hit rate {hits / max(hits + calls, 1):.3f} "
              f"({hits} hits, {calls} calls reached the server)")

        server = ServerProcess(root / "docs", root / "data",
                               {**env, "GRAPHREADY_EMBEDDER": "hashing"})
        try:
            server.wait_listening()
            server.wait_until(lambda: server.status()["graphrag_ready"], 600, "the graph")
            # Different questions per endpoint: the same prompt twice would be a cache hit
            # here, or a prompt-prefix cache hit in the LLM server.
            runs: dict[str, list[tuple[float, float]]] = {}
            half = len(questions) // 2
            for mode, model in (("auto", "graphready"), ("retrieval", "graphready-retrieval")):
                for question in questions[:half]:
                    runs.setdefault(f"/chat {mode}", []).append(first_token(
                        server, "/chat", {"message": question, "mode": mode, "stream": True}))
                for question in questions[half:]:
                    runs.setdefault(f"/v1/chat/completions {model}", []).append(first_token(
                        server, "/v1/chat/completions", {
                            "model": model, "stream": True,
                            "messages": [{"role": "user", "content": question}]}))
            for name, timed in runs.items():
                print(f"{name}: first token median {statistics.median(r[0] for r in timed):.2f} s"
                      f", whole answer median {statistics.median(r[1] for r in timed):.2f} s "
                      f"({len(timed)} questions)")
            print(f"server LLM counters: {json.dumps(server.status()['llm'])}")
        finally:
            server.kill()


if __name__ == "__main__":
    main()
