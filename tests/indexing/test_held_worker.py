"""A held build worker (``--held``): it starts its stage only on the supervisor's ``go`` line,
and exits without touching the stores when its standard input ends instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Ada Lovelace wrote the first program. She worked with Babbage.")
    (docs / "b.md").write_text("Alan Turing described a universal machine in Cambridge.")
    out = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    out.update({"GRAPHREADY_DOCS_DIR": str(docs), "GRAPHREADY_DATA_DIR": str(tmp_path / "data"),
                "GRAPHREADY_EMBEDDER": "hashing"})
    done = _worker(out, ["documents"], b"")
    assert done[-1]["kind"] == "done"
    return out


def _worker(env: dict[str, str], args: list[str], stdin: bytes) -> list[dict[str, object]]:
    proc = subprocess.run([sys.executable, "-m", "graphready.indexing.worker", *args], env=env,
                          input=stdin, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_released_worker_runs_its_stage(env: dict[str, str]) -> None:
    events = _worker(env, ["vectors", "--held"], b"go\n")
    assert events[-1]["kind"] == "done"
    assert events[-1]["counts"] == {"vectors_added": 2}


def test_worker_never_released_leaves_the_stores_alone(env: dict[str, str]) -> None:
    assert _worker(env, ["vectors", "--held"], b"") == []
    # The stage was not run: a released worker still finds both chunks to embed.
    events = _worker(env, ["vectors", "--held"], b"go\n")
    assert events[-1]["counts"] == {"vectors_added": 2}


def test_unknown_flag_is_a_usage_error(env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "graphready.indexing.worker", "vectors", "--x"],
                          env=env, capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert b"usage" in proc.stderr
