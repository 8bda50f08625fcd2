"""A job names its deployment and its stores without credentials; a worker opens the stores a
job names with its own credentials, on its own servers only (a workspace's stores are other
names on the same servers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphready.config import load_settings
from graphready.documents.types import Chunk
from graphready.queue.jobs import deployment_of, make_job, store_name, store_url
from graphready.server.workspace_list import workspace_settings


def test_a_workspace_job_names_its_stores_without_secrets_and_a_worker_adds_its_own(
        tmp_path: Path) -> None:
    builder = load_settings({}, data_dir=str(tmp_path / "b"),
                            graph_url="falkordb://:s3cret@DB.example:6379/wiki",
                            vector_url="neo4j://neo4j:pw@vec.example/neo4j",
                            queue_url="redis://db.example:6379/1")
    scoped = workspace_settings(builder, "team-a", None)
    job = make_job("extract", "run", scoped, "x", (Chunk("c", "d", 0, "T", "text"),))
    assert job.graph == "falkordb://db.example:6379/wiki.ws.team-a"
    assert job.vectors == "neo4j://vec.example:7687/neo4j?namespace=ws_team_0a"
    assert "s3cret" not in repr(job) and "pw" not in job.vectors
    assert job.deployment == deployment_of(builder) == \
        "falkordb://db.example:6379 neo4j://vec.example:7687"
    worker = load_settings({}, data_dir=str(tmp_path / "w"),
                           graph_url="falkordb://:w0rker@db.example:6379/wiki",
                           vector_url="neo4j://neo4j:pw2@vec.example:7687/neo4j",
                           queue_url="redis://db.example:6379/1")
    assert store_url(worker, "graph", job.graph) == \
        "falkordb://:w0rker@db.example:6379/wiki.ws.team-a"
    assert store_url(worker, "vectors", job.vectors) == \
        "neo4j://neo4j:pw2@vec.example:7687/neo4j?namespace=ws_team_0a"
    assert store_name(scoped, "graph") == job.graph


def test_a_worker_never_opens_a_store_on_another_server(tmp_path: Path) -> None:
    worker = load_settings({}, data_dir=str(tmp_path), graph_url="falkordb://db-1:6379/wiki",
                           vector_url="falkordb://db-1:6379/vec",
                           queue_url="redis://db-1:6379/1")
    with pytest.raises(ValueError, match="db-2:6379"):
        store_url(worker, "graph", "falkordb://db-2:6379/wiki")
