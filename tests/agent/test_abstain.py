"""The abstention decision on small hand-made passages: a question the passages answer is
answered, an unrelated one abstains, and the "documents don't say" answer names the closest
passages without claiming them as support."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphready.agent.abstain import FEATURES, NOT_FOUND, closest_only, decide, features
from graphready.agent.answer import Answer, Citation, Claim
from graphready.agent.short_answer import Source
from graphready.commands import run_index
from graphready.config import Settings, load_settings
from support.api import app_client
from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus

PASSAGES = [
    Source("Alan Turing", "Alan Mathison Turing was born in London on 23 June 1912. He worked "
                          "at Bletchley Park during the Second World War."),
    Source("Colossus computer", "Colossus was a set of computers developed by British "
                                "codebreakers at Bletchley Park in 1943."),
]


def test_a_question_the_passages_answer_is_answered() -> None:
    decision = decide("Where was Alan Turing born?", PASSAGES, typed=True)
    assert decision.found and decision.probability > 0.5
    assert len(decision.features) == len(FEATURES)


def test_an_unrelated_question_abstains() -> None:
    decision = decide("What is the weather in Paris tomorrow?", PASSAGES, typed=False)
    assert not decision.found
    decision = decide("Who won the 1998 FIFA World Cup final in Saint-Denis?", PASSAGES,
                      typed=True)
    assert not decision.found


def test_no_passages_abstain() -> None:
    assert not decide("Where was Alan Turing born?", [], typed=False).found


def named(question: str, typed: bool = False) -> dict[str, float]:
    """The features of ``question`` over ``PASSAGES``, by name."""
    return dict(zip(FEATURES, features(question, PASSAGES, typed), strict=True))


def test_features_see_names_and_terms() -> None:
    held = named("Where did Alan Turing work?")
    missing = named("Where did Grace Hopper work?")
    assert held["names"] == 1.0 and held["all_names"] == 1.0
    assert missing["names"] == 0.0 and missing["all_names"] == 0.0
    assert held["terms"] > missing["terms"]


def test_the_closest_passages_are_not_support() -> None:
    cited = Answer("Colossus was built at Bletchley Park. [1]",
                   [Citation(1, "doc-a", "chunk-a", "Colossus computer", "Colossus was...", 0.3)],
                   (Claim("Colossus was built at Bletchley Park.", (1,), True),))
    answer = closest_only(cited)
    assert answer.text == f"{NOT_FOUND} Closest passages: Colossus computer [1]."
    assert answer.claims == () and answer.citations == cited.citations
    assert closest_only(Answer("I found nothing.", [])).text == NOT_FOUND


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def built(tmp_path: Path) -> Settings:
    write_corpus(tmp_path / "docs", passages=40)
    settings = load_settings({}, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                             embedder="hashing")
    assert run_index(settings) == 0
    return settings


@pytest.mark.anyio
async def test_chat_says_the_documents_do_not_say(built: Settings) -> None:
    async for client in app_client(built):
        unrelated = (await client.post(
            "/chat", json={"message": "What is the weather in Paris tomorrow?"})).json()
        assert unrelated["found"] is False and unrelated["short_answer"] is None
        assert unrelated["answer"].startswith(NOT_FOUND)
        assert unrelated["claims"] == []
        held = (await client.post("/chat", json={"message": NEEDLE_QUESTION})).json()
        assert held["found"] is True
        assert held["citations"][0]["id"] == NEEDLE["id"]
        stream = await client.post("/chat", json={"message": "What is the weather in Paris "
                                                             "tomorrow?", "stream": True})
        first = next(line for line in stream.text.splitlines() if line.startswith("data:"))
        assert json.loads(first.removeprefix("data:"))["found"] is False


def test_a_name_in_a_passage_title_tells_the_corpus_has_a_passage_about_it() -> None:
    held = named("Where was Alan Turing born?", typed=True)
    # named in a passage's text (Bletchley Park) but in no title: another thing's passages
    elsewhere = named("Who ran Bletchley Park in 1943?", typed=True)
    assert held["titled"] == 1.0 and elsewhere["titled"] == 0.0
    assert elsewhere["names"] == 1.0  # the name is found all the same
    assert named("what is computing?")["titled"] == 1.0  # names nothing: nothing to miss
