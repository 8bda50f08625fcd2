"""Plain text of a line of Markdown: what a quoted sentence shows."""

from __future__ import annotations

import pytest

from graphready.documents.markdown import plain


@pytest.mark.parametrize(("line", "expected"), [
    ("## Compilers and COBOL", "Compilers and COBOL"),
    ("> - **Bold** and *it* and _so_ in `code`.", "Bold and it and so in code."),
    ("See [ENIAC](https://example.org/wiki/ENIAC_(computer)) and ![a photo](p.png \"t\").",
     "See ENIAC and a photo."),
    ("Mail <mailto:a@example.org> or <https://example.org>.",
     "Mail mailto:a@example.org or https://example.org."),
    ("1. First item", "First item"),
    ("snake_case_name, 2 * 3 * 4 and A*b*c stay.", "snake_case_name, 2 * 3 * 4 and A*b*c stay."),
    ("**unclosed bold and a [bracket]", "**unclosed bold and a [bracket]"),
    ("Plain   text\tstays.", "Plain text stays."),
])
def test_plain(line: str, expected: str) -> None:
    assert plain(line) == expected


@pytest.mark.parametrize("hostile", [
    "*" * 100_000, "**a" * 30_000, "[" * 100_000, "[a](" * 30_000, "[a](b(c)" * 15_000,
    "_a" * 50_000, "`" * 100_000, "*a " * 30_000, "# " * 50_000, '[x](y "' * 15_000,
])
def test_a_long_hostile_line_is_read_in_one_pass(hostile: str) -> None:
    # linear patterns: a quadratic one would take minutes on these lines, and the test with it
    assert len(plain(hostile)) <= len(hostile)
