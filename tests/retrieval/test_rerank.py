"""The reranker (``GRAPHREADY_RERANK_URL``): the real app, its real stores and a scripted rerank
server on a real socket (``support/rerank_server.py``). It reorders the fused candidates, its
failures leave the fused order with the reason in ``/status``, a slow one never holds the event
loop, its minimum score makes the answer abstain, and bad settings stop start-up naming the
setting."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from graphready.cli import main
from graphready.commands import run_index
from graphready.config import Settings, load_settings, settings_to_env
from graphready.errors import ConfigError
from graphready.retrieval.pipeline import Retrieval
from graphready.retrieval.rerank import (
    MAX_DOCUMENT_CHARS,
    RERANK,
    RerankClient,
    Reranker,
    RerankFailed,
    parse_scores,
    reorder,
    request_body,
)
from graphready.stores.base import Hit
from graphready.stores.registry import open_stores
from support.api import app_client
from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.rerank_server import RerankServer
from support.server import ServerProcess

KEY = "rerank-key-0123456789"
MODEL = "scripted-model"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("rerank")
    write_corpus(root / "docs", passages=30)
    settings = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                             embedder="hashing")
    assert run_index(settings) == 0
    return settings


@pytest.fixture(scope="module")
def module_reranker() -> Iterator[RerankServer]:
    with RerankServer() as server:
        yield server


@pytest.fixture
def reranker(module_reranker: RerankServer) -> RerankServer:
    """The module's scripted server, reset (:meth:`RerankServer.reset`)."""
    module_reranker.reset()
    return module_reranker


def with_reranker(built: Settings, server: RerankServer, **more: Any) -> Settings:
    """``built`` with the scripted reranker; its timeout is long (a loaded machine is slow)
    unless the test says otherwise."""
    more.setdefault("rerank_timeout_ms", 60_000)
    return load_settings(settings_to_env(built), rerank_url=server.url, rerank_model=MODEL,
                         rerank_api_key=KEY, **more)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    clients = cast(AsyncGenerator[httpx.AsyncClient, None], app_client(settings))
    client = await anext(clients)
    try:
        yield client
    finally:
        await clients.aclose()


async def ask(client: httpx.AsyncClient, question: str = NEEDLE_QUESTION,
              top_k: int = 1) -> dict[str, Any]:
    response = await client.post("/chat", json={"message": question, "top_k": top_k})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def reranker_status(client: httpx.AsyncClient) -> dict[str, Any]:
    status: dict[str, Any] = (await client.get("/status")).json()["reranker"]
    return status


@pytest.mark.anyio
async def test_the_passage_the_reranker_prefers_comes_first(built: Settings,
                                                            reranker: RerankServer) -> None:
    async with serving(with_reranker(built, reranker)) as client:
        first = await ask(client)
        assert first["citations"][0]["title"] == NEEDLE["title"]  # it agrees with fusion here
        assert RERANK in first["tools_used"]
        sent = reranker.received[-1]
        assert sent.authorization == f"Bearer {KEY}"
        assert sent.body["model"] == MODEL and sent.body["query"] == NEEDLE_QUESTION
        documents = sent.body["documents"]
        assert len(documents) == sent.body["top_n"] == 20  # the default candidates, not top_k
        assert documents[0].startswith(NEEDLE["title"] + "\n")

        last = documents[-1]  # the fused ranking's 20th passage, now favoured
        reranker.favour = last
        answer = await ask(client)
        status = await reranker_status(client)
        assert status["skipped"] == 0, status
        cited = answer["citations"][0]
        assert cited["title"] == last.split("\n")[0] != NEEDLE["title"]
        assert cited["score"] == reranker.score(NEEDLE_QUESTION, last)
    assert status["reranked"] == 2 and status["skipped"] == 0 and status["available"]
    assert status["url"] == reranker.url and status["last_skipped"] is None


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "reason"), [
    ("fail", "answered HTTP 500: {\"message\": \"scripted failure\"}"),
    ("hang", "timed out after 300 ms"),  # on the loop, or (a busy loop) waiting for it
    ("garbage", "malformed reply: not JSON"),
    ("bad_index", "malformed reply: index '23' is not one of the 20 documents sent"),
])
async def test_a_failing_reranker_leaves_the_fused_order_and_says_why(
        built: Settings, reranker: RerankServer, mode: Any, reason: str) -> None:
    reranker.mode = mode
    timeout_ms = 300 if mode == "hang" else 60_000  # only the hanging one may time out
    async with serving(with_reranker(built, reranker, rerank_timeout_ms=timeout_ms)) as client:
        reranker.favour = "Zephyr"  # were its scores used, the needle would still lead: use
        answer = await ask(client, top_k=3)  # the tools_used and /status to tell
        status = await reranker_status(client)
        reranker.release()
    assert answer["citations"][0]["title"] == NEEDLE["title"]
    assert RERANK not in answer["tools_used"] and answer["found"]
    assert status["skipped"] == 1 and status["reranked"] == 0 and not status["available"]
    assert status["last_skipped"]["reason"].startswith(reason)


@pytest.mark.anyio
async def test_a_slow_reranker_does_not_hold_the_event_loop(built: Settings,
                                                            reranker: RerankServer) -> None:
    reranker.mode = "hang"
    async with serving(with_reranker(built, reranker, rerank_timeout_ms=20_000)) as client:
        question = asyncio.create_task(ask(client))
        while not reranker.in_flight:
            await asyncio.sleep(0.01)
        health = await client.get("/health")  # answered while the reranker holds the request
        status = await reranker_status(client)
        assert reranker.in_flight == 1 and not question.done()
        reranker.release()
        answer = await question
    assert health.status_code == 200 and status["reranked"] == 0
    assert RERANK in answer["tools_used"]


@pytest.mark.anyio
async def test_called_on_the_event_loop_it_skips_instead_of_blocking(
        built: Settings, reranker: RerankServer) -> None:
    stores = open_stores(built)
    client = RerankClient(reranker.url, None, None, 60.0)
    try:
        hits = [Hit(chunk.id, 1.0) for chunk, _ in zip(stores.catalog.iter_chunks(), range(3),
                                                        strict=False)]
        ranker = Reranker(client, stores.catalog, asyncio.get_running_loop(), candidates=20)
        found = ranker.apply("anything", Retrieval("auto", hits, ("keyword_search",)), 2)
    finally:
        await client.aclose()
        stores.close()
    assert found.hits == hits[:2] and found.tools_used == ("keyword_search",)
    assert ranker.status()["last_skipped"]["reason"].startswith("called on the event loop")
    assert reranker.received == []


@pytest.mark.anyio
async def test_tei_native_shape_is_learnt_once(built: Settings, reranker: RerankServer) -> None:
    reranker.mode = "tei"
    async with serving(with_reranker(built, reranker)) as client:
        answers = [await ask(client), await ask(client)]
    assert all(RERANK in a["tools_used"] for a in answers)
    shapes = ["texts" if "texts" in r.body else "documents" for r in reranker.received]
    assert shapes == ["documents", "texts", "texts"]


@pytest.mark.anyio
async def test_scores_below_the_minimum_make_the_answer_abstain(
        built: Settings, reranker: RerankServer) -> None:
    async with serving(with_reranker(built, reranker, rerank_min_score=0.5)) as client:
        kept = await ask(client, top_k=3)
        reranker.scale = 0.1  # the needle, which holds every word asked, now scores 0.1
        dropped = await ask(client, top_k=3)
        status = await reranker_status(client)
    assert kept["found"] and kept["citations"][0]["title"] == NEEDLE["title"]
    assert all(c["score"] >= 0.5 for c in kept["citations"])
    assert not dropped["found"] and dropped["answer"] == "The documents don't say."
    assert dropped["citations"] == [] and status["dropped"] >= 20


def test_the_request_is_bounded_and_in_the_cohere_jina_shape() -> None:
    body = request_body("q" * 5000, ["x" * 10_000, "short"], MODEL)
    assert body["model"] == MODEL and body["top_n"] == 2 and len(body["query"]) == 1000
    assert [len(d) for d in body["documents"]] == [MAX_DOCUMENT_CHARS, 5]
    assert set(request_body("q", ["d"], None, "texts")) == {"query", "texts"}


def test_replies_of_each_server_are_read_and_anything_else_refused() -> None:
    cohere = {"id": "x", "results": [{"index": 1, "relevance_score": 0.9},
                                     {"index": 0, "relevance_score": 0.2}], "meta": {}}
    assert parse_scores(cohere, 3) == [0.2, 0.9, None]
    assert parse_scores([{"index": 0, "score": -3.5}], 1) == [-3.5]  # TEI, raw scores
    garbage: list[Any] = [
        {"results": "no"}, {"data": []}, [1], [{"index": True, "score": 1}],
        [{"index": 0, "score": math.nan}], [{"index": 0, "score": "1"}],
        [{"index": 0, "score": 1}, {"index": 0, "score": 2}], []]
    for reply in garbage:
        with pytest.raises(RerankFailed, match=r"^malformed reply: "):
            parse_scores(reply, 2)


def test_reorder_keeps_the_fused_order_for_ties_and_unscored_and_drops_below_the_minimum(
        ) -> None:
    hits = [Hit("a", 0.3), Hit("b", 0.2), Hit("c", 0.1), Hit("d", 0.05)]
    assert reorder(hits, [0.5, 0.9, None, 0.5], None) == (
        [Hit("b", 0.9), Hit("a", 0.5), Hit("d", 0.5), Hit("c", 0.1)], 0)
    assert reorder(hits, [0.5, 0.9, None, 0.1], 0.5) == ([Hit("b", 0.9), Hit("a", 0.5)], 2)


@pytest.mark.parametrize(("env", "named"), [
    ({"GRAPHREADY_RERANK_URL": "localhost:8080/rerank"}, "GRAPHREADY_RERANK_URL"),
    ({"GRAPHREADY_RERANK_URL": "ftp://host/rerank"}, "GRAPHREADY_RERANK_URL"),
    ({"GRAPHREADY_RERANK_URL": "http://host:port/rerank"}, "GRAPHREADY_RERANK_URL"),
    ({"GRAPHREADY_RERANK_CANDIDATES": "-5"}, "GRAPHREADY_RERANK_CANDIDATES"),
    ({"GRAPHREADY_RERANK_TIMEOUT_MS": "0"}, "GRAPHREADY_RERANK_TIMEOUT_MS"),
    ({"GRAPHREADY_RERANK_MIN_SCORE": "high"}, "GRAPHREADY_RERANK_MIN_SCORE"),
    ({"GRAPHREADY_RERANK_MIN_SCORE": "nan"}, "GRAPHREADY_RERANK_MIN_SCORE"),
    ({"GRAPHREADY_RERANK_MIN_SCORE": "0.5"}, "GRAPHREADY_RERANK_URL"),
    ({"GRAPHREADY_RERANK_MODEL": "m"}, "GRAPHREADY_RERANK_URL"),
])
def test_bad_settings_stop_start_up_naming_the_setting(
        tmp_path: Path, env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=f"^setting {named}: "):
        load_settings(env, data_dir=tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    assert f"setting {named}: " in capsys.readouterr().err


@pytest.mark.e2e
def every_index_loaded(status: dict[str, Any]) -> bool:
    retrieval = status["retrieval"]
    return bool(retrieval["keyword_ready"] and retrieval["vector_ready"]
                and status["graphrag_ready"])


def test_the_served_app_reranks_over_a_socket_and_reports_a_skip(
        built: Settings, reranker: RerankServer) -> None:
    assert built.docs_dir is not None
    env = {**settings_to_env(built), "GRAPHREADY_RERANK_URL": reranker.url,
           "GRAPHREADY_RERANK_MODEL": MODEL, "GRAPHREADY_RERANK_TIMEOUT_MS": "60000"}
    server = ServerProcess(built.docs_dir, built.data_dir, env)
    try:
        # every index loaded: with the keyword index alone, the fused candidates can be the
        # needle only, and the "last candidate" below would be the needle itself
        server.wait_until(lambda: every_index_loaded(server.status()), 60,
                          "every index to load")
        assert server.chat(NEEDLE_QUESTION, top_k=1).status_code == 200
        last = reranker.received[-1].body["documents"][-1]
        reranker.favour = last  # the fused ranking's last candidate comes first
        favoured = server.chat(NEEDLE_QUESTION, top_k=1).json()
        reranker.mode = "fail"
        fused = server.chat(NEEDLE_QUESTION, top_k=1).json()
        status = server.status()["reranker"]
    finally:
        server.kill()
    assert favoured["citations"][0]["title"] == last.split("\n")[0] != NEEDLE["title"]
    assert RERANK in favoured["tools_used"]
    assert fused["citations"][0]["title"] == NEEDLE["title"]
    assert status["reranked"] == 2 and status["skipped"] == 1
    assert status["last_skipped"]["reason"].startswith("answered HTTP 500")
