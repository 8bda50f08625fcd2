"""Where a workspace keeps what it holds, and the commands' ``--workspace``: ``graphready
index`` adds the workspace it indexes into, ``ask`` answers from it alone, and a server on the
same data dir serves it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from graphready.cli import main
from graphready.config import load_settings
from graphready.errors import ConfigError
from graphready.server.workspace_list import WorkspaceList, scoped_url, workspace_settings
from graphready.settings_spec import env_name
from graphready.stores.registry import parse_graph_url


def test_the_default_workspace_keeps_todays_layout(tmp_path: Path) -> None:
    base = load_settings({}, data_dir=tmp_path, graph_url="falkordb://db:6379/kb")
    assert workspace_settings(base, "default", None) == base
    other = workspace_settings(base, "team", tmp_path)
    assert other.db_dir == tmp_path / "workspaces" / "team" / "index"
    assert other.graph_url == "falkordb://db:6379/kb.ws.team" and other.docs_dir == tmp_path


def test_index_and_ask_take_a_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_name("embedder"), "hashing")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ore.md").write_text("# Ore\n\nThe zanzibarite deposit was found by a survey team "
                                 "of the northern hills in 1901.\n", encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["index", str(docs), *data, "--workspace", "alpha"]) == 0
    listed = json.loads((tmp_path / "data" / "workspaces.json").read_text())
    assert listed == {"workspaces": [{"name": "alpha", "folder": str(docs.resolve())}]}
    assert WorkspaceList(tmp_path / "data").read()["alpha"].folder == str(docs.resolve())
    capsys.readouterr()
    assert main(["ask", "Who found the zanzibarite deposit?", *data, "--workspace",
                 "alpha"]) == 0
    assert "ore.md" in capsys.readouterr().out
    assert main(["ask", "Who found the zanzibarite deposit?", *data]) == 2  # default: empty
    assert "nothing is indexed" in capsys.readouterr().err
    assert main(["ask", "Who?", *data, "--workspace", "beta"]) == 2
    assert "no workspace 'beta'" in capsys.readouterr().err
    assert main(["ask", "Who?", *data, "--workspace", "Bad!"]) == 2
    assert "--workspace" in capsys.readouterr().err
    assert not (tmp_path / "data" / "workspaces" / "beta").exists()
    assert os.listdir(tmp_path / "data" / "workspaces") == ["alpha"]


def test_a_neo4j_workspace_is_a_namespace_of_the_url() -> None:
    where = parse_graph_url(scoped_url("neo4j://u:pw@db:7687/kb", "team-a", "X") or "")
    assert (where.graph, where.namespace, where.password) == ("kb", "ws_team_0a", "pw")
    assert parse_graph_url("neo4j://db:7687").namespace == ""
    for bad in ("neo4j://db:7687/kb?namespace=1x", "neo4j://db:7687/kb?namespace=a-b",
                "falkordb://db:6379/kb?namespace=ws_a"):
        with pytest.raises(ConfigError, match=r"namespace|query"):
            parse_graph_url(bad)
