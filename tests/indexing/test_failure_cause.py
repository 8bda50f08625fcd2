"""A stage failure carries what failed (``StageFailed.cause``), set where the worker catches the
error, so that the server never reads the error's words to decide what to wait for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphready.config import Settings, ensure_data_dir, load_settings, settings_to_env
from graphready.errors import BuildError, LLMUnavailable, StorageFull, StoreError
from graphready.indexing.events import StageDone, StageFailed, decode
from graphready.indexing.stages import run_documents
from graphready.indexing.worker import _cause
from graphready.server.readiness import Readiness
from graphready.stores.registry import open_stores
from support.corpus import write_corpus
from support.server import free_port


def _raised(error: Exception, origin: Exception | None = None) -> Exception:
    try:
        raise error from origin
    except Exception as exc:
        return exc


def test_the_cause_is_read_from_the_exceptions_raised_from() -> None:
    assert _cause(_raised(BuildError("the LLM gave no usable reply"),
                          LLMUnavailable("timed out"))) == "llm"
    assert _cause(_raised(StorageFull("disk full"))) == "disk"
    assert _cause(_raised(BuildError("x"), StoreError("locked"))) == "store"
    assert _cause(_raised(BuildError("GRAPHREADY_LLM_BASE_URL named, but no LLM failed"))) \
        == "other"
    assert _cause(ValueError("boom")) == "other"


def test_readiness_keeps_the_cause_until_the_stage_runs_again() -> None:
    readiness = Readiness()
    readiness.apply(StageFailed("graph", "the LLM gave no usable reply", "llm"))
    assert readiness.stages["graph"].cause == "llm"
    readiness.restart_build()
    assert readiness.stages["graph"].cause == "llm"  # like the error, until the stage reports
    readiness.apply(StageDone("graph", 1.0, "built"))
    assert readiness.stages["graph"].cause is None and readiness.stages["graph"].error is None


def _documents_indexed(tmp_path: Path, **overrides: object) -> Settings:
    write_corpus(tmp_path / "docs", passages=4)
    settings = load_settings({}, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                             embedder="hashing", **overrides)
    ensure_data_dir(settings)
    stores = open_stores(settings)
    try:
        run_documents(settings, stores, lambda event: None)
    finally:
        stores.close()
    return settings


def _graph_worker_failure(settings: Settings) -> StageFailed:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env.update(settings_to_env(settings))
    done = subprocess.run([sys.executable, "-m", "graphready.indexing.worker", "graph"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    failed = [e for e in map(decode, done.stdout.splitlines()) if isinstance(e, StageFailed)]
    assert done.returncode == 1 and len(failed) == 1, (done.stdout, done.stderr[-3000:])
    return failed[0]


@pytest.mark.parametrize(("overrides", "cause"), [
    ({"llm_base_url": "http://127.0.0.1:{port}/v1", "llm_model": "m", "llm_retries": 0,
      "llm_timeout_s": 5}, "llm"),
    ({"fail_stage": "graph"}, "other"),
])
def test_the_graph_worker_reports_what_failed(tmp_path: Path, overrides: dict[str, object],
                                              cause: str) -> None:
    port = free_port()
    settings = _documents_indexed(tmp_path, **{
        k: v.format(port=port) if isinstance(v, str) else v for k, v in overrides.items()})
    failed = _graph_worker_failure(settings)
    assert failed.stage == "graph" and failed.cause == cause, failed
