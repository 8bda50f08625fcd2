"""Every regular expression in the package runs in linear time.

The rule (STYLE.md): a regular expression on document or request text is code that can hang;
keep it linear (no nested or adjacent unbounded repeats over the same characters) and test it
with a long adversarial line. Python's ``re`` backtracks and holds the interpreter lock while it
does, so one quadratic pattern on one long line of an upload stalls the whole server.

This module finds every pattern in ``src/graphready`` by reading the source (each call of
``re.compile``, ``re.sub``, ``re.search``, ...), builds adversarial inputs from each pattern's
parse tree (long runs of each character class it repeats, with text before and after; see
``tests/support/regex_cost.py``) and fails when an input costs far more than 16 times as much
at 16 times the length. When it names your pattern:

- Let a match start only where one can begin: ``(?<!\\s)\\s+x`` instead of ``\\s+x``,
  ``\\b\\w+-\\w+`` instead of ``\\w+-\\w+``. Without it, every position of a long run scans to the
  end of the run, and n positions cost n squared.
- Do not put two unbounded repeats that accept the same characters next to each other or one
  inside the other (``\\s*\\S*\\s*$``, ``(\\w+\\s?)*``); take text greedily and trim it in Python
  (``str.rstrip``) rather than a lazy ``.+?`` followed by a trailing class.
- Build patterns from string literals. A pattern built at run time fails here until it is
  listed in ``NOT_LITERAL`` with why it cannot be slow and a literal stand-in that is checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.regex_cost import Site, adversarial_inputs, check_linear, discover

SRC = Path(__file__).resolve().parents[1] / "src" / "graphready"
SITES = discover(SRC)
PATTERNS = [s for s in SITES if s.pattern is not None and s.problem is None]

NOT_LITERAL = {
    ("stores/falkordb/graph.py", "re.escape(self.graph) + '_v(\\\\d+)'"): (
        "the store's own graph name (checked against GRAPH_NAME first), escaped, then _v and "
        "digits; run with fullmatch on the names of the server's graphs",
        re.escape("graphready") + r"_v(\d+)",
    ),
}
"""Patterns built at run time: (file, argument as written) -> (why it is linear, a literal
pattern of the same form that is checked in its place)."""

OLD_QUADRATIC = {
    # name: (pattern, flags), as they were before issue 18
    "loaders _HEADING": (r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE),
    "pdf _HYPHENATED_WORD": (r"\w+-\w+", 0),
    "pdf _HYPHENATED": (r"(\w+)[-\u00ad\u2010][ \t]*\n[ \t]*(\w+)", 0),
    "chunking _CANDIDATE_END": (r"[.!?…。！？]+[\"'”’»)\]]*\s+", 0),
    "normalize _EDGE_PUNCT": (r"^[\W_]+|[\W_]+$", 0),
    "normalize _SPACED_APOSTROPHE": (r"\s+'(?=s\b)", 0),
    "graph_local _DISAMBIGUATION": (r"\s*\([^()]*\)\s*$", 0),
    "sse _PIECE": (r"\s*\S+", 0),
    "grounded space before punctuation": (r"[ \t]+([.,;:!?])", 0),
}
"""Patterns the package had that were quadratic on one long run (the first four are the ones
measured in issue 18): the check must find each of them."""


def _describe(site: Site) -> str:
    return f"{site.where} {site.call}({site.pattern!r})"


def test_discovery_finds_the_packages_patterns() -> None:
    """A discovery that silently found nothing would let every later check pass."""
    assert len(PATTERNS) >= 40, [s.where for s in SITES]
    found = {(s.path, s.pattern) for s in PATTERNS}
    assert ("documents/chunking.py", r"\n[ \t]*\n\s*") in found
    assert any(s.path == "documents/loaders.py" and s.call == "re.split" for s in PATTERNS)
    heading = [s for s in PATTERNS
               if s.path == "documents/loaders.py" and "#{1,6}" in (s.pattern or "")]
    assert heading and heading[0].flags == re.MULTILINE
    assert {s.modes for s in PATTERNS if s.path == "stores/falkordb/common.py"} == {
        ("finditer", "fullmatch")}


def test_every_pattern_is_a_literal_the_check_can_read() -> None:
    unreadable = [s for s in SITES if s.problem is not None
                  and (s.path, s.source) not in NOT_LITERAL]
    assert not unreadable, "patterns this test cannot check (make them literals, or list them " \
        "in NOT_LITERAL with the reason): " + "; ".join(f"{s.where}: {s.problem}"
                                                          for s in unreadable)
    listed = {(s.path, s.source) for s in SITES if s.problem is not None}
    assert set(NOT_LITERAL) <= listed, f"stale NOT_LITERAL entries: {set(NOT_LITERAL) - listed}"


@pytest.mark.parametrize("site", PATTERNS, ids=[s.where for s in PATTERNS])
def test_pattern_cost_is_linear(site: Site) -> None:
    assert site.pattern is not None
    findings = check_linear(site.pattern, site.flags, site.modes)
    assert not findings, f"{_describe(site)} is not linear (see this module's docstring):\n" + \
        "\n".join(str(f) for f in findings[:5])


@pytest.mark.parametrize("key", list(NOT_LITERAL), ids=[f"{k[0]}" for k in NOT_LITERAL])
def test_stand_in_for_a_runtime_pattern_is_linear(key: tuple[str, str]) -> None:
    _reason, stand_in = NOT_LITERAL[key]
    modes = next(s.modes for s in SITES if (s.path, s.source) == key)
    assert not check_linear(stand_in, 0, modes)


@pytest.mark.parametrize("name", list(OLD_QUADRATIC))
def test_the_check_finds_each_old_quadratic_pattern(name: str) -> None:
    pattern, flags = OLD_QUADRATIC[name]
    findings = check_linear(pattern, flags, first_only=True)
    assert findings, f"the check missed {name} ({pattern!r})"
    assert findings[0].large > 16 * findings[0].small


def test_the_check_stops_an_exponential_pattern_at_its_ceiling() -> None:
    """A pattern that is slow already on the short input is stopped, not waited for."""
    findings = check_linear(r"^(\w+\s?)*$", first_only=True, ceiling=0.5)
    assert findings and findings[0].stopped


def test_inputs_hold_a_long_run_after_the_text_that_leads_to_it() -> None:
    shapes = {str(s) for s in adversarial_inputs(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$",
                                                 re.MULTILINE)}
    assert "' # a' + ' ' * n + 'x'" in shapes
    shapes = {str(s) for s in adversarial_inputs(r"^[\W_]+|[\W_]+$")}
    assert "'x' + '_' * n + 'x'" in shapes


def test_discovery_reports_what_it_cannot_check(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "import re\n"
        "import re as other\n"
        "from re import sub\n"
        "import regex\n"
        "from re import Match\n"
        "A = re.compile(r'a+b', re.IGNORECASE | re.MULTILINE)\n"
        "B = re.compile(NAME)\n"
        "def f(x: str) -> object:\n"
        "    return re.sub(r'\\s+', ' ', x, flags=re.DOTALL), A.fullmatch(x), re.escape(x)\n"
        "re.template('x')\n"
        "C = re.compile('c', FLAGS)\n",
        encoding="utf-8")
    sites = {s.line: s for s in discover(tmp_path)}
    assert sites[6].pattern == "a+b" and sites[6].flags == re.IGNORECASE | re.MULTILINE
    assert sites[6].modes == ("finditer", "fullmatch") and sites[6].problem is None
    assert sites[9].pattern == r"\s+" and sites[9].flags == re.DOTALL
    assert sites[9].modes == ("finditer",)
    problems = {line: s.problem or "" for line, s in sites.items() if s.problem}
    assert set(problems) == {2, 3, 4, 7, 10, 11}, problems
    assert "not a string literal: NAME" in problems[7]
    assert "flags are not literal" in problems[11]


def test_the_curation_api_s_path_pattern_is_linear() -> None:
    """A request pattern (pydantic's, not ``re``'s, so discovery does not see it) checked the
    same way: the edit id of ``DELETE /graph/edits/{edit_id}``."""
    from graphready.server.curation_api import EDIT_ID

    findings = check_linear(EDIT_ID, 0, ("finditer", "fullmatch"))
    assert not findings, "\n".join(str(f) for f in findings[:5])
    assert re.fullmatch(EDIT_ID, "edit_0123456789abcdef") and not re.fullmatch(EDIT_ID, "edit_x")
