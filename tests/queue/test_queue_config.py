"""Bad queue configuration stops ``graphready serve`` at once with a clear error naming the
setting (``worker`` and ``index`` are checked in ``test_job_queue.py``), never a stack trace or
a hang: a queue that does not answer, and a queue without the shared stores it needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphready.config import load_settings
from graphready.errors import ConfigError
from support.falkordb_server import FalkorDBServer, free_port


def run_serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "graphready.cli", "serve", "--data-dir",
                           str(tmp_path / "data"), "--port", str(free_port())], env=full,
                          capture_output=True, text=True, timeout=120)


def test_serve_stops_at_once_on_an_unreachable_queue_naming_the_setting(
        falkordb: FalkorDBServer, tmp_path: Path) -> None:
    done = run_serve({"GRAPHREADY_GRAPH_URL": f"{falkordb.url}/c_graph",
                      "GRAPHREADY_VECTOR_URL": f"{falkordb.url}/c_vectors",
                      "GRAPHREADY_QUEUE_URL": f"redis://127.0.0.1:{free_port()}/0"}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "GRAPHREADY_QUEUE_URL" in done.stderr and "cannot reach the queue" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_queue_without_a_shared_graph_store_names_both_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"GRAPHREADY_QUEUE_URL.*needs GRAPHREADY_GRAPH_URL"):
        load_settings({}, data_dir=str(tmp_path), vector_url="falkordb://127.0.0.1:1/v",
                      queue_url="redis://127.0.0.1:1/0")
    done = run_serve({"GRAPHREADY_QUEUE_URL": "redis://127.0.0.1:1/0"}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "GRAPHREADY_QUEUE_URL" in done.stderr and "needs GRAPHREADY_GRAPH_URL" in done.stderr
    assert "Traceback" not in done.stderr
