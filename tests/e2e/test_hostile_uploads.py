"""End to end over a real socket: a file that costs more to read than the parse budgets is a 422
naming the file and the setting when uploaded, while ``/health`` keeps answering, and the next
upload is read by a fresh child; in the served folder the documents stage skips it with the
reason in ``/status`` and indexes the other files. The server starts its parser child with the
first upload, not before, and ends it when it stops."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import psutil
import pytest

from support.api import assert_error
from support.corpus import write_corpus
from support.hostile_files import SLOW_DOCX_ELEMENTS, docx_elements, parser_children
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
BUILD_TIMEOUT = 300.0
KEY = "hostile-key-0123456789abcdef"
ENV = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_API_KEY": KEY,
       "GRAPHREADY_PARSE_CPU_S": "1"}
CPU_REASON = "over the parse budget of 1 CPU second (GRAPHREADY_PARSE_CPU_S)"


def indexed(api: httpx.Client, doc_id: str) -> bool:
    response = api.get(f"/documents/{doc_id}")
    return response.status_code == 200 and response.json()["state"] == "indexed"


def skipped(api: httpx.Client) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in api.get("/status").json()["skipped"]}


def test_a_costly_file_is_refused_or_skipped_and_the_server_keeps_answering(
        tmp_path: Path, servers: list[ServerProcess]) -> None:
    bomb = docx_elements(SLOW_DOCX_ELEMENTS)
    docs = tmp_path / "docs"
    write_corpus(docs, passages=20)
    (docs / "bomb.docx").write_bytes(bomb)
    (docs / "heron.md").write_text("# Herons\n\nThe grey heron nests at Wexcombe weir.\n")
    server = ServerProcess(docs, tmp_path / "data", ENV)
    servers.append(server)
    server.wait_listening()
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"},
                       timeout=120.0)

    # The documents stage: the bomb is skipped with the reason, the other files are indexed.
    server.wait_until(lambda: indexed(api, "heron.md"), BUILD_TIMEOUT, "heron.md indexed")
    assert CPU_REASON in skipped(api).get("bomb.docx", ""), skipped(api)
    assert api.get("/documents/bomb.docx").status_code == 404
    assert parser_children(server.proc.pid) == []  # no upload yet: no parser child

    # An upload of it: 422 with the reason, while /health answers all along.
    answered: list[int] = []
    uploading = threading.Event()

    def poll_health() -> None:
        with httpx.Client(base_url=server.url, timeout=30.0) as health:
            while uploading.is_set():
                answered.append(health.get("/health").status_code)

    uploading.set()
    poller = threading.Thread(target=poll_health)
    poller.start()
    try:
        refused = api.post("/documents", files=[("files", ("bomb.docx", bomb, "x/y"))])
    finally:
        uploading.clear()
        poller.join(60)
    assert_error(refused, 422, "invalid_request", "'bomb.docx'", CPU_REASON)
    assert len(answered) >= 5 and set(answered) == {200}, answered

    # The next upload is read by a fresh child and indexed.
    added = api.post("/documents", files=[("files", ("otter.md", b"# Otters\n\nOtters swim "
                                                     b"in the Dee.", "text/markdown"))])
    assert added.status_code == 202, added.text
    server.wait_until(lambda: indexed(api, "otter.md"), BUILD_TIMEOUT, "otter.md indexed")
    children = parser_children(server.proc.pid)
    assert len(children) == 1

    assert server.stop(signal.SIGTERM) == 0
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
