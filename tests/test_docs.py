"""The manual's links as GitHub shows them. `mkdocs build --strict` (scripts/test) checks the
pages of docs/ with MkDocs' own heading anchors, but it never reads README.md, and GitHub makes
anchors differently (each space its own hyphen: "A (`--b`)" is `a---b` there, `a-b` in MkDocs).
So: every relative link of README.md and docs/*.md names a file that exists and, with an anchor,
a heading of that file by GitHub's rule; and the README's table links every page of docs/."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`[^`]*`")
HEADING = re.compile(r"#{1,6} (.+)")
NOT_IN_SLUG = re.compile(r"[^\w\- ]")


def prose(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def github_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings (lower case, punctuation dropped, each space
    a hyphen; a repeated heading's anchor gets -1, -2, ...)."""
    anchors: set[str] = set()
    for line in prose(page):
        heading = HEADING.fullmatch(line)
        if heading:
            slug = NOT_IN_SLUG.sub("", heading.group(1).lower()).replace(" ", "-")
            n, unique = 0, slug
            while unique in anchors:
                n += 1
                unique = f"{slug}-{n}"
            anchors.add(unique)
    return anchors


def relative_links(page: Path) -> list[str]:
    return [target for line in prose(page) for target in LINK.findall(CODE_SPAN.sub("", line))
            if "://" not in target and not target.startswith("mailto:")]


def test_the_heading_anchors_follow_githubs_rule() -> None:
    page = DOCS / "how-it-stays-ready.md"
    assert "every-core-answers-several-server-processes" in github_anchors(page)
    assert github_anchors(DOCS / "benchmarks.md") >= {"memory-where-the-servers-goes",
                                                      "readiness-benchmarksreadinesspy"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_names_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.is_file():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in github_anchors(linked):
            broken.append(f"{target}: no heading with that anchor in {linked.name}")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_readme_links_every_page_of_the_manual() -> None:
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(README)}
    missing = [page.name for page in DOCS.glob("*.md")
               if page.name != "index.md" and page.resolve() not in linked]
    assert not missing, f"README.md's table of pages lacks {missing}"
