"""What the processes of one server share through the data dir: the builder's readiness, written
and mirrored whole, and build requests that are never lost or taken twice."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from graphready.documents.types import SkippedFile
from graphready.indexing.events import LLMActivity, Progress, StageDone, StageFailed
from graphready.server.readiness import Readiness
from graphready.server.shared import SharedFolder, export_readiness, mirror_readiness


def builder_readiness() -> Readiness:
    readiness = Readiness()
    readiness.restart_build()
    readiness.apply(StageDone("documents", 0.5, "built", {"chunks_added": 3}))
    readiness.apply(StageFailed("vectors", "the embedder broke"))
    readiness.apply(Progress("graph.extract", 2, 3))
    readiness.apply(LLMActivity("graph", {"extract": 1}, {}, False, 0, 4, 2.5, 2, 3, 0, None,
                                None))
    readiness.counts.update(documents=2, chunks=3, skipped_files=1)
    readiness.skipped = [SkippedFile("bad.bin", "binary")]
    readiness.graph_store_error = "down"
    return readiness


def test_a_follower_reports_what_the_builder_exported(tmp_path: Path) -> None:
    builder = builder_readiness()
    shared = SharedFolder(tmp_path)
    shared.reset()
    shared.write_status(json.dumps(export_readiness(builder)))
    follower = Readiness()
    status = shared.read_status()
    assert status is not None
    mirror_readiness(follower, status)
    assert export_readiness(follower) == export_readiness(builder)
    assert follower.stages["vectors"].error == "the embedder broke"
    assert follower.progress == Progress("graph.extract", 2, 3)
    assert follower.llm_build is not None and follower.llm_build.calls == 4
    assert follower.startup_runs == 0  # a process's own figures stay its own


def test_the_status_version_changes_with_each_write_and_reset_forgets_it(tmp_path: Path) -> None:
    shared = SharedFolder(tmp_path)
    shared.reset()
    assert shared.status_version() is None and shared.read_status() is None
    shared.write_status("{}")
    first = shared.status_version()
    shared.write_status('{"building": true}')
    assert shared.status_version() not in (None, first)
    assert [p.name for p in shared.folder.iterdir() if p.name.startswith(".")] == []
    shared.reset()
    assert shared.read_status() is None


def test_build_requests_are_taken_once_and_none_is_lost(tmp_path: Path) -> None:
    shared = SharedFolder(tmp_path)
    shared.reset()
    assert shared.take_requests() == set()

    def post(kind: str) -> None:
        for _ in range(20):
            shared.post_request("changes" if kind == "changes" else "build")

    threads = [threading.Thread(target=post, args=(k,)) for k in ("changes", "build", "changes")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(shared.requests.iterdir())) == 60
    assert shared.take_requests() == {"changes", "build"}
    assert shared.take_requests() == set()
    (shared.requests / "bogus-1").touch()
    assert shared.take_requests() == set()
    assert list(shared.requests.iterdir()) == []


def test_reset_removes_what_an_earlier_run_left(tmp_path: Path) -> None:
    shared = SharedFolder(tmp_path)
    shared.reset()
    shared.write_status("{}")
    shared.post_request("build")
    SharedFolder(tmp_path).reset()
    assert shared.read_status() is None and shared.take_requests() == set()


def test_the_builder_sees_the_questions_the_other_processes_answer(tmp_path: Path) -> None:
    shared = SharedFolder(tmp_path)
    shared.reset()
    assert shared.other_questions(0) == 0
    shared.write_questions(1, 2)
    shared.write_questions(2, 3)
    shared.write_questions(0, 7)  # the builder's own are counted in its own process
    assert shared.other_questions(0) == 5
    shared.write_questions(2, 0)
    assert shared.other_questions(0) == 2
    (shared.questions / "1").write_text("garbage")
    assert shared.other_questions(0) == 0
    shared.reset()
    assert shared.other_questions(0) == 0
