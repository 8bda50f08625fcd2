"""The settings page, ``docs/settings.md``, generated from the declarations of ``config.Settings``:
``python -m graphready.settings_doc > docs/settings.md`` writes it, and a test fails when the
committed page differs."""

from __future__ import annotations

import sys

from graphready.config import SETTINGS
from graphready.settings_spec import EVERY_COMMAND, SettingSpec

COMMAND = "python -m graphready.settings_doc > docs/settings.md"
"""The command that writes the page."""

_INTRO = f"""\
# Settings

Read once, from environment variables, at start; command-line flags override them. An unknown
`GRAPHREADY_*` variable or a bad value stops start-up with a message naming the setting.

This page is generated from the declarations in `src/graphready/config.py` (class `Settings`):
after changing one, run `{COMMAND}`.
"""


def _values(spec: SettingSpec) -> str:
    if spec.choices:
        quoted = [f"`{c}`" for c in spec.choices]
        return ", ".join(quoted[:-1]) + " or " + quoted[-1]
    if spec.kind == "path":
        return "a folder"
    if spec.kind == "text":
        return "text, secret" if spec.secret else "text"
    if spec.kind == "float":
        return "number"
    low, high = spec.about.low, spec.about.high
    if high is not None:
        return f"integer, {low} to {high}"
    return f"integer, at least {low}" if low is not None else "integer"


def _default(spec: SettingSpec) -> str:
    if spec.required:
        return f"(required; `{spec.flag}`)"
    shown = "unset" if spec.default is None else f"`{spec.default}`"
    return f"{shown} ({spec.about.unset})" if spec.about.unset else shown


def _flag(spec: SettingSpec) -> str:
    flags = spec.about.flags
    if not flags:
        return ""
    if set(flags) == set(EVERY_COMMAND):
        return f"`{spec.flag}`"
    on = " (sets `on`)" if spec.switch else ""
    return ", ".join(f"`{command} {spec.flag}`{on}" for command in flags)


def render() -> str:
    """The Markdown of the settings page."""
    rows = ["| variable | flag | values | default | meaning |", "|---|---|---|---|---|"]
    for spec in SETTINGS:
        rows.append(f"| `{spec.env}` | {_flag(spec)} | {_values(spec)} | {_default(spec)} "
                    f"| {spec.help} |")
    return _INTRO + "\n" + "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
