"""The keys file in a real ``graphready serve``: a file that cannot be used stops start-up naming
its line; SIGHUP, and a change of the file, make every server process read it again (one
process, and each of ``--workers 2``); a file that cannot be used then is logged with its line
and the keys before it keep working."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from support.server import ServerProcess

ALICE, BOB, CAROL = "alice-key-0123456789", "bobby-key-abcdefghij", "carol-key-zyxwvutsrq"
ENV = {"GRAPHREADY_EMBEDDER": "hashing"}


def _status(server: ServerProcess, key: str) -> int:
    """``GET /status``'s status code with ``key``, on a new connection (so that, with several
    processes, the kernel may hand it to any of them)."""
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        return client.get("/status", headers={"Authorization": f"Bearer {key}"}).status_code


def _serve(servers: list[ServerProcess], tmp_path: Path, keys: Path,
           *args: str) -> ServerProcess:
    server = ServerProcess(None, tmp_path / "data", {**ENV, "GRAPHREADY_KEYS_FILE": str(keys)},
                           args)
    servers.append(server)
    server.wait_listening(120)
    return server


def test_a_bad_keys_file_stops_start_up_naming_the_line(tmp_path: Path,
                                                        servers: list[ServerProcess]) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# keys\nalice {ALICE} admin *\nbob {BOB} reader *\n", "utf-8")
    refused = ServerProcess(None, tmp_path / "data", {**ENV, "GRAPHREADY_KEYS_FILE": str(keys)})
    servers.append(refused)
    assert refused.proc.wait(60) == 2
    log = refused.log()
    assert f"GRAPHREADY_KEYS_FILE: {keys} line 3: unknown role 'reader'" in log
    assert BOB not in log and ALICE not in log and "Traceback" not in log
    keys.write_text(f"alice {ALICE} admin *\nbob {BOB} read nowhere\n", "utf-8")
    refused = ServerProcess(None, tmp_path / "data", {**ENV, "GRAPHREADY_KEYS_FILE": str(keys)},
                            ("--workers", "2"))
    servers.append(refused)
    assert refused.proc.wait(60) == 2
    assert f"{keys} line 2: no workspace 'nowhere'" in refused.log()


def test_sighup_and_a_change_reload_the_keys_and_a_bad_file_keeps_them(
        tmp_path: Path, servers: list[ServerProcess]) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"alice {ALICE} admin *\nbobby {'b' * len(BOB)} read *\n", "utf-8")
    server = _serve(servers, tmp_path, keys)
    assert _status(server, ALICE) == 200 and _status(server, BOB) == 401
    # Bob's real key, written in place with the size and mtime kept: only SIGHUP reads it.
    before = keys.stat()
    with keys.open("r+", encoding="utf-8") as file:
        file.write(f"alice {ALICE} admin *\nbobby {BOB} read *\n")
    os.utime(keys, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert _status(server, BOB) == 401
    server.proc.send_signal(signal.SIGHUP)
    server.wait_until(lambda: _status(server, BOB) == 200, 30, "SIGHUP to read Bob's key")
    # A change alone (no signal) is seen within about a second.
    keys.write_text(f"alice {ALICE} admin *\nbobby {BOB} read *\ncarol {CAROL} read *\n",
                    "utf-8")
    server.wait_until(lambda: _status(server, CAROL) == 200, 30, "the change to be read")
    # A bad file: logged with its line, the keys before it kept, on SIGHUP and on a change.
    keys.write_text(f"alice {ALICE} admin *\ncarol {CAROL} read *,nowhere\n", "utf-8")
    server.proc.send_signal(signal.SIGHUP)
    server.wait_until(lambda: "the keys before it are kept" in server.log(), 30,
                      "the bad file to be refused")
    assert f"{keys} line 2: * stands alone" in server.log()
    assert _status(server, BOB) == 200 and _status(server, CAROL) == 200
    assert server.proc.poll() is None
    assert BOB not in server.log() and CAROL not in server.log()


def test_every_process_of_a_server_of_several_reads_the_file_again(
        tmp_path: Path, servers: list[ServerProcess]) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"alice {ALICE} admin *\nbobby {'b' * len(BOB)} read *\n", "utf-8")
    server = _serve(servers, tmp_path, keys, "--workers", "2")

    def pids_with(key: str) -> set[int]:
        pids = set()
        for _ in range(40):
            with httpx.Client(base_url=server.url, timeout=30.0) as client:
                answer = client.get("/status", headers={"Authorization": f"Bearer {key}"})
            if answer.status_code == 200:
                pids.add(answer.json()["workers"]["pid"])
        return pids

    server.wait_until(lambda: len(pids_with(ALICE)) == 2, 120, "both processes to answer")
    before = keys.stat()
    with keys.open("r+", encoding="utf-8") as file:
        file.write(f"alice {ALICE} admin *\nbobby {BOB} read *\n")
    os.utime(keys, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert _status(server, BOB) == 401
    server.proc.send_signal(signal.SIGHUP)  # to the parent, which passes it on
    server.wait_until(lambda: len(pids_with(BOB)) == 2, 60, "both processes to take Bob's key")
