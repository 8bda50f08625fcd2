"""Global answers without a model: themes named by their central entities and their distinctive
words (class-based TF-IDF), each with representative sentences and their citations, after a
one-line overview."""

from __future__ import annotations

from collections import Counter

from graphready.agent.answer import Passage
from graphready.agent.themes import (
    Report,
    community_answer,
    distinctive_terms,
    key_entities,
    without_boilerplate,
)


def passage(cid: str, text: str, title: str = "") -> Passage:
    return Passage(cid, f"doc-{cid}", title or f"Title {cid}", text, 0.5)


SEA = Report(
    "Ahab, Moby Dick, Pequod",
    "Ahab hunts Moby Dick.\nKey entities: Ahab, Moby Dick, Pequod",
    [passage("s1", "# Moby Dick: a whale of a tale\nAhab sails the Pequod after the whale. "
                   "The whale broke the harpoons of the crew. Ahab hunts Moby Dick, the whale, "
                   "across the whole ocean with his harpoons.",
                   title="Moby Dick: a whale of a tale")])
LAND = Report(
    "Dorothy, Toto, Kansas",
    "Dorothy leaves Kansas.\nKey entities: Dorothy, Toto, Kansas",
    [passage("l1", "A cyclone lifts the farmhouse from the prairie. Dorothy and Toto ride the "
                   "cyclone out of Kansas. The farmhouse lands far from the prairie.")])


def test_the_overview_comes_first_then_one_line_per_theme() -> None:
    answer = community_answer([SEA, LAND], "Main themes in the documents:")
    lines = answer.text.splitlines()
    assert lines[0] == "Main themes in the documents: Ahab and Moby Dick; Dorothy and Toto."
    assert lines[1].startswith("- Ahab and Moby Dick: whale, harpoons")
    assert lines[2].startswith("- Dorothy and Toto: cyclone, farmhouse, prairie")
    assert len(lines) == 3


def test_each_theme_quotes_sentences_naming_its_central_entities_with_spans() -> None:
    answer = community_answer([SEA, LAND], "Themes:")
    sea, land = answer.text.splitlines()[1:]
    assert "Ahab hunts Moby Dick, the whale, across the whole ocean with his harpoons. [1]" in sea
    assert "Dorothy and Toto ride the cyclone out of Kansas. [" in land
    assert "#" not in answer.text and "a whale of a tale" not in answer.text
    texts = {p.chunk_id: p.text for r in (SEA, LAND) for p in r.passages}
    for claim in answer.claims:
        cited = answer.citations[claim.citations[0] - 1]
        assert claim.supported
        assert texts[cited.chunk_id][cited.start:cited.end] == claim.text


def test_class_based_tf_idf_ranks_words_of_one_class_above_shared_words() -> None:
    ranked = distinctive_terms([Counter(whale=3, ship=2, sea=2), Counter(sea=2, farm=3)])
    assert ranked[0][0][0] == "whale" and ranked[1][0][0] == "farm"
    assert [t for t, _ in ranked[0]].index("sea") > [t for t, _ in ranked[0]].index("ship")


def test_a_title_with_commas_stays_one_key_entity() -> None:
    title = "Bletchley Park, Tommy Flowers and Colossus"
    report = Report("x", f"Text.\nKey entities: Tommy Flowers, {title}, Colossus",
                    [passage("b", "Colossus was built.", title=title)])
    assert key_entities(report) == ["Tommy Flowers", title, "Colossus"]
    assert key_entities(Report("Ada, Babbage", "No key line.", [])) == ["Ada", "Babbage"]


def test_no_report_says_so() -> None:
    answer = community_answer([], "Themes:")
    assert answer.citations == [] and "no community" in answer.text


LICENCE_HEADER = ("The Project Gutenberg eBook of Moby Dick\n\nThis ebook is for the use of "
                  "anyone anywhere in the United States at no cost. Ahab sails the Pequod.\n"
                  "*** START OF THE PROJECT GUTENBERG EBOOK MOBY DICK ***")
LICENCE = Report(
    "Project Gutenberg, United States, Foundation",
    "The licence.\nKey entities: Project Gutenberg, United States, Foundation",
    [passage("g1", "The Project Gutenberg Literary Archive Foundation is a non-profit 501(c)(3) "
                   "educational corporation organized under the laws of the state of "
                   "Mississippi and granted tax exempt status by the Internal Revenue Service."),
     passage("g2", "Section 3. Information about the Project\nGutenberg Literary Archive "
                   "Foundation: donations to the Foundation are tax deductible in the United "
                   "States.")])


def test_licence_boilerplate_is_no_theme() -> None:
    """A Project Gutenberg book's licence (every part names the project, however its lines
    break) is neither a theme nor quoted in one; a theme named by the entities of its licence
    header alone is left out too."""
    sea = Report(SEA.title, "Ahab hunts.\nKey entities: Ahab, United States, Moby Dick",
                 [passage("h1", LICENCE_HEADER), *SEA.passages])
    header_only = Report("United States, Foundation",
                         "Header.\nKey entities: United States, Foundation",
                         [passage("h2", LICENCE_HEADER), passage("l2", "Ahab sails on.")])
    answer = community_answer([sea, LICENCE, header_only, LAND], "Main themes:")
    lines = answer.text.splitlines()
    assert lines[0] == "Main themes: Ahab and Moby Dick; Dorothy and Toto."
    assert "Gutenberg" not in answer.text and "Foundation" not in answer.text
    assert {c.chunk_id for c in answer.citations} <= {"s1", "l1"}
    # a community that never names the licence is kept as it is
    assert without_boilerplate([SEA, LAND]) == [SEA, LAND]
    assert community_answer([LICENCE], "Themes:").citations == []
