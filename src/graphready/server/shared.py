"""What the processes of one server (``--workers N``) share through the data dir, under
``DATA_DIR/workers/``:

    status.json   the builder's readiness (build state, stages, progress, counts, errors),
                  written atomically whenever it changes, so every process reports the same
    requests/     one empty file per build request that reached a follower (``build``: a
                  ``POST /build``; ``changes``: documents added or deleted); the builder takes
                  them (reads and removes) and builds
    questions/    one file per follower: how many questions it is answering with the language
                  model now; the builder adds them to its own when it tells its graph build
                  worker (questions come first on the model server, whichever process asks)

Files, not a socket: the data dir is already shared, an atomic rename or an exclusive create
needs no locking, and whatever a killed process left behind is plain data the next one reads.
Everything here blocks: the server calls it in a worker thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from graphready.documents.types import SkippedFile
from graphready.indexing.events import LLMActivity, Progress

from .readiness import MAX_SKIPPED_SHOWN, Readiness, StageState

RequestKind = Literal["build", "changes"]
REQUEST_KINDS: tuple[RequestKind, ...] = ("build", "changes")


def shared_folder(data_dir: Path) -> Path:
    """Where the processes of a server on ``data_dir`` share their state."""
    return data_dir / "workers"


def export_readiness(readiness: Readiness) -> dict[str, Any]:
    """The part of the builder's readiness that every process reports alike (the tools, load
    times and start-up count stay each process's own)."""
    return {
        "building": readiness.building,
        "stages": {name: {"state": s.state, "seconds": s.seconds, "source": s.source,
                          "error": s.error, "cause": s.cause, "counts": dict(s.counts),
                          "notes": list(s.notes)}
                   for name, s in readiness.stages.items()},
        "progress": None if readiness.progress is None else asdict(readiness.progress),
        "llm_build": None if readiness.llm_build is None else asdict(readiness.llm_build),
        "counts": dict(readiness.counts),
        "skipped": [[s.path, s.reason] for s in readiness.skipped[:MAX_SKIPPED_SHOWN]],
        "graph_store_error": readiness.graph_store_error,
    }


def mirror_readiness(readiness: Readiness, shared: dict[str, Any]) -> None:
    """Make ``readiness`` report what the builder's exported ``shared`` says."""
    readiness.building = bool(shared["building"])
    for name, stage in shared["stages"].items():
        if name in readiness.stages:
            readiness.stages[name] = StageState(stage["state"], stage["seconds"],
                                                stage["source"], stage["error"],
                                                dict(stage["counts"]),
                                                list(stage.get("notes", ())),
                                                stage.get("cause"))
    progress = shared["progress"]
    readiness.progress = None if progress is None else Progress(
        **{k: v for k, v in progress.items() if k != "kind"})
    llm = shared["llm_build"]
    readiness.llm_build = None if llm is None else LLMActivity(
        **{k: v for k, v in llm.items() if k != "kind"})
    readiness.counts.update(shared["counts"])
    readiness.skipped = [SkippedFile(path, reason) for path, reason in shared["skipped"]]
    readiness.graph_store_error = shared["graph_store_error"]


class SharedFolder:
    """``DATA_DIR/workers/`` of one server: the builder's status and the build requests."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = shared_folder(data_dir)
        self.status_path = self.folder / "status.json"
        self.requests = self.folder / "requests"
        self.questions = self.folder / "questions"

    def reset(self) -> None:
        """Start afresh (the parent process does, before any worker starts): no status of an
        earlier run, no request it left (the first build rescans everything anyway)."""
        for folder in (self.requests, self.questions):
            folder.mkdir(parents=True, exist_ok=True)
            for path in folder.iterdir():
                with contextlib.suppress(OSError):
                    path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.status_path.unlink()

    def write_status(self, text: str) -> None:
        """Replace the status with ``text`` atomically (a reader sees the old or the new)."""
        _write_atomically(self.status_path, text)

    def write_questions(self, index: int, count: int) -> None:
        """Record that process ``index`` is answering ``count`` questions with the model."""
        self.questions.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.questions / str(index), str(count))

    def other_questions(self, index: int) -> int:
        """How many questions the processes other than ``index`` are answering now."""
        try:
            names = os.listdir(self.questions)
        except FileNotFoundError:
            return 0
        total = 0
        for name in names:
            if name == str(index) or not name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError):
                total += max(0, int((self.questions / name).read_text("ascii")))
        return total

    def status_version(self) -> tuple[int, int] | None:
        """A value that changes whenever the status file is replaced (None: no file yet)."""
        try:
            st = os.stat(self.status_path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def read_status(self) -> dict[str, Any] | None:
        """The builder's last status, or None when there is none (yet) or it is unreadable."""
        try:
            data = json.loads(self.status_path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def post_request(self, kind: RequestKind) -> None:
        """Ask the builder to build (a new file: concurrent requests never overwrite one
        another)."""
        self.requests.mkdir(parents=True, exist_ok=True)
        (self.requests / f"{kind}-{os.getpid()}-{uuid.uuid4().hex[:12]}").touch(exist_ok=False)

    def take_requests(self) -> set[RequestKind]:
        """The kinds of request posted since the last call; their files are removed."""
        try:
            names = os.listdir(self.requests)
        except FileNotFoundError:
            return set()
        kinds: set[RequestKind] = set()
        for name in names:
            kind = name.split("-", 1)[0]
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.requests / name)
                for known in REQUEST_KINDS:
                    if kind == known:
                        kinds.add(known)
        return kinds


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
