"""Text that is valid JSON but not valid Unicode (lone surrogates), and JSON nested thousands
deep, over the real app with the packaged MiniLM embedder (whose tokenizer refuses invalid
text): requests and documents alike are cleaned once, on decoding, and deep nesting is a 400."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from graphready.commands import run_index
from graphready.config import Settings, load_settings
from graphready.text import MAX_JSON_DEPTH
from support.api import app_client, assert_error
from support.corpus import write_corpus

pytestmark = pytest.mark.anyio

BROKEN_DOC = {"id": "broken-unicode", "title": "Quillon Harbour \ud800",
              "text": "Quillon Harbour was rebuilt by the mason Ottoline Vesey\udfff in 1911."}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("text")
    write_corpus(root / "docs", passages=10)
    (root / "docs" / "broken.jsonl").write_text(json.dumps(BROKEN_DOC) + "\n", "utf-8")
    settings = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                             embedder="minilm")
    assert run_index(settings) == 0
    yield settings


@pytest.fixture
async def client(built: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for c in app_client(built):
        yield c


def chat_body(message: str, **extra: object) -> bytes:
    """A request body as a client would write it: lone surrogates as ``\\ud800`` escapes."""
    return json.dumps({"message": message, **extra}).encode()


@pytest.mark.parametrize("mode", ["auto", "retrieval", "graph_local"])
async def test_a_lone_surrogate_in_the_question_is_answered(client: httpx.AsyncClient,
                                                            mode: str) -> None:
    for message in ("\ud800", "Who rebuilt Quillon Harbour?\udfff", "\udc00 \ud83d"):
        response = await client.post("/chat", content=chat_body(message, mode=mode))
        assert response.status_code == 200, response.text
        response.json()["answer"].encode("utf-8")


async def test_lone_surrogates_in_history_and_streams(client: httpx.AsyncClient) -> None:
    body = chat_body("Quillon Harbour\ud800", stream=True,
                     history=[{"role": "user", "content": "\udfff"}])
    response = await client.post("/chat", content=body)
    assert response.status_code == 200 and "event: done" in response.text, response.text
    openai = json.dumps({"messages": [{"role": "user", "content": "Quillon \ud800"}]})
    response = await client.post("/v1/chat/completions", content=openai.encode())
    assert response.status_code == 200, response.text


async def test_a_document_with_lone_surrogates_is_indexed_and_cited(
        client: httpx.AsyncClient) -> None:
    status = (await client.get("/status")).json()
    assert status["counts"]["skipped_files"] == 0, status["skipped"]
    response = await client.post("/chat", json={"message": "Who rebuilt Quillon Harbour?",
                                                "mode": "retrieval"})
    assert response.status_code == 200, response.text
    top = response.json()["citations"][0]
    assert top["id"] == "broken-unicode" and top["title"] == "Quillon Harbour \ufffd"
    assert "Vesey\ufffd" in top["snippet"]


@pytest.mark.parametrize("body", [
    b"[" * 5000 + b"]" * 5000,
    b'{"message": "hi", "history": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"message": "hi", "x": ' + b'{"a": ' * MAX_JSON_DEPTH + b"1" + b"}" * MAX_JSON_DEPTH + b"}",
])
async def test_json_nested_too_deeply_is_a_400(client: httpx.AsyncClient, body: bytes) -> None:
    for path in ("/chat", "/v1/chat/completions"):
        response = await client.post(path, content=body)
        assert_error(response, 400, "malformed_json", f"deeper than {MAX_JSON_DEPTH}")


async def test_uploaded_documents_are_cleaned_the_same_way(client: httpx.AsyncClient) -> None:
    body = json.dumps({"documents": [{"id": "up\ud800", "title": "T\udfff", "text": "A \ud800."}]})
    response = await client.post("/documents", content=body.encode(),
                                 headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text
    [doc] = response.json()["documents"]
    assert doc["id"] == "up\ufffd" and doc["title"] == "T\ufffd"
    line = json.dumps({"id": "up-jsonl", "title": "J\ud800", "text": "B \udfff."}).encode()
    response = await client.post("/documents", files={"files": ("u.jsonl", line)})
    assert response.status_code == 202, response.text
    assert response.json()["documents"][0]["title"] == "J\ufffd"
