"""Many workspaces on one server (issue 20), with real `graphready serve` processes. A template
index of the first C passages of a corpus is built once (`graphready index`, the packaged
MiniLM and spaCy) and copied into each of N workspaces' data dirs, as a server would have
built them. Prints, for the server process (its build workers are not counted):

1. its RSS with no workspace listed, and with N listed but none loaded: the idle cost of an
   unloaded workspace;
2. the first question to each of the first Q unloaded workspaces (load and answer), and the
   second question to each (loaded);
3. its RSS with all N loaded;
4. chat p50 and p95 on one workspace of the N against a one-workspace server (today's server,
   the same index as its default workspace), the two asked in turn in the same seconds so a
   busy machine slows both alike; and over all N in turn;
5. a small workspace and a large one (the whole corpus, or
   ``--large-passages`` of it, built cold from a folder); while the large one builds, a
   document is added to the small one: the seconds until a chat cites it and until the graph
   API finds its entity; then, once the large build is done (or ``--large-timeout`` has
   passed: said so), the server is restarted and the first question to the large workspace,
   unloaded, is timed.

    .venv/bin/python benchmarks/workspaces.py [--workspaces 100] [--chunks 200]
        [--steps all|many|large] [--corpus ../shared/data/2wikimultihopqa_hipporag]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from common import ROOT, free_port, percentile
from graphready.settings_spec import env_name

DEFAULT_SET = ROOT.parent / "shared" / "data" / "2wikimultihopqa_hipporag"
MARKER = "Quorvendal"
NOTE = {"id": "quorvendal-note", "title": "Quorvendal Observatory",
        "text": "The Quorvendal Observatory was founded by the astronomer Ilse Marrow in 1911 "
                "on a hill above Tromso. Its refractor was the largest in Norway."}
QUESTION = "Who founded the Quorvendal Observatory?"


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without its GRAPHREADY_ settings, and ``settings`` (by
    their names in Settings): one client stands for many users here (no per-client rate
    limit or share)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env.update({env_name("chat_rate_per_minute"): "0",
                env_name("chat_slots_per_client"): "10000",
                **{env_name(k): v for k, v in settings.items()}})
    return env


def first_passages(corpus: Path, count: int | None, folder: Path) -> Path:
    """A folder holding the first ``count`` passages of ``corpus`` (all: None)."""
    folder.mkdir(parents=True)
    with (corpus / "corpus.jsonl").open(encoding="utf-8") as source:
        lines = [line for i, line in enumerate(source) if count is None or i < count]
    (folder / "corpus.jsonl").write_text("".join(lines), encoding="utf-8")
    return folder


def index(docs: Path, data: Path) -> None:
    subprocess.run([str(ROOT / ".venv/bin/graphready"), "index", str(docs), "--data-dir",
                    str(data)], check=True, capture_output=True, env=environment())


def data_dir_with(names: list[str], built: Path, data: Path) -> Path:
    """A data dir listing workspaces ``names``, each a copy of ``built``'s index."""
    for name in names:
        shutil.copytree(built / "index", data / "workspaces" / name / "index")
    data.mkdir(parents=True, exist_ok=True)
    listed = {"workspaces": [{"name": n, "folder": None} for n in names]}
    (data / "workspaces.json").write_text(json.dumps(listed), encoding="utf-8")
    return data


class Serve:
    """``graphready serve [DOCS] --data-dir DATA`` on a free port, its log in ``log``."""

    def __init__(self, data: Path, log: Path, docs: Path | None = None, **settings: str) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/graphready"), "serve", *([str(docs)] if docs else []),
             "--data-dir", str(data), "--port", self.url.rsplit(":", 1)[1]],
            stdout=self._log, stderr=subprocess.STDOUT, env=environment(**settings))
        self.api = httpx.Client(base_url=self.url, timeout=300)
        for _ in range(3000):
            try:
                if self.api.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)

    def rss_mib(self) -> float:
        return float(psutil.Process(self.proc.pid).memory_info().rss / 2**20)

    def settled_rss(self) -> float:
        """RSS once the default workspace has loaded and the start-up is over (the median of
        five samples a second apart)."""
        for _ in range(3600):
            status = self.api.get("/status").json()
            if not status["building"] and (status["retrieval"]["vector_ready"]
                                           or not status["counts"].get("chunks")):
                break
            time.sleep(0.5)
        samples = []
        for _ in range(5):
            time.sleep(1)
            samples.append(self.rss_mib())
        return statistics.median(samples)

    def chat(self, base: str, question: str) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        response = self.api.post(f"{base}/chat", json={"message": question})
        response.raise_for_status()
        return time.perf_counter() - started, response.json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(120)
        self._log.close()


def many(args: argparse.Namespace, root: Path, questions: list[str]) -> None:
    """Steps 1 to 4."""
    docs = first_passages(args.corpus, args.chunks, root / "docs")
    started = time.monotonic()
    index(docs, root / "template")
    with sqlite3.connect(root / "template" / "index" / "catalog.db") as catalog:
        chunks = catalog.execute("SELECT count(*) FROM chunks").fetchone()[0]
    print(f"{args.workspaces} workspaces of {chunks} chunks each ({args.corpus.name}, first "
          f"{args.chunks} passages; template indexed in {time.monotonic() - started:.0f} s)")
    names = [f"w{i:03d}" for i in range(args.workspaces)]
    budget = {"workspace_memory_mb": "100000"}  # all loaded at once
    empty = Serve(data_dir_with([], root / "template", root / "data-0"), root / "empty.log",
                  **budget)
    rss_none = empty.settled_rss()
    empty.stop()
    server = Serve(data_dir_with(names, root / "template", root / "data-n"), root / "many.log",
                   **budget)
    one: Serve | None = None
    try:
        rss_listed = server.settled_rss()
        print(f"1. server RSS: {rss_none:.1f} MiB with no workspace, {rss_listed:.1f} MiB with "
              f"{args.workspaces} listed and none loaded: "
              f"{(rss_listed - rss_none) / max(1, args.workspaces) * 1024:.0f} KiB each")
        firsts = names[:args.first]
        first = [server.chat(f"/workspaces/{n}", questions[i])[0] for i, n in enumerate(firsts)]
        second = [server.chat(f"/workspaces/{n}", questions[i])[0]
                  for i, n in enumerate(firsts)]
        print(f"2. first question to an unloaded workspace ({chunks} chunks): p50 "
              f"{percentile(first, 50):.0f} ms, max {1000 * max(first):.0f} ms; the second "
              f"question: p50 {percentile(second, 50):.0f} ms ({len(firsts)} workspaces)")
        rss_asked = server.settled_rss()  # the question embedder and spaCy loaded now
        for name in names:
            server.api.get(f"/workspaces/{name}/status").raise_for_status()
        loaded = sum(w["loaded"] for w in server.api.get("/workspaces").json()["workspaces"])
        rss_all = server.settled_rss()
        others = loaded - 1 - len(firsts)
        print(f"3. server RSS with all {args.workspaces} loaded ({loaded} loaded, the default "
              f"included): {rss_all:.1f} MiB; {rss_asked:.1f} MiB with the first "
              f"{len(firsts)} loaded: {(rss_all - rss_asked) / max(1, others):.2f} MiB each "
              "of the others")
        one = Serve(root / "template", root / "one.log", docs=docs)
        one.settled_rss()
        ours, theirs, spread = [], [], []
        for i in range(args.chats):  # in turn, each first half of the time
            question = questions[i % len(questions)]
            pair = [(ours, server, "/workspaces/w000"), (theirs, one, "")]
            for into, target, base in pair if i % 2 else pair[::-1]:
                into.append(target.chat(base, question)[0])
            spread.append(server.chat(f"/workspaces/{names[i % len(names)]}", question)[0])
        print(f"4. chat on one workspace of {args.workspaces}: p50 {percentile(ours, 50):.1f} ms, "
              f"p95 {percentile(ours, 95):.1f}; a one-workspace server: p50 "
              f"{percentile(theirs, 50):.1f} ms, p95 {percentile(theirs, 95):.1f}; ratio of the "
              f"p50s {percentile(ours, 50) / percentile(theirs, 50):.2f}; over all "
              f"{args.workspaces} in turn: p50 {percentile(spread, 50):.1f} ms "
              f"({args.chats} questions each)")
    finally:
        server.stop()
        if one is not None:
            one.stop()


def wait_for(check: Any, limit_s: float, period: float = 0.1,
             since: float | None = None) -> float | None:
    """Seconds from ``since`` (now) until ``check()`` is true, polled; None if not within
    ``limit_s``."""
    started = time.monotonic() if since is None else since
    while time.monotonic() - started < limit_s:
        if check():
            return time.monotonic() - started
        time.sleep(period)
    return None


def large(args: argparse.Namespace, root: Path, questions: list[str]) -> None:
    """Step 5."""
    folder = first_passages(args.corpus, args.large_passages, root / "large-docs")
    data = root / "data-large"
    server = Serve(data, root / "large.log", workspace_folders=str(root))
    api = server.api
    try:
        api.post("/workspaces", json={"name": "small"}).raise_for_status()
        small_docs = [{"id": f"small-{i}", "text": t} for i, t in enumerate(questions[:5])]
        api.post("/workspaces/small/documents", json={"documents": small_docs})
        wait_for(lambda: api.get("/workspaces/small/status").json()["graphrag_ready"], 3600, 1)
        api.post("/workspaces", json={"name": "large", "folder": str(folder)}).raise_for_status()

        def stage(name: str) -> str:
            status = api.get("/workspaces/large/status").json()
            return str(status["stages"][name]["state"])

        wait_for(lambda: stage("vectors") == "running" or stage("graph") == "running", 3600, 1)
        building = [s for s in ("documents", "vectors", "graph") if stage(s) == "running"]
        started = time.monotonic()
        api.post("/workspaces/small/documents", json={"documents": [NOTE]}).raise_for_status()

        def cited() -> bool:
            answer = api.post("/workspaces/small/chat", json={"message": QUESTION}).json()
            return any(c["id"] == NOTE["id"] for c in answer.get("citations", []))

        def in_graph() -> bool:
            found = api.get("/workspaces/small/graph/entities", params={"q": MARKER})
            return found.status_code == 200 and bool(found.json()["entities"])

        cited_s = wait_for(cited, 600, 0.2, since=started)
        graph_s = wait_for(in_graph, 600, 0.2, since=started)
        still = api.get("/workspaces/large/status").json()["building"]
        passages = len((folder / "corpus.jsonl").read_text().splitlines())
        print(f"5. a document added to a small workspace while a {passages}-passage workspace "
              f"builds cold (its stages running: {', '.join(building) or 'none'}): "
              f"cited after {fmt(cited_s)}, found in its graph after {fmt(graph_s)}; the "
              f"large build still running then: {still}")
        done = wait_for(lambda: not api.get("/workspaces/large/status").json()["building"]
                        and api.get("/workspaces/large/status").json()["graphrag_ready"],
                        args.large_timeout, 2)
        if done is None:
            print(f"   the large cold build had not ended after {args.large_timeout} s more: "
                  "no first question to it unloaded")
            return
        chunks = api.get("/workspaces/large").json()["chunks"]
        server.stop()
        server = Serve(data, root / "large.log", workspace_folders=str(root))
        server.settled_rss()
        first, _ = server.chat("/workspaces/large", questions[0])
        second, _ = server.chat("/workspaces/large", questions[1])
        print(f"   first question to the large workspace ({chunks} chunks), unloaded after a "
              f"restart: {1000 * first:.0f} ms (the second: {1000 * second:.0f} ms; its cold "
              f"build ended {done:.0f} s after the document above was found)")
    finally:
        server.stop()


def fmt(seconds: float | None) -> str:
    return "(not within 600 s)" if seconds is None else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=200, help="passages per workspace")
    parser.add_argument("--first", type=int, default=10, help="first questions timed")
    parser.add_argument("--chats", type=int, default=60, help="questions per server in step 4")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_SET)
    parser.add_argument("--steps", choices=["all", "many", "large"], default="all",
                        help="steps 1-4 (many), step 5 (large) or both")
    parser.add_argument("--large-passages", type=int, default=None,
                        help="passages of the large workspace (default: the whole corpus)")
    parser.add_argument("--large-timeout", type=float, default=1800)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in
                 (args.corpus / "questions.dev.jsonl").read_text().splitlines()[:100]]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.steps != "large":
            many(args, Path(tmp), questions)
        if args.steps != "many":
            large(args, Path(tmp), questions)
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
