"""Finding every regular expression in the package, and checking that its cost stays linear.

``discover`` reads the source with :mod:`ast` (it never imports it) and returns one
:class:`Site` per call of a pattern function of :mod:`re` (``re.compile``, ``re.sub``, ...),
with the pattern when it is a string literal, and a :class:`Site` with a ``problem`` for anything
a later check could not see: a pattern built at run time, ``from re import ...``, ``import re as
x``, or another regular expression engine.

``adversarial_inputs`` walks a pattern's parse tree (Python's own parser) and builds inputs of a
chosen length that make a backtracking engine work hardest: for every unbounded repeat, the text
that leads up to it, then a long run of a character (or of a short string) the repeat accepts,
then either nothing, the rest of the pattern or a "breaker" that makes the match fail at the end
of the run. Plain runs of every character the pattern names, and alternating pairs of them,
come too. A quadratic pattern is quadratic on one of those: a run that each of n start positions
scans to its end.

``check_linear`` times each input at two lengths (CPU time of this thread, the least of a few
repeats) and reports the inputs whose cost grew far faster than their length. A run that is
already far over that bound is stopped by a CPU-time signal (``re`` checks signals while it
backtracks), so a quadratic pattern costs the check a fraction of a second, not hours.
"""

from __future__ import annotations

import ast
import itertools
import random
import re
import re._compiler as sre_compiler  # type: ignore[import-not-found, unused-ignore]
import re._constants as sre  # type: ignore[import-not-found, unused-ignore]
import re._parser as sre_parser  # type: ignore[import-not-found, unused-ignore]
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

PATTERN_FUNCTIONS: Mapping[str, int] = {
    # name: the index of its flags argument when it is passed by position
    "compile": 1, "search": 2, "match": 2, "fullmatch": 2, "findall": 2, "finditer": 2,
    "split": 3, "sub": 4, "subn": 4,
}
"""The functions of :mod:`re` that take a pattern as their first argument."""
HARMLESS_RE_NAMES = frozenset({"escape", "Match", "Pattern", "error", "RegexFlag"})
"""Other names of :mod:`re` that code may use: they run no pattern."""
OTHER_ENGINES = frozenset({"regex", "re2", "sre_compile", "sre_parse", "re._compiler",
                           "re._parser", "_sre"})

BREAKERS = ("", "x", "!", "\n", " ", "\x00", "-")
"""Suffixes after a long run: nothing, a letter, punctuation, a newline, a space, a control
character and a hyphen. One of them makes almost any match that scans the run fail at its end."""
LEADERS = ("x", "!", "\n")
"""Prefixes before a run that starts the text, so that an anchored branch or an earlier match
cannot take the whole run at once (``^a+|a+$`` is quadratic only on a run in mid-text)."""

POOL = ("a", "1", " ", "\n", ".", "!", "-", "_", "x", "Z", "s", "é", "中", "٣", "\t", "\r",
        "\u00a0", "\u3000", ",", "?", "'", '"', "(", ")", "[", "]", "#", "*", ":", ";", "/",
        "\\", "&", "@", "\x00", "\x7f", "\u00ad", "\u2010", "…", "’", "。", "\ud800")
"""Characters tried against each character class: letters of several scripts, a digit of
another script, each kind of space, punctuation, controls and a lone surrogate."""

REPRESENTATIVES = 5
"""How many accepted characters stand for one character class in a long run."""
MAX_PAIRS = 24
"""How many alternating pairs of characters each pattern is tried on (chosen by a fixed seed)."""


@dataclass(frozen=True, slots=True)
class Site:
    """One call of a pattern function in the source."""

    path: str
    line: int
    call: str
    pattern: str | None
    flags: int = 0
    problem: str | None = None
    modes: tuple[str, ...] = ("finditer",)
    source: str = ""
    """The pattern argument as written (for a pattern built at run time)."""

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _flags(node: ast.expr) -> int | None:
    """The value of a flags expression made of ``re.NAME``, ``|`` and integers, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id == "re" and isinstance(getattr(re, node.attr, None), int):
        return int(getattr(re, node.attr))
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _flags(node.left), _flags(node.right)
        return None if left is None or right is None else left | right
    return None


def _call_site(path: str, node: ast.Call, name: str, fullmatch: bool) -> Site:
    call = f"re.{name}"
    modes = ("finditer", "fullmatch") if fullmatch or name == "fullmatch" else ("finditer",)
    if not node.args:
        return Site(path, node.lineno, call, None, problem="no pattern argument by position")
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return Site(path, node.lineno, call, None, modes=modes, source=ast.unparse(first),
                    problem=f"pattern is not a string literal: {ast.unparse(first)}")
    flag_nodes = [k.value for k in node.keywords if k.arg == "flags"]
    if len(node.args) > PATTERN_FUNCTIONS[name]:
        flag_nodes.append(node.args[PATTERN_FUNCTIONS[name]])
    flags = 0
    for flag_node in flag_nodes:
        value = _flags(flag_node)
        if value is None:
            return Site(path, node.lineno, call, first.value,
                        problem=f"flags are not literal: {ast.unparse(flag_node)}")
        flags |= value
    return Site(path, node.lineno, call, first.value, flags, modes=modes)


def _name(node: ast.expr) -> str | None:
    """The name an expression ends in: ``X`` for ``X`` and ``self.X``."""
    return node.id if isinstance(node, ast.Name) else \
        node.attr if isinstance(node, ast.Attribute) else None


def _fullmatched(tree: ast.AST) -> set[str]:
    """The names of the patterns that ``tree`` calls ``.fullmatch`` on."""
    return {name for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == "fullmatch"
            and (name := _name(node.func.value)) is not None}


def _compiled_names(tree: ast.AST) -> dict[int, set[str]]:
    """For each ``re.compile`` call (by its id), the names it is assigned to."""
    names: dict[int, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names[id(node.value)] = {n for t in targets if (n := _name(t)) is not None}
    return names


def _module_sites(path: str, tree: ast.AST, fullmatched: set[str]) -> Iterator[Site]:
    assigned = _compiled_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "re" and alias.asname not in (None, "re"):
                    yield Site(path, node.lineno, "import", None, problem="re imported as "
                               f"{alias.asname}: its patterns would not be found")
                elif alias.name in OTHER_ENGINES or alias.name.split(".")[0] in {"regex", "re2"}:
                    yield Site(path, node.lineno, "import", None,
                               problem=f"another pattern engine: {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = {a.name for a in node.names}
            if module == "re" and not names <= HARMLESS_RE_NAMES:
                yield Site(path, node.lineno, "import", None,
                           problem=f"from re import {', '.join(sorted(names))}: its patterns "
                           "would not be found")
            elif module in OTHER_ENGINES or module.split(".")[0] in {"regex", "re2"}:
                yield Site(path, node.lineno, "import", None,
                           problem=f"another pattern engine: {module}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re":
            name = node.func.attr
            if name in PATTERN_FUNCTIONS:
                yield _call_site(path, node, name, bool(assigned.get(id(node), set())
                                                        & fullmatched))
            elif name not in HARMLESS_RE_NAMES:
                yield Site(path, node.lineno, f"re.{name}", None,
                           problem=f"re.{name} is not a function this check knows")


def discover(root: Path) -> list[Site]:
    """Every pattern site in the Python files under ``root``, in file and line order. A pattern
    is run with finditer (which costs at least what search, match, sub, split and findall do),
    and with fullmatch too where the package calls ``.fullmatch`` on a name it is assigned to."""
    trees = {file.relative_to(root).as_posix(): ast.parse(file.read_text("utf-8"), str(file))
             for file in sorted(root.rglob("*.py"))}
    fullmatched = set().union(*map(_fullmatched, trees.values()))
    sites = [site for path, tree in trees.items() for site in _module_sites(path, tree,
                                                                            fullmatched)]
    return sorted(sites, key=lambda s: (s.path, s.line))


# --- adversarial inputs -----------------------------------------------------------------------

Item = tuple[Any, Any]
"""One node of a parse tree: (opcode, argument)."""
SINGLE = (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN)
REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
LONG_REPEAT = 64
"""A repeat with a bound above this counts as unbounded."""


@dataclass(frozen=True, slots=True)
class Shape:
    """An input: ``prefix`` + a run of ``unit`` (to a chosen length) + ``suffix``."""

    prefix: str
    unit: str
    suffix: str

    def text(self, length: int) -> str:
        return self.prefix + self.unit * max(1, length // len(self.unit)) + self.suffix

    def __str__(self) -> str:
        return f"{self.prefix!r} + {self.unit!r} * n + {self.suffix!r}"


class _Walker:
    """Examples and long-run shapes for one parsed pattern."""

    def __init__(self, parsed: sre_parser.SubPattern, flags: int) -> None:
        self.state = parsed.state
        self.flags = flags | parsed.state.flags
        self.groups: dict[int, str] = {}
        self.literals = sorted({chr(av) for op, av in _all_items(parsed.data)
                                if op in (sre.LITERAL, sre.NOT_LITERAL)})
        self._accepted: dict[tuple[Any, str], list[str]] = {}

    def accepted(self, item: Item) -> list[str]:
        """Characters that one single-character node accepts, literals named in it first."""
        key = (item[0], repr(item[1]))
        if key not in self._accepted:
            node = sre_parser.SubPattern(self.state, [item])
            compiled = sre_compiler.compile(node, self.flags)
            named = [chr(av) for op, av in _all_items([item]) if op == sre.LITERAL]
            named += [chr(c) for op, av in _all_items([item]) if op == sre.RANGE for c in av]
            pool = dict.fromkeys([*named, *POOL, *self.literals])
            self._accepted[key] = [c for c in pool if compiled.fullmatch(c)]
        return self._accepted[key]

    def example(self, items: Sequence[Item]) -> str:
        """A short string that walks ``items`` (it need not match: lookarounds are ignored)."""
        return "".join(self._example_item(op, av) for op, av in items)

    def _example_item(self, op: Any, av: Any) -> str:
        if op in SINGLE:
            chars = self.accepted((op, av))
            return chars[0] if chars else ""
        if op == sre.BRANCH:
            return self.example(av[1][0])
        if op == sre.SUBPATTERN:
            text = self.example(av[3])
            if av[0]:
                self.groups[av[0]] = text
            return text
        if op == sre.ATOMIC_GROUP:
            return self.example(av)
        if op in REPEATS:
            low, high, body = av
            return self.example(body) * int(min(max(low, 1), high))
        if op == sre.GROUPREF:
            return self.groups.get(av, "")
        if op == sre.GROUPREF_EXISTS:
            return self.example(av[1])
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            return ""
        raise ValueError(f"no example for {op}: teach tests/support/regex_cost.py this node")

    def units(self, body: Sequence[Item]) -> list[str]:
        """What one iteration of a repeat of ``body`` can be: each representative character of
        a class, or each branch's example."""
        if len(body) == 1 and body[0][0] in SINGLE:
            return self.accepted(body[0])[:REPRESENTATIVES]
        if len(body) == 1 and body[0][0] == sre.SUBPATTERN:
            return self.units(body[0][1][3])
        if len(body) == 1 and body[0][0] == sre.BRANCH:
            return [u for branch in body[0][1][1] for u in self.units(branch)]
        return [self.example(body)]

    def shapes(self, items: Sequence[Item]) -> list[tuple[str, str, str]]:
        """(text before the run, run unit, the rest of ``items``' example after the run)."""
        found: list[tuple[str, str, str]] = []
        for index, (op, av) in enumerate(items):
            before = self.example(items[:index])
            after = self.example(items[index + 1:])
            found += [(before + p, unit, rest + after) for p, unit, rest in self._item(op, av)]
        return found

    def _item(self, op: Any, av: Any) -> list[tuple[str, str, str]]:
        if op in REPEATS:
            _low, high, body = av
            inner = self.shapes(body)
            if high == sre.MAXREPEAT or high > LONG_REPEAT:
                return [("", unit, "") for unit in self.units(body) if unit] + inner
            return inner
        if op == sre.BRANCH:
            return [s for branch in av[1] for s in self.shapes(branch)]
        if op == sre.SUBPATTERN:
            return self.shapes(av[3])
        if op == sre.ATOMIC_GROUP:
            return self.shapes(av)
        if op in (sre.ASSERT, sre.ASSERT_NOT) and av[0] == 1:
            return self.shapes(av[1])
        if op == sre.GROUPREF_EXISTS:
            return self.shapes(av[1]) + (self.shapes(av[2]) if av[2] else [])
        return []


def _all_items(items: Sequence[Item]) -> Iterator[Item]:
    """Every node under ``items``, depth first."""
    for op, av in items:
        yield op, av
        if op == sre.BRANCH:
            for branch in av[1]:
                yield from _all_items(branch)
        elif op == sre.SUBPATTERN:
            yield from _all_items(av[3])
        elif op in REPEATS:
            yield from _all_items(av[2])
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            yield from _all_items(av[1])
        elif op == sre.ATOMIC_GROUP:
            yield from _all_items(av)
        elif op == sre.GROUPREF_EXISTS:
            yield from _all_items(av[1])
            if av[2]:
                yield from _all_items(av[2])
        elif op == sre.IN:
            yield from av


def adversarial_inputs(pattern: str, flags: int = 0) -> list[Shape]:
    """The inputs that stress ``pattern``: long runs at each unbounded repeat, then plain runs
    and alternating pairs of the characters it accepts (deduplicated, in a fixed order)."""
    parsed = sre_parser.parse(pattern, flags)
    walker = _Walker(parsed, flags)
    shapes: dict[Shape, None] = {}
    for prefix, unit, rest in walker.shapes(parsed.data):
        for lead, breaker in itertools.product([prefix] if prefix else ["", *LEADERS], BREAKERS):
            shapes[Shape(lead, unit, breaker)] = None
            if rest:
                shapes[Shape(lead, unit, rest + breaker)] = None
    chars = dict.fromkeys(c for op, av in _all_items(parsed.data) if op in SINGLE
                          for c in walker.accepted((op, av))[:REPRESENTATIVES])
    for char in [*chars, *walker.literals]:
        for lead, breaker in itertools.product(["", *LEADERS], BREAKERS):
            shapes[Shape(lead, char, breaker)] = None
    pairs = [a + b for a, b in itertools.permutations(dict.fromkeys([*chars, *BREAKERS[1:]]), 2)]
    for pair in random.Random(pattern).sample(pairs, min(MAX_PAIRS, len(pairs))):
        shapes[Shape("", pair, "")] = None
    return list(shapes)


# --- cost --------------------------------------------------------------------------------------

Run = Callable[[re.Pattern[str], str], object]

MODES: Mapping[str, Run] = {
    "finditer": lambda p, s: sum(1 for _ in p.finditer(s)),
    "fullmatch": lambda p, s: p.fullmatch(s),
}
"""How a pattern is run on each input: finditer tries a match at every position (as search,
sub, split and findall do), fullmatch anchors both ends (match costs no more than finditer)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """An input on which a pattern's cost grew faster than linearly."""

    shape: Shape
    mode: str
    small: float
    large: float
    factor: int
    stopped: bool

    def __str__(self) -> str:
        large = f"over {self.large:.3f}" if self.stopped else f"{self.large:.3f}"
        return (f"{self.mode} on {self.shape}: {self.small * 1e3:.2f} ms at n, {large} s at "
                f"{self.factor}n")


class _OverBudget(Exception):
    pass


def _raise_over_budget(signum: int, frame: FrameType | None) -> None:
    raise _OverBudget


def _timed(run: Run, pattern: re.Pattern[str], text: str, budget: float) -> tuple[float, bool]:
    """CPU seconds ``run(pattern, text)`` took on this thread; stopped (True) when the process
    had spent ``budget`` seconds of CPU on it."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGPROF, _raise_over_budget) if main else None
    start = time.thread_time()
    try:
        if main:
            signal.setitimer(signal.ITIMER_PROF, budget)
        run(pattern, text)
        return time.thread_time() - start, False
    except _OverBudget:
        return time.thread_time() - start, True
    finally:
        if main:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)


def _least(run: Run, pattern: re.Pattern[str], text: str, repeats: int,
           budget: float) -> tuple[float, bool]:
    best = float("inf")
    for _ in range(repeats):
        took, stopped = _timed(run, pattern, text, budget)
        if stopped:
            return took, True
        best = min(best, took)
    return best, False


def check_linear(pattern: str, flags: int = 0, modes: Sequence[str] = ("finditer",), *,
                 length: int = 1000, factor: int = 16, max_ratio: float = 50.0,
                 floor: float = 0.02, ceiling: float = 2.0,
                 first_only: bool = False) -> list[Finding]:
    """The inputs on which ``pattern``, run in each of ``modes``, costs more than ``max_ratio``
    times as much at ``factor`` times the length and more than ``floor`` seconds (a linear
    pattern costs ``factor`` times as much; a quadratic one ``factor`` squared), or more than
    ``ceiling`` seconds at either length (a cubic pattern is slow already at ``length``)."""
    compiled = re.compile(pattern, flags)
    findings: list[Finding] = []
    for shape in adversarial_inputs(pattern, flags):
        small_text, large_text = shape.text(length), shape.text(length * factor)
        for mode in modes:
            run = MODES[mode]
            small, stopped = _least(run, compiled, small_text, 5, ceiling)
            large = small
            if not stopped:
                # Stopping at this budget already proves the ratio (or the ceiling) exceeded.
                budget = min(ceiling, max(2 * floor, max_ratio * small * 1.5))
                large, stopped = _timed(run, compiled, large_text, budget)
                if not stopped and large > floor:
                    large, stopped = _least(run, compiled, large_text, 3, budget)
                    small = min(small, _least(run, compiled, small_text, 5, ceiling)[0])
            if stopped or (large > floor and large > max_ratio * small):
                findings.append(Finding(shape, mode, small, large, factor, stopped))
                if first_only:
                    return findings
    return findings
