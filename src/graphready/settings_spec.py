"""How a setting is declared: once, as a field of the ``Settings`` dataclass (``config.py``) made
by :func:`setting`, which carries its default, its bounds and the commands that take it as a
flag; the field's type annotation gives its kind and, for a ``Literal``, its choices; the
docstring under the field is its help (Markdown; read from the source, as Sphinx and pydantic's
``use_attribute_docstrings`` read such docstrings).

:func:`specs` reads the declarations back as :class:`SettingSpec` objects, from which the rest is
generated: reading and checking a value (here), the command-line flags (``cli.py``) and the
settings page ``docs/settings.md`` (``settings_doc.py``).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from graphready.errors import ConfigError

ENV_PREFIX = "GRAPHREADY_"
Command = Literal["serve", "index", "ask", "eval"]
"""The commands of ``graphready`` that can take a setting as a flag."""
EVERY_COMMAND: tuple[Command, ...] = get_args(Command)
Kind = Literal["int", "float", "path", "text"]
"""What a value is read as (a ``Literal`` setting is text with choices)."""
_SPEC = "graphready.setting"  # the key of a declaration in a field's metadata


def env_name(name: str) -> str:
    """The environment variable of setting ``name`` (a field of ``Settings``)."""
    return ENV_PREFIX + name.upper()


@dataclass(frozen=True, slots=True)
class About:
    """What a declaration says besides its name, type, default and help."""

    low: int | None = None
    high: int | None = None
    unset: str | None = None
    """What the default means, shown beside it on the settings page."""
    flags: tuple[Command, ...] = ()
    """The commands that take the setting as ``--name`` (an on/off one as a switch that turns it
    on)."""


def setting(default: Any, *, low: int | None = None, high: int | None = None,
            unset: str | None = None, flags: tuple[Command, ...] = (),
            secret: bool = False) -> Any:
    """A field of ``Settings`` declaring one setting: its ``default``, the bounds of an integer
    (``low`` to ``high``, inclusive), what the default means (``unset``), the commands that take
    it as a flag, and whether it is a ``secret`` (never in a ``repr``)."""
    return dataclasses.field(default=default, repr=not secret,
                             metadata=described(low=low, high=high, unset=unset, flags=flags))


def described(*, low: int | None = None, high: int | None = None, unset: str | None = None,
              flags: tuple[Command, ...] = ()) -> dict[str, About]:
    """The metadata of a declared field (for a required one, a plain ``dataclasses.field``, so
    that type checkers see it has no default)."""
    return {_SPEC: About(low, high, unset, flags)}


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One declared setting, read back from its field."""

    name: str
    kind: Kind
    choices: tuple[str, ...]
    default: Any
    required: bool
    optional: bool
    """Whether it may be unset (``None``)."""
    secret: bool
    help: str
    about: About

    @property
    def env(self) -> str:
        """Its environment variable."""
        return env_name(self.name)

    @property
    def flag(self) -> str:
        """Its command-line flag (taken by the commands of ``about.flags``)."""
        return "--" + self.name.replace("_", "-")

    @property
    def switch(self) -> bool:
        """Whether its flag is a switch: an on/off setting, off by default, turned on."""
        return self.choices == ("on", "off") and self.default == "off"

    def coerce(self, raw: Any) -> Any:
        """``raw`` (text from the environment, or a flag's value) as this setting's kind."""
        if raw is None:
            return None
        if self.kind == "path":
            return Path(str(raw)).expanduser()
        if self.kind == "int":
            if isinstance(raw, bool):
                raise ConfigError(self.env, f"expected an integer, got {raw!r}")
            try:
                return int(raw)
            except (TypeError, ValueError):
                raise ConfigError(self.env, f"expected an integer, got {raw!r}") from None
        if self.kind == "float":
            try:
                number = float(raw)
            except (TypeError, ValueError):
                number = math.nan
            if isinstance(raw, bool) or not math.isfinite(number):
                raise ConfigError(self.env, f"expected a number, got {raw!r}")
            return number
        return str(raw)

    def check(self, value: Any) -> None:
        """A ``ConfigError`` naming the setting when ``value`` is not one of its choices or is
        out of its bounds."""
        if value is None:
            return
        if self.choices and value not in self.choices:
            raise ConfigError(self.env, f"unknown value {value!r}; "
                              f"choose one of {', '.join(self.choices)}")
        low, high = self.about.low, self.about.high
        if (low is not None and value < low) or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ConfigError(self.env, f"must be {bound}, got {value}")


def specs(cls: type) -> tuple[SettingSpec, ...]:
    """The settings declared by the fields of dataclass ``cls``, in their order."""
    hints, docs = get_type_hints(cls), _field_docstrings(cls)
    out = []
    for field in dataclasses.fields(cls):
        about = field.metadata.get(_SPEC)
        if not isinstance(about, About):
            raise TypeError(f"{cls.__name__}.{field.name} is not declared with setting()")
        kind, choices, optional = _kind(hints[field.name])
        required = field.default is dataclasses.MISSING
        out.append(SettingSpec(field.name, kind, choices, None if required else field.default,
                               required, optional, not field.repr, docs.get(field.name, ""),
                               about))
    return tuple(out)


def _field_docstrings(cls: type) -> dict[str, str]:
    """The docstring under each field of ``cls``, on one line; none where the source cannot be
    read (the settings then work, undocumented)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    (node,) = ast.parse(source).body
    assert isinstance(node, ast.ClassDef)
    docs = {}
    for field, doc in zip(node.body, node.body[1:], strict=False):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name) \
                and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) \
                and isinstance(doc.value.value, str):
            docs[field.target.id] = " ".join(inspect.cleandoc(doc.value.value).splitlines())
    return docs


def _kind(hint: Any) -> tuple[Kind, tuple[str, ...], bool]:
    args = get_args(hint)
    optional = get_origin(hint) in (Union, types.UnionType) and type(None) in args
    if optional:
        (hint,) = (a for a in args if a is not type(None))
    if get_origin(hint) is Literal:
        return "text", tuple(str(a) for a in get_args(hint)), optional
    if hint is int:
        return "int", (), optional
    if hint is float:
        return "float", (), optional
    if hint is Path:
        return "path", (), optional
    if hint is str:
        return "text", (), optional
    raise TypeError(f"a setting cannot be of type {hint!r}")
