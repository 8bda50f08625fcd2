"""A setting's variable is spelt in one place: its declaration (``config.Settings``).

Code elsewhere names a setting with ``settings_spec.env_name("name")`` (and reads the variables
by ``settings_spec.ENV_PREFIX``), so that renaming a setting, or misspelling one in an error
message, cannot go unnoticed. This module reads the source of ``src/graphready`` and fails on a
string literal outside the declarations that spells out ``GRAPHREADY_...``, and on an
``env_name`` call whose literal argument is no declared setting. Docstrings and comments may
mention the variables: they are for people.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from graphready.config import SETTINGS

SRC = Path(__file__).resolve().parents[1] / "src" / "graphready"
SPELT = re.compile(r"GRAPHREADY_(?:[A-Z]|$)")
DECLARATIONS = {("config.py", "Settings"), ("settings_spec.py", "ENV_PREFIX")}
"""Where the names are declared: (file, class or variable)."""


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text("utf-8"))


def _declared_here(file: str, node: ast.AST) -> bool:
    if isinstance(node, ast.ClassDef):
        return (file, node.name) in DECLARATIONS
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, ast.Name) and (file, t.id) in DECLARATIONS for t in targets)
    return False


def _code_strings(file: str, tree: ast.AST) -> Iterator[ast.Constant]:
    """The string literals of ``tree`` that are code: not documentation (a string standing as a
    statement of its own) and not in a declaration."""
    for node in ast.iter_child_nodes(tree):
        if _declared_here(file, node):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node
        yield from _code_strings(file, node)


def test_no_code_spells_out_a_setting_variable() -> None:
    found = [f"{file}:{c.lineno}: {c.value[:70]!r}" for file, tree in _modules()
             for c in _code_strings(file, tree) if SPELT.search(c.value)]
    assert found == [], (
        "name a setting with graphready.settings_spec.env_name('name') (its prefix: ENV_PREFIX)"
        " instead of writing out its variable:\n" + "\n".join(found))


def test_env_name_is_only_given_declared_settings() -> None:
    declared = {spec.name for spec in SETTINGS}
    calls = [(file, node) for file, tree in _modules() for node in ast.walk(tree)
             if isinstance(node, ast.Call) and node.args
             and (getattr(node.func, "id", None) == "env_name"
                  or getattr(node.func, "attr", None) == "env_name")]
    literal = [(file, n.lineno, n.args[0].value) for file, n in calls
               if isinstance(n.args[0], ast.Constant)]
    assert literal, "no env_name call found: the check would prove nothing"
    assert [call for call in literal if call[2] not in declared] == []


def test_the_check_sees_a_spelt_out_variable() -> None:
    tree = ast.parse('"""GRAPHREADY_PORT in a docstring is fine"""\n'
                     'x = f"{n} too many (GRAPHREADY_PORT)"\nPREFIX = "GRAPHREADY_"\n')
    assert [c.value for c in _code_strings("any.py", tree) if SPELT.search(c.value)] == [
        " too many (GRAPHREADY_PORT)", "GRAPHREADY_"]
