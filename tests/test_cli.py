"""The command line: the flags of settings are made from their declarations, keep the spellings
that scripts and benchmarks use, and reach the settings (checked as the setting)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphready.cli import main
from graphready.config import SETTINGS
from graphready.settings_spec import EVERY_COMMAND

FLAGS_IN_USE = {
    "serve": ["--data-dir", "--host", "--port", "--allow-no-api-key", "--watch", "--workers"],
    "index": ["--data-dir"],
    "ask": ["--data-dir", "--mode", "--top-k"],
    "eval": ["--data-dir", "--modes", "--k", "--json", "--limit"],
}
"""The flags that the README, scripts/ and benchmarks/ use: their spelling must keep working."""


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def _offers(text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_each_command_offers_the_flags_declared_for_it(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(command, capsys)
    for spec in SETTINGS:
        assert _offers(text, spec.flag) == (command in spec.about.flags), spec.flag
        if command in spec.about.flags:
            assert spec.env in text  # the help names the variable it overrides
    assert [flag for flag in FLAGS_IN_USE[command] if not _offers(text, flag)] == []


def test_an_on_off_flag_is_a_switch(capsys: pytest.CaptureFixture[str]) -> None:
    usage = _help("serve", capsys)
    assert "[--watch]" in usage and "[--allow-no-api-key]" in usage
    assert "[--port PORT]" in usage


@pytest.mark.parametrize(("argv", "named"), [
    (["serve", "--port", "70000"], "GRAPHREADY_PORT: must be between 0 and 65535, got 70000"),
    (["serve", "--workers", "0"], "GRAPHREADY_WORKERS: must be between 1 and 64, got 0"),
    (["index", "/no/such/folder"], "GRAPHREADY_DOCS_DIR: /no/such/folder is not a folder"),
])
def test_a_flag_is_checked_as_its_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          argv: list[str], named: str) -> None:
    assert main([*argv, "--data-dir", str(tmp_path)]) == 2
    assert named in capsys.readouterr().err
