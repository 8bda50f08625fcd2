"""Extractive answers: sentences quoted as written (no title line glued on, no Markdown
syntax), each with its own citation that points at where the sentence is in its passage."""

from __future__ import annotations

from graphready.agent.answer import SNIPPET_CHARS, Passage, extractive_answer, snippet


def passage(cid: str, text: str, score: float = 1.0, title: str = "") -> Passage:
    return Passage(cid, f"doc-{cid}", title or f"Title {cid}", text, score)


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
    numbers = [c.number for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    for n in numbers:
        assert answer.text.count(f"[{n}]") == 1


def test_no_passages_says_so() -> None:
    answer = extractive_answer("anything", [])
    assert answer.citations == [] and answer.claims == () and "nothing" in answer.text


def test_at_most_two_sentences_from_one_passage_each_cited_on_its_own() -> None:
    text = "Owls hunt. Owls fly. Owls hoot. Owls nest."
    answer = extractive_answer("owls", [passage("a", text), passage("b", "Owls sleep by day.")],
                               max_sentences=3)
    by_passage = [c.chunk_id for c in answer.citations]
    assert by_passage.count("a") == 2 and "b" in by_passage
    spans = {(c.start, c.end) for c in answer.citations if c.chunk_id == "a"}
    assert len(spans) == 2


def test_headings_and_titles_are_not_quoted_as_answers() -> None:
    text = "## Compilers and COBOL\nIn 1949 Hopper joined the Eckert-Mauchly company."
    answer = extractive_answer("When did Hopper join Eckert-Mauchly and COBOL?",
                               [passage("a", text)], max_sentences=1)
    assert answer.text == "In 1949 Hopper joined the Eckert-Mauchly company. [1]"


def test_a_title_line_is_not_glued_to_the_sentence_after_it() -> None:
    title = "Alan Turing: universal machines, codebreaking and the ACE"
    text = (f"{title}\nAlan Mathison Turing was born in London on 23 June 1912. He studied "
            "mathematics at King's College, Cambridge.")
    answer = extractive_answer("Where was Alan Turing born?", [passage("a", text, title=title)],
                               max_sentences=1)
    assert answer.text == "Alan Mathison Turing was born in London on 23 June 1912. [1]"
    cited = answer.citations[0]
    assert cited.start is not None and cited.end is not None
    assert text[cited.start:cited.end] == "Alan Mathison Turing was born in London on 23 June 1912."
    assert cited.snippet == text[cited.start:cited.end]


def test_markdown_syntax_is_not_quoted() -> None:
    text = ("# Grace Hopper\n- **Grace Hopper** wrote the [A-0 system](https://example.org/a0) "
            "in `1952`.\n> She *later* led the team behind FLOW-MATIC.")
    answer = extractive_answer("What did Grace Hopper write?", [passage("a", text)], 2)
    assert answer.text.startswith("Grace Hopper wrote the A-0 system in 1952. [1]")
    assert "She later led the team behind FLOW-MATIC. [2]" in answer.text
    assert not any(mark in answer.text for mark in ("#", "**", "`", "](", "> ", "- "))
    first = answer.citations[0]
    assert first.start is not None and first.end is not None
    assert text[first.start:first.end].startswith("**Grace Hopper**")


def test_each_quoted_sentence_is_a_supported_claim_with_its_citation() -> None:
    passages = [passage("a", "Cats purr softly. Cats sleep a lot."),
                passage("b", "Dogs bark at cats.")]
    answer = extractive_answer("What do cats do?", passages, max_sentences=3)
    assert len(answer.claims) == 3
    for claim in answer.claims:
        assert claim.supported and len(claim.citations) == 1
        assert f"{claim.text} [{claim.citations[0]}]" in answer.text
        cited = answer.citations[claim.citations[0] - 1]
        text = next(p.text for p in passages if p.chunk_id == cited.chunk_id)
        assert text[cited.start:cited.end] == claim.text


def test_a_snippet_is_cut_between_words() -> None:
    text = "word " * 200
    cut = snippet(text)
    assert len(cut) <= SNIPPET_CHARS and cut.endswith("word…")
    assert snippet("short  text\nhere") == "short text here"
