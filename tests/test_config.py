"""Settings: read once, validated with errors that name the setting, every one documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from graphready.config import SETTINGS, Settings, ensure_data_dir, load_settings, settings_to_env
from graphready.errors import ConfigError
from graphready.settings_doc import COMMAND, render

SETTINGS_PAGE = Path(__file__).parent.parent / "docs" / "settings.md"


def test_every_setting_is_documented_in_the_settings_page() -> None:
    text = SETTINGS_PAGE.read_text("utf-8")
    missing = [f"GRAPHREADY_{f.name.upper()}" for f in dataclasses.fields(Settings)
               if f"`GRAPHREADY_{f.name.upper()}`" not in text]
    assert missing == []


def test_every_setting_has_help_text() -> None:
    assert [spec.name for spec in SETTINGS if len(spec.help) < 10] == []


def test_the_settings_page_is_generated_from_the_declarations() -> None:
    assert SETTINGS_PAGE.read_text("utf-8") == render(), (
        f"docs/settings.md is stale: run `{COMMAND}` and commit it")


BOUNDED = [(spec.env, bound) for spec in SETTINGS for bound in (spec.about.low, spec.about.high)
           if bound is not None]
CHOOSING = [(spec.env, choice) for spec in SETTINGS for choice in spec.choices]
NEEDS = {"GRAPHREADY_MAX_TOP_K": {"GRAPHREADY_DEFAULT_TOP_K": "1"}}
"""Other settings that a bound of a setting is checked against."""


@pytest.mark.parametrize(("env", "bound"), BOUNDED)
def test_each_declared_bound_is_enforced(tmp_path: Path, env: str, bound: int) -> None:
    settings = load_settings({env: str(bound), **NEEDS.get(env, {})}, data_dir=tmp_path)
    name = env.removeprefix("GRAPHREADY_").lower()
    assert getattr(settings, name) == bound
    spec = next(s for s in SETTINGS if s.env == env)
    beyond = bound - 1 if bound == spec.about.low else bound + 1
    with pytest.raises(ConfigError, match=f"^setting {env}: must be .*, got {beyond}$"):
        load_settings({env: str(beyond), **NEEDS.get(env, {})}, data_dir=tmp_path)


@pytest.mark.parametrize(("env", "choice"), CHOOSING)
def test_each_declared_choice_is_accepted_and_nothing_else(tmp_path: Path, env: str,
                                                          choice: str) -> None:
    name = env.removeprefix("GRAPHREADY_").lower()
    assert getattr(load_settings({env: choice}, data_dir=tmp_path), name) == choice
    with pytest.raises(ConfigError,
                       match=f"^setting {env}: unknown value '{choice}x'; choose one of "):
        load_settings({env: choice + "x"}, data_dir=tmp_path)


def test_max_top_k_cannot_be_below_the_default_top_k(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^setting GRAPHREADY_MAX_TOP_K: must be >= 8, got 6$"):
        load_settings({"GRAPHREADY_DEFAULT_TOP_K": "8", "GRAPHREADY_MAX_TOP_K": "6"},
                      data_dir=tmp_path)


def test_secrets_stay_out_of_the_repr(tmp_path: Path) -> None:
    secrets = [spec.name for spec in SETTINGS if spec.secret]
    assert secrets == ["llm_api_key", "embed_api_key", "rerank_api_key", "api_key",
                       "read_only_api_key"]
    key = "k" * 20 + "-secret"
    settings = load_settings({"GRAPHREADY_API_KEY": key}, data_dir=tmp_path)
    assert settings.api_key == key and key not in repr(settings)


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
