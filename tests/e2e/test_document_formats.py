"""End to end over a real socket: PDF and Word files on a real `graphready serve`, in the served
folder and uploaded as multipart files; they are indexed and cited like any other document, and
a file that cannot be read is a 422 that names the problem (uploads) or a skip with the reason in
``/status`` (the folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from support.api import assert_error
from support.corpus import write_corpus
from support.docx_files import docx_bytes
from support.pdf_files import encrypted_pdf_bytes, pdf_bytes
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
BUILD_TIMEOUT = 300.0
KEY = "formats-key-0123456789abcdef"
ENV = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_API_KEY": KEY}
FOLDER_PDF = ["Harbour records\n\nThe Kestrel Harbour breakwater was rebuilt in 1911 by the "
              "engineer Tobias Wrenfield-\nHollis after the great storm."]
UPLOADED_PDF = ["Otter survey\n\nThe Vindolanda otter survey was led by the ecol-\nogist Ysolde "
                "Brackenridge.", "Page two: the survey counted forty-two otters."]


def doc(api: httpx.Client, doc_id: str) -> dict[str, Any]:
    response = api.get(f"/documents/{doc_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def indexed(api: httpx.Client, doc_id: str) -> bool:
    """Whether ``doc_id`` is listed and indexed (it is not listed before the build reads it)."""
    response = api.get(f"/documents/{doc_id}")
    return response.status_code == 200 and response.json()["state"] == "indexed"


def cited(api: httpx.Client, question: str) -> dict[str, str]:
    """The citations of the answer to ``question``: id -> its cited sentences' snippets (a
    citation names one sentence, so a document can be cited more than once)."""
    response = api.post("/chat", json={"message": question, "top_k": 10})
    assert response.status_code == 200, response.text
    snippets: dict[str, list[str]] = {}
    for citation in response.json()["citations"]:
        snippets.setdefault(citation["id"], []).append(citation["snippet"])
    return {doc_id: " … ".join(texts) for doc_id, texts in snippets.items()}


def test_pdf_and_docx_in_the_folder_and_uploaded(
        tmp_path: Path, servers: list[ServerProcess]) -> None:
    docs = tmp_path / "docs"
    write_corpus(docs, passages=20)
    (docs / "harbour.pdf").write_bytes(pdf_bytes(FOLDER_PDF, title="Kestrel Harbour"))
    (docs / "locked.pdf").write_bytes(encrypted_pdf_bytes(FOLDER_PDF))
    server = ServerProcess(docs, tmp_path / "data", ENV)
    servers.append(server)
    server.wait_listening()
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"},
                       timeout=30.0)

    server.wait_until(lambda: indexed(api, "harbour.pdf"), BUILD_TIMEOUT,
                      "the folder's PDF to be indexed")
    harbour = doc(api, "harbour.pdf")
    assert (harbour["title"], harbour["source"], harbour["path"]) == (
        "Kestrel Harbour", "folder", "harbour.pdf")
    snippets = cited(api, "Who rebuilt the Kestrel Harbour breakwater?")
    assert "Wrenfield-Hollis" in snippets.get("harbour.pdf", ""), snippets
    skipped = {s["path"]: s["reason"] for s in api.get("/status").json()["skipped"]}
    assert skipped.get("locked.pdf", "").startswith("encrypted PDF"), skipped

    files = [("files", ("survey.pdf", pdf_bytes(UPLOADED_PDF), "application/pdf")),
             ("files", ("minutes.docx", docx_bytes(
                 "Board minutes", ["The board chose Fenwick Quay for the new ferry pier."],
                 [["Item", "Decision"], ["Pier", "Fenwick Quay"]]), "application/octet-stream"))]
    added = api.post("/documents", files=files)
    assert added.status_code == 202, added.text
    entries = {d["id"]: d for d in added.json()["documents"]}
    assert set(entries) == {"survey.pdf", "minutes.docx"}
    assert entries["survey.pdf"]["title"] == "Otter survey"
    assert entries["minutes.docx"]["title"] == "Board minutes"
    for doc_id in entries:
        server.wait_until(lambda d=doc_id: indexed(api, d),
                          BUILD_TIMEOUT, f"{doc_id} to be indexed")
    snippets = cited(api, "Who led the Vindolanda otter survey?")
    assert "Ysolde Brackenridge" in snippets.get("survey.pdf", ""), snippets
    assert "ecologist" in snippets["survey.pdf"]
    snippets = cited(api, "Where will the new ferry pier be built?")
    assert "Fenwick Quay" in snippets.get("minutes.docx", ""), snippets


def test_unreadable_pdf_and_docx_uploads_are_422_naming_the_problem(
        tmp_path: Path, servers: list[ServerProcess]) -> None:
    server = ServerProcess(None, tmp_path / "data", ENV)
    servers.append(server)
    server.wait_listening()
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"},
                       timeout=30.0)

    def post(name: str, data: bytes) -> httpx.Response:
        return api.post("/documents", files=[("files", (name, data, "application/pdf"))])

    assert_error(post("locked.pdf", encrypted_pdf_bytes(UPLOADED_PDF)), 422, "invalid_request",
                 "locked.pdf", "encrypted PDF")
    assert_error(post("scan.pdf", pdf_bytes(["", ""])), 422, "invalid_request",
                 "no text in this PDF", "OCR")
    good = pdf_bytes(UPLOADED_PDF)
    assert_error(post("cut.pdf", good[: len(good) // 2]), 422, "invalid_request",
                 "not a readable PDF")
    assert_error(post("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old Word file"), 422,
                 "invalid_request", "old.docx", "not a readable DOCX")
    assert_error(post("legacy.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), 415,
                 "unsupported_document", ".doc", ".docx", ".pdf")
    assert api.get("/documents").json()["documents"] == []
