"""End to end over real sockets: documents added, listed, updated and deleted over HTTP on a real
`graphready serve`, with API keys; every bad input gets a clean 4xx in the one error shape."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.api import assert_error
from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
BUILD_TIMEOUT = 300.0
FULL = "full-key-0123456789abcdef"
OLD_FULL = "old-full-key-0123456789ab"
READ = "read-key-0123456789abcdef"
ENV = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_API_KEY": f"{OLD_FULL},{FULL}",
       "GRAPHREADY_READ_ONLY_API_KEY": READ, "GRAPHREADY_MAX_UPLOAD_BYTES": "20000",
       "GRAPHREADY_MAX_UPLOAD_FILES": "3"}
LIGHTHOUSE = {"id": "lighthouse", "title": NEEDLE["title"], "text": NEEDLE["text"]}


def start(servers: list[ServerProcess], docs: Path | None, data: Path,
          env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> ServerProcess:
    server = ServerProcess(docs, data, env if env is not None else ENV, args)
    servers.append(server)
    server.wait_listening()
    return server


def client(server: ServerProcess, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30.0)


def doc(api: httpx.Client, doc_id: str) -> dict[str, Any]:
    response = api.get(f"/documents/{doc_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_indexed(server: ServerProcess, api: httpx.Client, doc_id: str) -> dict[str, Any]:
    server.wait_until(lambda: doc(api, doc_id)["state"] == "indexed", BUILD_TIMEOUT,
                      f"{doc_id} to be indexed")
    return doc(api, doc_id)


def wait_built(server: ServerProcess, api: httpx.Client) -> dict[str, Any]:
    def idle() -> bool:
        status = api.get("/status").json()
        return not status["building"] and not any(
            d["state"] == "pending" for d in api.get("/documents?limit=500").json()["documents"])
    server.wait_until(idle, BUILD_TIMEOUT, "the build to end")
    body: dict[str, Any] = api.get("/status").json()
    return body


def cited(api: httpx.Client, question: str, **extra: Any) -> set[str]:
    response = api.post("/chat", json={"message": question, **extra})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["citations"]}


def test_keys_guard_every_endpoint(tmp_path: Path, servers: list[ServerProcess]) -> None:
    write_corpus(tmp_path / "docs", passages=30)
    server = start(servers, tmp_path / "docs", tmp_path / "data")
    anonymous, wrong = client(server, None), client(server, "wrong-key-0123456789abcdef")
    full, old, read = client(server, FULL), client(server, OLD_FULL), client(server, READ)
    assert anonymous.get("/health").status_code == 200
    assert anonymous.get("/").status_code == 200  # the page's shell; it asks for a key
    for method, path in [("GET", "/status"), ("POST", "/chat"), ("GET", "/documents"),
                         ("POST", "/documents"), ("DELETE", "/documents/x"), ("POST", "/build"),
                         ("POST", "/v1/chat/completions"), ("GET", "/v1/models"),
                         ("GET", "/openapi.json")]:
        for api in (anonymous, wrong):
            response = api.request(method, path, json={"message": "hi"})
            assert_error(response, 401, "unauthorized", "Bearer")
            assert response.headers["www-authenticate"] == "Bearer"
    for method, path in [("POST", "/documents"), ("DELETE", "/documents/x"), ("POST", "/build")]:
        assert_error(read.request(method, path, json={"documents": [{"text": "x"}]}),
                     403, "forbidden", "read-only")
    status = read.get("/status").json()
    assert status["auth"] == {"required": True}
    assert read.get("/documents").status_code == 200
    server.wait_until(lambda: read.get("/status").json()["ready"], 60, "the keyword index")
    assert read.post("/chat", json={"message": NEEDLE_QUESTION}).status_code == 200
    assert old.post("/build").status_code == 200 and full.post("/build").status_code == 200
    openai = read.post("/v1/chat/completions", json={
        "model": "graphready", "messages": [{"role": "user", "content": NEEDLE_QUESTION}]})
    assert openai.status_code == 200, openai.text
    from openai import AuthenticationError, OpenAI

    official = OpenAI(base_url=f"{server.url}/v1", api_key=READ, max_retries=0)
    completion = official.chat.completions.create(
        model="graphready", messages=[{"role": "user", "content": NEEDLE_QUESTION}])
    assert "Quenby" in (completion.choices[0].message.content or "")
    with pytest.raises(AuthenticationError):
        OpenAI(base_url=f"{server.url}/v1", api_key="wrong-key-0123456789abcdef",
               max_retries=0).models.list()
    assert server.stop() == 0
    log = server.log()
    for key in (FULL, OLD_FULL, READ):
        assert key not in log and key not in json.dumps(status)


def test_documents_added_listed_updated_and_deleted(
        tmp_path: Path, servers: list[ServerProcess]) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    write_corpus(docs, passages=40)
    (docs / "notes.md").write_text("# Field notes\n\nThe heron nests by the mill pond.\n")
    server = start(servers, docs, data)
    api = client(server, FULL)
    wait_built(server, api)

    added = api.post("/documents", json={"documents": [LIGHTHOUSE]})
    assert added.status_code == 202, added.text
    [entry] = added.json()["documents"]
    assert entry["id"] == "lighthouse" and entry["source"] == "upload"
    assert entry["state"] in ("pending", "indexed") and entry["path"] is None
    indexed = wait_indexed(server, api, "lighthouse")
    assert indexed["indexes"] == {"keyword": "indexed", "vectors": "indexed", "graph": "indexed"}
    assert indexed["chunks"] == 1 and indexed["size"] == len(NEEDLE["text"].encode())
    assert indexed["added_at"].endswith("Z") and indexed["error"] is None
    assert "lighthouse" in cited(api, NEEDLE_QUESTION)
    assert "lighthouse" in cited(api, NEEDLE_QUESTION, mode="graph_local")

    files = [("files", ("../../escape.txt", b"The escape hatch is painted orange.", "text/plain")),
             ("files", ("batch.jsonl", b'{"id": "p1", "title": "Otter", "text": "Otters play '
                        b'in the river Dee."}\n{"id": "p2", "text": "Badgers dig setts."}\n',
                        "application/octet-stream"))]
    uploaded = api.post("/documents", files=files)
    assert uploaded.status_code == 202, uploaded.text
    assert sorted(d["id"] for d in uploaded.json()["documents"]) == ["escape.txt", "p1", "p2"]
    assert not (tmp_path / "escape.txt").exists() and not (data / "escape.txt").exists()
    stored = sorted(p.name for p in (data / "uploads").iterdir())
    assert len(stored) == 4 and all(len(n) == 45 and n.endswith(".json") for n in stored)

    same = [api.post("/documents", json={"documents": [{"text": "The same words twice."}]})
            for _ in range(2)]
    ids = {r.json()["documents"][0]["id"] for r in same}
    assert len(ids) == 1 and all(r.status_code == 202 for r in same)

    wait_built(server, api)
    listed, cursor = [], None
    while True:
        page = api.get("/documents", params={"limit": 7, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        listed.extend(page.json()["documents"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [d["id"] for d in listed] == sorted(d["id"] for d in listed)
    assert len(listed) == 41 + 1 + 4 + 1
    assert {d["state"] for d in listed} == {"indexed"}
    assert api.get("/documents", params={"state": "pending"}).json()["documents"] == []
    folder = doc(api, "notes.md")
    assert folder["source"] == "folder" and folder["path"] == "notes.md" and folder["size"] > 0

    updated = api.post("/documents", json={"documents": [{
        "id": "lighthouse", "title": NEEDLE["title"],
        "text": "The Zephyr Lighthouse was designed by the architect Odile Farraway."}]})
    assert updated.status_code == 202
    wait_indexed(server, api, "lighthouse")
    answer = api.post("/chat", json={"message": NEEDLE_QUESTION, "top_k": 10}).json()
    mine = [c for c in answer["citations"] if c["id"] == "lighthouse"]
    assert mine and all("Farraway" in c["snippet"] and "Quenby" not in c["snippet"]
                        for c in mine), answer

    assert_error(api.delete("/documents/notes.md"), 409, "conflict", "notes.md",
                 "does not delete your files")
    assert_error(api.delete(f"/documents/{NEEDLE['id']}"), 409, "conflict", "corpus.jsonl")
    deleted = api.delete("/documents/lighthouse")
    assert deleted.status_code == 200 and deleted.json()["deleted"] == "lighthouse"
    assert "lighthouse" not in cited(api, "Zephyr Lighthouse Odile Farraway architect")
    assert_error(api.get("/documents/lighthouse"), 404, "not_found", "lighthouse")
    assert_error(api.delete("/documents/lighthouse"), 404, "not_found")
    status = wait_built(server, api)
    assert status["counts"]["documents"] == 41 + 4 + 1
    assert "lighthouse" not in cited(api, "Zephyr Lighthouse Odile Farraway architect")
    for mode in ("graph_local", "retrieval"):
        assert "lighthouse" not in cited(api, "Odile Farraway", mode=mode)


def test_bad_uploads_get_clean_errors(tmp_path: Path, servers: list[ServerProcess]) -> None:
    server = start(servers, None, tmp_path / "data")
    api = client(server, FULL)

    def post_files(*parts: tuple[str, bytes]) -> httpx.Response:
        return api.post("/documents", files=[("files", (n, d, "text/plain")) for n, d in parts])

    assert_error(post_files(("empty.txt", b"")), 422, "invalid_request", "empty")
    assert_error(post_files(("blank.md", b"   \n\n ")), 422, "invalid_request", "empty")
    assert_error(post_files(("tool.exe", b"MZ\x90\x00")), 415, "unsupported_document", ".exe")
    assert_error(post_files(("noext", b"text")), 415, "unsupported_document")
    assert_error(post_files(("bin.txt", b"ab\x00cd")), 422, "invalid_request", "binary")
    assert_error(post_files(("bad.jsonl", b'{"id": "a", "text": "ok"}\n{oops\n')), 422,
                 "invalid_request", "bad.jsonl:2")
    assert_error(post_files(("big.txt", b"word " * 5000)), 413, "body_too_large",
                 "GRAPHREADY_MAX_UPLOAD_BYTES")
    assert_error(post_files(*[(f"f{i}.txt", b"x") for i in range(4)]), 422,
                 "invalid_request", "GRAPHREADY_MAX_UPLOAD_FILES")
    assert_error(post_files(("..", b"dots")), 422, "invalid_request", "name")
    assert_error(api.post("/documents", files={"other": ("a.txt", b"x")}), 422,
                 "invalid_request", "files")
    assert_error(api.post("/documents", content=b"--xyz\r\ngarbage",
                          headers={"Content-Type": "multipart/form-data; boundary=xyz"}),
                 400, "malformed_upload")
    assert_error(api.post("/documents", content=b"--xyz\r\nContent-Disposition form-data\r\n"
                          b"\r\nx\r\n--xyz--\r\n",
                          headers={"Content-Type": "multipart/form-data; boundary=xyz"}),
                 400, "malformed_upload")
    assert_error(api.post("/documents", content=b"x",
                          headers={"Content-Type": "multipart/form-data"}),
                 400, "malformed_upload")
    assert_error(api.post("/documents", content=b"{not json",
                          headers={"Content-Type": "application/json"}), 400, "malformed_json")
    assert_error(api.post("/documents", json={"documents": []}), 422, "invalid_request")
    assert_error(api.post("/documents", json={"documents": [{"text": "  "}]}), 422,
                 "invalid_request", "empty")
    assert_error(api.post("/documents", json={"documents": [{"text": "x", "id": "a\nb"}]}),
                 422, "invalid_request", "control")
    assert_error(api.post("/documents", json={"documents": [{"text": "x", "extra": 1}]}),
                 422, "invalid_request", "extra")
    assert_error(api.post("/documents", json={"documents": [{"text": "x" * 30000}]}), 413,
                 "body_too_large")
    assert_error(api.get("/documents/nope"), 404, "not_found", "nope")
    assert_error(api.get("/documents", params={"cursor": "%%%"}), 422, "invalid_request")
    assert_error(api.get("/documents", params={"state": "lost"}), 422, "invalid_request")
    assert_error(api.get("/documents", params={"limit": 0}), 422, "invalid_request")
    assert api.get("/documents").json() == {"documents": [], "next_cursor": None}
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_uploads_survive_kill_and_changes_during_a_build_are_queued(
        tmp_path: Path, servers: list[ServerProcess]) -> None:
    data = tmp_path / "data"
    env = {**ENV, "GRAPHREADY_API_KEY": FULL}
    server = start(servers, None, data, env)
    api = client(server, FULL)
    assert api.post("/documents", json={"documents": [LIGHTHOUSE]}).status_code == 202
    server.stop(signal.SIGKILL)

    server = start(servers, None, data, env)
    api = client(server, FULL)
    assert wait_indexed(server, api, "lighthouse")["indexes"]["graph"] == "indexed"
    assert "lighthouse" in cited(api, NEEDLE_QUESTION)

    texts = [f"Report {i}: the otter census counted {i * 7} otters on the river Tay."
             for i in range(6)]
    for i, text in enumerate(texts):  # each change lands while the previous one's build runs
        body = {"documents": [{"id": f"census-{i}", "text": text}]}
        assert api.post("/documents", json=body).status_code == 202
        if i == 3:
            assert api.delete("/documents/census-1").status_code == 200
    wait_built(server, api)
    listed = {d["id"]: d for d in api.get("/documents").json()["documents"]}
    assert set(listed) == {"lighthouse", "census-0", "census-2", "census-3", "census-4",
                           "census-5"}
    assert {d["state"] for d in listed.values()} == {"indexed"}
    status = api.get("/status").json()
    assert status["counts"]["documents"] == 6 and status["auth"]["required"]
    assert "census-1" not in cited(api, "otter census counted 7 otters", top_k=10)


def test_no_key_beyond_loopback_refuses_to_start(tmp_path: Path,
                                                 servers: list[ServerProcess]) -> None:
    env = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_HOST": "0.0.0.0"}
    refused = ServerProcess(None, tmp_path / "data", env)
    servers.append(refused)
    assert refused.proc.wait(60) == 2
    assert "GRAPHREADY_API_KEY" in refused.log() and "--allow-no-api-key" in refused.log()

    opted_out = start(servers, None, tmp_path / "data", env, ("--allow-no-api-key",))
    assert opted_out.client.get("/status").json()["auth"] == {"required": False}
    assert opted_out.stop() == 0


def test_a_failed_stage_fails_the_document_never_leaves_it_pending(
        tmp_path: Path, servers: list[ServerProcess]) -> None:
    env = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_FAIL_STAGE": "graph"}
    server = start(servers, None, tmp_path / "data", env)
    api = client(server, None)
    assert api.post("/documents", json={"documents": [LIGHTHOUSE]}).status_code == 202
    server.wait_until(lambda: doc(api, "lighthouse")["state"] != "pending", BUILD_TIMEOUT,
                      "the build to end")
    failed = doc(api, "lighthouse")
    assert failed["state"] == "failed", failed
    assert failed["indexes"] == {"keyword": "indexed", "vectors": "indexed", "graph": "failed"}
    assert "injected failure" in failed["error"]
    listed = api.get("/documents", params={"state": "failed"}).json()["documents"]
    assert [d["id"] for d in listed] == ["lighthouse"]
    assert "lighthouse" in cited(api, NEEDLE_QUESTION)  # retrieval still answers from it


def test_watching_the_folder_builds_its_changes(tmp_path: Path,
                                                servers: list[ServerProcess]) -> None:
    docs = tmp_path / "docs"
    write_corpus(docs, passages=20)
    env = {"GRAPHREADY_EMBEDDER": "hashing"}
    server = start(servers, docs, tmp_path / "data", env, ("--watch",))
    api = client(server, None)
    wait_built(server, api)
    (docs / "kestrel.md").write_text("# Kestrels\n\nThe kestrel Brannoch hovers over the "
                                     "quarry at Tullyvar every morning.\n")
    server.wait_until(lambda: api.get("/documents/kestrel.md").status_code == 200, 120,
                      "the new file to be built without a call")
    assert "kestrel.md" in cited(api, "Which kestrel hovers over the quarry at Tullyvar?")
    (docs / ".hidden.md").write_text("ignored")
    (docs / "kestrel.md").unlink()
    server.wait_until(lambda: api.get("/documents/kestrel.md").status_code == 404, 120,
                      "the removed file to leave the index")
    assert "kestrel.md" not in cited(api, "Which kestrel hovers over the quarry at Tullyvar?")
    assert server.stop() == 0 and "watching" in server.log()
