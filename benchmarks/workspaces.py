"""Many workspaces on one server: a real `graphready serve` process whose data dir lists N
workspaces of about C chunks each (the first C passages of a corpus, indexed once with the
packaged MiniLM and spaCy, then copied into each workspace's data dir, as a server would have
built them). Prints, for the server process:

- its RSS with the workspaces listed but none loaded, against the same server with none listed
  (the cost of a listed, unloaded workspace);
- the first question to each of the first Q unloaded workspaces (load and answer), and the
  second question to each (loaded);
- its RSS with all N loaded, and again once all have been unloaded as idle (what an unloaded
  workspace costs after it was used);
- chat p50 and p95 spread over every loaded workspace against the same questions to one.

    .venv/bin/python benchmarks/workspaces.py [--workspaces 100] [--chunks 200]
        [--corpus ../shared/data/2wikimultihopqa_hipporag]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from common import ROOT, free_port, percentile
from graphready.config import Settings
from graphready.stores.registry import open_stores

DEFAULT_SET = ROOT.parent / "shared" / "data" / "2wikimultihopqa_hipporag"
IDLE_S = 20


def template(corpus: Path, chunks: int, root: Path) -> tuple[Path, Path]:
    """A folder with the first ``chunks`` passages of ``corpus`` and its data dir, indexed."""
    docs = root / "docs"
    docs.mkdir()
    with (corpus / "corpus.jsonl").open(encoding="utf-8") as source:
        lines = [line for _, line in zip(range(chunks), source, strict=False)]
    (docs / "corpus.jsonl").write_text("".join(lines), encoding="utf-8")
    data = root / "template"
    subprocess.run([str(ROOT / ".venv/bin/graphready"), "index", str(docs), "--data-dir",
                    str(data)], check=True, capture_output=True, env=env_without_settings())
    return docs, data


def env_without_settings(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env.update({"GRAPHREADY_CHAT_RATE_PER_MINUTE": "0",
                "GRAPHREADY_CHAT_SLOTS_PER_CLIENT": "10000", **settings})
    return env


def data_dir_with(count: int, docs: Path, built: Path, root: Path) -> Path:
    """A data dir listing ``count`` workspaces, each a copy of ``built``'s index."""
    data = root / f"data-{count}"
    names = [f"w{i:03d}" for i in range(count)]
    for name in names:
        shutil.copytree(built / "index", data / "workspaces" / name / "index")
    listed = {"workspaces": [{"name": n, "folder": None} for n in names]}
    data.mkdir(exist_ok=True)
    (data / "workspaces.json").write_text(json.dumps(listed), encoding="utf-8")
    return data


class Serve:
    """``graphready serve --data-dir DATA`` (no folder of its own) on a free port."""

    def __init__(self, data: Path, log: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/graphready"), "serve", "--data-dir", str(data), "--port",
             port], stdout=self._log, stderr=subprocess.STDOUT,
            env=env_without_settings(GRAPHREADY_WORKSPACE_IDLE_S=str(IDLE_S),
                                     GRAPHREADY_WORKSPACE_MEMORY_MB="100000"))
        self.api = httpx.Client(base_url=self.url, timeout=120)
        for _ in range(600):
            try:
                if self.api.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)

    def rss_mib(self) -> float:
        return float(psutil.Process(self.proc.pid).memory_info().rss / 2**20)

    def settle(self) -> float:
        """RSS once the default workspace's start-up is over (two equal samples)."""
        time.sleep(2)
        return self.rss_mib()

    def chat(self, workspace: str, question: str) -> float:
        started = time.perf_counter()
        response = self.api.post(f"/workspaces/{workspace}/chat", json={"message": question})
        response.raise_for_status()
        return time.perf_counter() - started

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(120)
        self._log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--first", type=int, default=10, help="first questions timed")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_SET)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in
                 (args.corpus / "questions.dev.jsonl").read_text().splitlines()[:50]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs, built = template(args.corpus, args.chunks, root)
        stores = open_stores(Settings(data_dir=built))
        chunks = stores.catalog.chunk_count()
        stores.close()
        print(f"{args.workspaces} workspaces of {chunks} chunks each "
              f"({args.corpus.name}, first {args.chunks} passages)")
        empty = Serve(data_dir_with(0, docs, built, root), root / "empty.log")
        rss_empty = empty.settle()
        empty.stop()
        server = Serve(data_dir_with(args.workspaces, docs, built, root), root / "many.log")
        try:
            rss_listed = server.settle()
            print(f"server RSS: {rss_empty:.1f} MiB with no workspace listed, "
                  f"{rss_listed:.1f} with {args.workspaces} listed, none loaded: "
                  f"{(rss_listed - rss_empty) / max(1, args.workspaces) * 1024:.0f} KiB each")
            names = [f"w{i:03d}" for i in range(args.workspaces)]
            first = [server.chat(n, questions[i % len(questions)])
                     for i, n in enumerate(names[:args.first])]
            second = [server.chat(n, questions[i % len(questions)])
                      for i, n in enumerate(names[:args.first])]
            print(f"first question to an unloaded workspace: p50 {percentile(first, 50):.0f} ms,"
                  f" max {1000 * max(first):.0f} ms; the second: p50 "
                  f"{percentile(second, 50):.0f} ms ({args.first} workspaces)")
            for name in names[args.first:]:
                server.api.get(f"/workspaces/{name}/status").raise_for_status()
            rss_all = server.rss_mib()
            print(f"server RSS with all {args.workspaces} loaded: {rss_all:.1f} MiB "
                  f"({(rss_all - rss_listed) / max(1, args.workspaces):.2f} MiB each)")
            spread = [server.chat(names[i % len(names)], questions[i % len(questions)])
                      for i in range(200)]
            one = [server.chat(names[0], questions[i % len(questions)]) for i in range(200)]
            print(f"chat over all {args.workspaces}: p50 {percentile(spread, 50):.1f} ms, "
                  f"p95 {percentile(spread, 95):.1f}; to one workspace: p50 "
                  f"{percentile(one, 50):.1f} ms, p95 {percentile(one, 95):.1f}")
            time.sleep(IDLE_S + 3)
            loaded = sum(w["loaded"] for w in server.api.get("/workspaces").json()["workspaces"])
            rss_idle = server.rss_mib()
            print(f"after {IDLE_S} s idle ({loaded} loaded, the default included): server RSS "
                  f"{rss_idle:.1f} MiB, {(rss_idle - rss_listed) / max(1, args.workspaces):.2f}"
                  " MiB more per workspace than before any was loaded")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
