"""A cited sentence, highlighted: on the example documents (a copy, served by a real server,
hashing embedder), a citation's span names the sentence in its passage's text, and clicking the
citation in the chat opens the passage with that sentence marked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from support.browser import examples_server, open_tab
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
QUESTION = "Where was Alan Turing born?"
BORN = "Alan Mathison Turing was born in London on 23 June 1912."


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with examples_server(tmp_path_factory.mktemp("citations")) as server:
        yield server


def born_citation(server: ServerProcess) -> int:
    """The number of the citation of the sentence that answers, checked against its passage."""
    reply = server.chat(QUESTION, mode="retrieval").json()
    claim = next(c for c in reply["claims"] if c["text"] == BORN)
    assert claim["supported"] and len(claim["citations"]) == 1
    number = claim["citations"][0]
    assert f"{BORN} [{number}]" in reply["answer"]
    cited = next(c for c in reply["citations"] if c["number"] == number)
    text = server.client.get(f"/passages/{cited['chunk_id']}").json()["text"]
    assert text[cited["start"]:cited["end"]] == BORN
    assert not text.startswith(BORN)  # the passage begins with its title line
    return int(number)


def test_a_citation_names_its_sentence_in_the_passage(examples: ServerProcess) -> None:
    assert born_citation(examples) >= 1


def test_clicking_a_citation_highlights_the_cited_sentence(
        browser: Browser, examples: ServerProcess, screenshots: Path) -> None:
    with open_tab(browser, examples.url) as tab:
        answer = tab.ask(QUESTION)
        page = tab.page
        expect(answer.locator(".answer-text")).to_contain_text(BORN)
        answer.locator("button.cite", has_text=f"[{born_citation(examples)}]").click()
        expect(page.locator("#passage")).to_be_visible()
        cited = page.locator("#passage-text mark.cited")
        expect(cited).to_have_text(BORN)
        expect(page.locator("#passage-text")).to_contain_text("He studied mathematics")
        page.screenshot(path=screenshots / "citation-highlight.png")
        assert tab.errors == []
