"""Faults, end to end over a real socket: a damaged SQLite file of the data dir, the data dir's
disk full during a build (a small tmpfs: root only), a build worker or the server killed with
SIGKILL in the middle of the build, and clients that send their request too slowly. Each ends
with an index equal to one built without the fault (``support/digest.py``) and chat answering.
The whole matrix (every stage, both victims) is ``benchmarks/faults.py``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.api import assert_error
from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.digest import index_digest, reference_digest
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
BUILD_TIMEOUT = 300.0
ENV = {"GRAPHREADY_EMBEDDER": "hashing"}
UPLOAD = {"id": "orchid-observatory", "title": "Orchid Observatory",
          "text": "The Orchid Observatory was designed by the architect Tobiah Wrenfield."}
COUNTED = ("documents", "chunks", "entities", "relations", "communities")


@dataclass(frozen=True)
class Built:
    """A data dir built without faults: its documents, its counts and its digest."""

    docs: Path
    data: Path
    counts: dict[str, int]
    digest: dict[str, str]


def start(servers: list[ServerProcess], docs: Path, data: Path, **env: str) -> ServerProcess:
    server = ServerProcess(docs, data, {**ENV, **env})
    servers.append(server)
    server.wait_listening(60.0)
    return server


def built(server: ServerProcess) -> bool:
    status = server.status()
    return bool(status["graphrag_ready"]) and not status["building"]


def counts(status: dict[str, Any]) -> dict[str, int]:
    return {k: status["counts"][k] for k in COUNTED}


def cites_needle(server: ServerProcess) -> bool:
    response = server.chat(NEEDLE_QUESTION)
    assert response.status_code == 200, response.text
    return any(c["id"] == NEEDLE["id"] for c in response.json()["citations"])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """60 passages and one uploaded document, built without a fault."""
    root = tmp_path_factory.mktemp("pristine")
    docs, data = root / "docs", root / "data"
    write_corpus(docs, passages=60)
    server = ServerProcess(docs, data, ENV)
    try:
        server.wait_listening(60.0)
        server.wait_until(lambda: built(server), BUILD_TIMEOUT, "the first build")
        added = server.client.post("/documents", json={"documents": [UPLOAD]})
        assert added.status_code == 202, added.text
        server.wait_until(lambda: server.client.get(f"/documents/{UPLOAD['id']}").json().get(
            "state") == "indexed" and built(server), BUILD_TIMEOUT, "the upload's build")
        status = server.status()
        assert server.stop() == 0
    finally:
        server.kill()
    yield Built(docs, data, counts(status), index_digest(data))


def copy_of(pristine: Built, tmp_path: Path, with_index: bool = True) -> Path:
    """A copy of the pristine data dir (only its uploads when not ``with_index``)."""
    data = tmp_path / "data"
    if with_index:
        shutil.copytree(pristine.data, data)
    else:
        shutil.copytree(pristine.data / "uploads", data / "uploads")
    return data


def damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        if how == "truncated":
            f.truncate(size // 2)
        elif how == "garbage":
            f.write(os.urandom(size))
        else:  # pages in the middle overwritten, the header intact
            f.seek(size // 3)
            f.write(os.urandom(8192))


@pytest.mark.parametrize(("name", "how"), [
    ("catalog.db", "garbage"), ("keyword.db", "truncated"), ("vectors.db", "garbage"),
    ("graph.db", "middle")])
def test_a_damaged_index_file_is_moved_aside_and_rebuilt_from_the_documents(
    pristine: Built, tmp_path: Path, servers: list[ServerProcess], name: str, how: str
) -> None:
    data = copy_of(pristine, tmp_path)
    damage(data / "index" / name, how)
    server = start(servers, pristine.docs, data)
    server.wait_until(lambda: built(server), BUILD_TIMEOUT, "the rebuild")
    status = server.status()
    assert len(status["damaged_files"]) == 1, status["damaged_files"]
    assert status["damaged_files"][0].startswith(f"{name}.corrupt-")
    assert (data / "index" / status["damaged_files"][0]).exists()
    assert f"SQLite database {data / 'index' / name} is damaged" in server.log()
    assert counts(status) == pristine.counts
    assert all(s["state"] == "done" for s in status["stages"].values()), status["stages"]
    assert cites_needle(server)
    # the uploaded document lives in a file, not in the catalog: a new catalog finds it again
    assert server.client.get(f"/documents/{UPLOAD['id']}").json()["state"] == "indexed"
    assert server.stop() == 0
    assert index_digest(data) == pristine.digest


@pytest.mark.parametrize("kill_at", ["graph.publish", "graph.extract:server"])
def test_a_build_killed_with_sigkill_completes_to_the_same_index(
    pristine: Built, tmp_path: Path, servers: list[ServerProcess], kill_at: str
) -> None:
    data = copy_of(pristine, tmp_path, with_index=False)
    server = start(servers, pristine.docs, data, GRAPHREADY_KILL_AT=kill_at)
    if kill_at.endswith(":server"):
        assert server.proc.wait(BUILD_TIMEOUT) == -9
        server = start(servers, pristine.docs, data)
        assert not server.status()["graphrag_ready"]  # the half-built graph is never loaded
    else:
        server.wait_until(lambda: server.status()["stages"]["graph"]["state"] == "failed",
                          BUILD_TIMEOUT, "the killed graph worker")
        assert "worker exited with status -9" in server.status()["graphrag_error"]
        assert cites_needle(server)  # chat answers from what exists
        assert server.client.post("/build").json()["started"]
    server.wait_until(lambda: built(server), BUILD_TIMEOUT, "the build after the kill")
    assert counts(server.status()) == pristine.counts
    assert cites_needle(server)
    assert server.stop() == 0
    assert index_digest(data) == pristine.digest


def test_slow_and_stalled_clients_time_out_while_others_are_answered(
    pristine: Built, tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = start(servers, pristine.docs, copy_of(pristine, tmp_path),
                   GRAPHREADY_BODY_TIMEOUT_S="2")
    server.wait_until(lambda: built(server), BUILD_TIMEOUT, "the warm start")
    head = (b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n")
    outcome: dict[int, tuple[str, float]] = {}

    def dribble_headers(i: int) -> None:  # a byte every 0.5 s: the headers never finish
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            began = time.monotonic()
            try:
                for byte in head:
                    conn.sendall(bytes([byte]))
                    time.sleep(0.5)
                outcome[i] = ("sent everything", time.monotonic() - began)
            except OSError:
                outcome[i] = ("closed", time.monotonic() - began)

    def stall_body(i: int) -> None:  # headers at once, then 6 of 100 bytes of body
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            began = time.monotonic()
            conn.sendall(head + b'{"mess')
            conn.settimeout(30.0)
            reply = b""
            while chunk := conn.recv(4096):  # the server closes the connection after it
                reply += chunk
            shaped = b'{"error":{"code":"request_timeout"' in reply
            outcome[i] = (reply.split(b"\r\n", 1)[0].decode() + " shaped" * shaped,
                          time.monotonic() - began)

    clients = [threading.Thread(target=dribble_headers if i % 2 else stall_body, args=(i,))
               for i in range(60)]
    for client in clients:
        client.start()
    answered = []
    while any(c.is_alive() for c in clients):
        status = httpx.get(f"{server.url}/status", timeout=5.0)
        chat = httpx.post(f"{server.url}/chat", json={"message": NEEDLE_QUESTION}, timeout=5.0)
        answered.append((status.status_code, chat.status_code))
        time.sleep(0.2)
    for client in clients:
        client.join()
    assert answered and set(answered) == {(200, 200)}, answered
    stalled = [outcome[i] for i in range(0, 60, 2)]
    dribbled = [outcome[i] for i in range(1, 60, 2)]
    assert {what for what, _ in stalled} == {"HTTP/1.1 408  shaped"}, stalled
    assert max(seconds for _, seconds in stalled) < 10.0
    assert {what for what, _ in dribbled} == {"closed"}, dribbled
    assert max(seconds for _, seconds in dribbled) < 15.0
    assert server.stop() == 0


def _mount(folder: Path, size: str, *options: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join((*options, f"size={size}")),
                    "tmpfs", str(folder)], check=True, capture_output=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs as the data dir needs "
                    "root (CI runs as root)")
def test_disk_full_during_a_build_fails_it_clearly_and_it_completes_once_space_is_freed(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    write_corpus(docs, passages=20)
    data.mkdir()
    _mount(data, "64m")
    try:
        server = start(servers, docs, data)
        server.wait_until(lambda: built(server), BUILD_TIMEOUT, "the first build")
        before = server.status()
        used = os.statvfs(data)
        used_kib = (used.f_blocks - used.f_bfree) * used.f_frsize // 1024
        _mount(data, f"{used_kib + 64}k", "remount")  # room for little more than what is there
        write_corpus(docs, passages=120)
        assert server.client.post("/build").json()["started"]
        server.wait_until(lambda: not server.status()["building"], BUILD_TIMEOUT, "the build")
        status = server.status()
        errors = [s["error"] for s in status["stages"].values() if s["state"] == "failed"]
        assert errors and all("the disk of the data dir is full" in e for e in errors), errors
        assert counts(status) == counts(before)  # what was built is still served
        assert cites_needle(server)
        refused = server.client.post("/documents", json={"documents": [UPLOAD]})
        assert_error(refused, 507, "storage_full")

        _mount(data, "64m", "remount")
        assert server.client.post("/build").json()["started"]
        server.wait_until(lambda: built(server), BUILD_TIMEOUT, "the build with space")
        status = server.status()
        assert status["counts"]["documents"] == 121 and status["damaged_files"] == []
        assert all(s["state"] == "done" for s in status["stages"].values()), status["stages"]
        assert server.stop() == 0
        after = index_digest(data)
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)
    assert after == reference_digest(docs, tmp_path / "reference", ENV)
