"""An unsupported claim, shown as such: on the example documents (a copy, served by a real
server whose language model is the scripted HTTP one), the model writes one sentence its cited
passage holds and one it does not; the response marks the second unsupported (and its citation
names the sentence of the passage that holds the first), and the chat shows it underlined with
a mark, a tooltip saying why, and a legend under the answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from support.browser import examples_server, open_tab
from support.scripted_llm_server import ScriptedLLMServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
QUESTION = "Where was Alan Turing born?"
BORN = "Alan Turing was born in London"
NOBEL = "He won the Nobel Prize in Physics in 1950"


def turing_answer(body: dict[str, Any]) -> str:
    """Cites the passage that says where Alan Turing was born, for a sentence it holds and one
    it does not."""
    prompt = str(body["messages"][-1]["content"])
    blocks = prompt.split('<passage id="')[1:]
    number = next(b.split('"')[0] for b in blocks if "Turing was born in London" in b)
    return f"{BORN} [{number}]. {NOBEL} [{number}]."


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ScriptedLLMServer(answer=turing_answer) as llm, examples_server(
            tmp_path_factory.mktemp("claims"), {**llm.env(), "GRAPHREADY_LLM_GRAPH": "off"}
    ) as server:
        yield server


def test_the_response_marks_the_sentence_its_passage_does_not_hold(
        examples: ServerProcess) -> None:
    reply = examples.chat(QUESTION, mode="retrieval").json()
    assert reply["answer_type"] == "generated", reply
    assert [(c["text"], c["supported"]) for c in reply["claims"]] == [
        (f"{BORN}.", True), (f"{NOBEL}.", False)]
    assert reply["found"] is True and "1 of its 2 sentences are not supported" in reply["note"]
    cited = reply["citations"][0]
    text = examples.client.get(f"/passages/{cited['chunk_id']}").json()["text"]
    assert text[cited["start"]:cited["end"]] == (
        "Alan Mathison Turing was born in London on 23 June 1912.")


def test_the_chat_shows_an_unsupported_claim_as_such(
        browser: Browser, examples: ServerProcess, screenshots: Path) -> None:
    with open_tab(browser, examples.url) as tab:
        answer = tab.ask(QUESTION)
        page = tab.page
        marked = answer.locator(".answer-text .unsupported")
        expect(marked).to_have_count(1)
        expect(marked).to_contain_text(NOBEL)
        expect(marked).not_to_contain_text(BORN)
        expect(marked).to_have_attribute("title", "Not supported: the passages this sentence "
                                                  "cites do not hold its names, numbers or key "
                                                  "terms.")
        expect(marked.locator(".unsupported-mark")).to_have_text("⚠")
        expect(marked.locator("button.cite")).to_have_count(0)
        expect(answer.locator(".answer-text button.cite")).to_have_count(2)
        expect(answer.locator(".claims-legend")).to_contain_text("not supported by the passages")
        marked.hover()
        page.screenshot(path=screenshots / "unsupported-claim.png")
        assert tab.errors == []
