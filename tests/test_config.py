"""Settings: read once, validated with errors that name the setting, every one documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from graphready.config import Settings, ensure_data_dir, load_settings, settings_to_env
from graphready.errors import ConfigError

SETTINGS_PAGE = Path(__file__).parent.parent / "docs" / "settings.md"


def test_every_setting_is_documented_in_the_settings_page() -> None:
    text = SETTINGS_PAGE.read_text("utf-8")
    missing = [f"GRAPHREADY_{f.name.upper()}" for f in dataclasses.fields(Settings)
               if f"`GRAPHREADY_{f.name.upper()}`" not in text]
    assert missing == []


def test_flags_override_environment_and_round_trip(tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_PORT": "9001"}, data_dir=tmp_path, port=9002)
    assert settings.port == 9002 and settings.data_dir == tmp_path
    assert load_settings(settings_to_env(settings)) == settings


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GRAPHREADY_PORT": "eighty"}, "GRAPHREADY_PORT"),
        ({"GRAPHREADY_PORT": "70000"}, "GRAPHREADY_PORT"),
        ({"GRAPHREADY_EMBEDDER": "gpt"}, "GRAPHREADY_EMBEDDER"),
        ({"GRAPHREADY_FAIL_STAGE": "everything"}, "GRAPHREADY_FAIL_STAGE"),
        ({"GRAPHREADY_KILL_AT": "graph.nowhere"}, "GRAPHREADY_KILL_AT"),
        ({"GRAPHREADY_KILL_AT": "graph.publish:everyone"}, "GRAPHREADY_KILL_AT"),
        ({"GRAPHREADY_BODY_TIMEOUT_S": "0"}, "GRAPHREADY_BODY_TIMEOUT_S"),
        ({"GRAPHREADY_CHUNK_CHARS": "10"}, "GRAPHREADY_CHUNK_CHARS"),
        ({"GRAPHREADY_COMMUNITY_UPDATES": "sometimes"}, "GRAPHREADY_COMMUNITY_UPDATES"),
        ({"GRAPHREADY_COLOUR": "blue"}, "GRAPHREADY_COLOUR"),
        ({"GRAPHREADY_DOCS_DIR": "/no/such/folder"}, "GRAPHREADY_DOCS_DIR"),
    ],
)
def test_bad_settings_name_the_setting(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env, data_dir=tmp_path)
    assert named in str(info.value)


def test_community_updates_are_stable_by_default_only_when_a_model_writes_reports(
        tmp_path: Path) -> None:
    llm = {"GRAPHREADY_LLM_BASE_URL": "http://127.0.0.1:9/v1", "GRAPHREADY_LLM_MODEL": "m"}
    assert not load_settings({}, data_dir=tmp_path).stable_communities
    assert load_settings(llm, data_dir=tmp_path).stable_communities
    assert not load_settings({**llm, "GRAPHREADY_LLM_GRAPH": "off"},
                             data_dir=tmp_path).stable_communities
    assert not load_settings({**llm, "GRAPHREADY_COMMUNITY_UPDATES": "exact"},
                             data_dir=tmp_path).stable_communities
    assert load_settings({"GRAPHREADY_COMMUNITY_UPDATES": "stable"},
                         data_dir=tmp_path).stable_communities


def test_data_dir_is_required() -> None:
    with pytest.raises(ConfigError, match="GRAPHREADY_DATA_DIR"):
        load_settings({})


def test_other_environment_variables_are_ignored(tmp_path: Path) -> None:
    assert load_settings({"PATH": "/bin", "HOME": "/root"}, data_dir=tmp_path).port == 8000


def test_an_unusable_data_dir_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="GRAPHREADY_DATA_DIR"):
        ensure_data_dir(load_settings({}, data_dir=blocker))
    ensure_data_dir(load_settings({}, data_dir=tmp_path / "new" / "dir"))
    assert (tmp_path / "new" / "dir" / "index").is_dir()
