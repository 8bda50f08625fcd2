"""Extractive answers."""

from __future__ import annotations

from graphready.agent.answer import Passage, community_answer, extractive_answer


def passage(cid: str, text: str, score: float = 1.0) -> Passage:
    return Passage(cid, f"doc-{cid}", f"Title {cid}", text, score)


def test_best_sentence_first_with_its_citation() -> None:
    passages = [
        passage("a", "Paris is large. The Eiffel Tower was designed by Gustave Eiffel's firm."),
        passage("b", "The Louvre is a museum. It holds the Mona Lisa."),
    ]
    answer = extractive_answer("Who designed the Eiffel Tower?", passages, max_sentences=2)
    assert answer.text.startswith("The Eiffel Tower was designed by Gustave Eiffel's firm. [1]")
    assert answer.citations[0].id == "doc-a" and answer.citations[0].number == 1
    assert "Eiffel" in answer.citations[0].snippet


def test_citation_numbers_match_markers() -> None:
    passages = [passage("a", "Cats purr."), passage("b", "Dogs bark loudly at cats.")]
    answer = extractive_answer("Do cats purr or bark?", passages, max_sentences=3)
    numbers = {c.number for c in answer.citations}
    for n in numbers:
        assert f"[{n}]" in answer.text
    assert len({c.chunk_id for c in answer.citations}) == len(answer.citations)


def test_no_passages_says_so() -> None:
    answer = extractive_answer("anything", [])
    assert answer.citations == [] and "nothing" in answer.text


def test_at_most_two_sentences_from_one_passage() -> None:
    text = "Owls hunt. Owls fly. Owls hoot. Owls nest."
    answer = extractive_answer("owls", [passage("a", text), passage("b", "Owls sleep by day.")],
                               max_sentences=3)
    assert answer.text.count("[1]") == 2 and "[2]" in answer.text


def test_community_answer_lists_reports_with_sources() -> None:
    other = passage("b", "Boats row on rivers.")
    src = passage("a", "The Thames  flows through London.")
    answer = community_answer([("London, Thames", "The Thames flows through London. More.",
                                [other, src]),
                               ("Orphan", "No source here.", [])], "Themes:")
    assert answer.text.splitlines()[0] == "Themes:"
    assert "- London, Thames: The Thames flows through London. [1]" in answer.text
    assert "- Orphan: No source here." in answer.text
    assert len(answer.citations) == 1 and answer.citations[0].id == "doc-a"


def test_headings_and_titles_are_not_quoted_as_answers() -> None:
    text = "## Compilers and COBOL\nIn 1949 Hopper joined the Eckert-Mauchly company."
    answer = extractive_answer("When did Hopper join Eckert-Mauchly and COBOL?",
                               [passage("a", text)], max_sentences=1)
    assert answer.text == "In 1949 Hopper joined the Eckert-Mauchly company. [1]"
