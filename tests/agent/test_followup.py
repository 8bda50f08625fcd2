"""Follow-up questions: a question that refers to an earlier turn ("When did she die?") is
searched with the names the conversation holds, offline (the graph types the names and the
passages' pronouns tell a person's) and with a language model (one rewrite call; the offline
rewrite when it fails), in ``/chat`` (``history``) and ``/v1`` (``messages``) alike, over the real
app on small documents about two people; a question that names its own subject is searched as
written."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from graphready.agent.followup import needs_history, resolve, rewritten
from graphready.commands import run_index
from graphready.config import Settings, load_settings
from graphready.errors import LLMUnavailable
from graphready.llm.protocol import ChatModel
from graphready.retrieval.pipeline import Toolset
from support.api import app_client, frames
from support.scripted_llm import ScriptedChatModel, reply

DOCUMENTS = {
    "ada-quill.md": (
        "# Ada Quill\n\nAda Quill was a Welsh astronomer who catalogued variable stars. She was "
        "born in Cardiff in 1851.\nShe studied at Girton College and worked at the Radcliffe "
        "Observatory for thirty years.\nShe died in Oxford in 1923, and her star catalogue was "
        "published after her death.\n"),
    "bram-holt.md": (
        "# Bram Holt\n\nBram Holt was a Dutch engineer who designed canal locks. He was born in "
        "Utrecht in 1844.\nHe built the Holt Lock on the Vecht and taught hydraulics at Delft.\n"
        "He died in Leiden in 1910, and his notebooks are kept in the Delft archive.\n"),
    "holt-lock.md": (
        "# Holt Lock\n\nThe Holt Lock is a canal lock on the Vecht river, completed in 1889 to a "
        "design by its engineer.\nIts gates were rebuilt in steel in 1950. Its successor, the "
        "Vecht Weir, opened in 1931 downstream.\n"),
    "observatory.md": (
        "# Radcliffe Observatory\n\nThe Radcliffe Observatory in Oxford was built between 1772 "
        "and 1794. Astronomers there measured the positions of stars and kept weather records "
        "for two centuries.\n"),
    "delft.md": (
        "# Delft\n\nDelft is a city in South Holland known for its pottery, its university of "
        "technology and its canals. The archive of the city keeps papers of many engineers and "
        "scientists.\n"),
}
ADA = [{"role": "user", "content": "Where was Ada Quill born?"},
       {"role": "assistant", "content": "Cardiff. Ada Quill was born in Cardiff in 1851 [1]."}]
BRAM = [{"role": "user", "content": "Where was Bram Holt born?"},
        {"role": "assistant", "content": "Utrecht. Bram Holt was born in Utrecht in 1844 [1]."}]
NO_GRAPH = Toolset()


def test_a_question_needs_its_history_when_it_refers_and_names_nothing() -> None:
    assert needs_history("When did she die?", ADA, NO_GRAPH)
    assert not needs_history("When did she die?", [], NO_GRAPH)
    assert not needs_history("When did Ada Quill die?", ADA, NO_GRAPH)
    assert not needs_history("Where is the observatory?", ADA, NO_GRAPH)


def test_pronouns_are_replaced_by_the_names_of_the_earlier_turns() -> None:
    assert resolve("When did she die?", ADA, NO_GRAPH) == "When did Ada Quill die?"
    assert resolve("What did her catalogue list?", ADA, NO_GRAPH) == \
        "What did Ada Quill's catalogue list?"
    assert resolve("Who taught her?", ADA, NO_GRAPH) == "Who taught Ada Quill?"
    assert resolve("When did he die?", [*ADA, *BRAM], NO_GRAPH) == "When did Bram Holt die?"
    assert resolve("When did Ada Quill die?", BRAM, NO_GRAPH) == "When did Ada Quill die?"
    with_sources = [ADA[0], {"role": "assistant",
                             "content": "It was Cardiff [1].\n\nSources:\n[1] Zed (z.md)"}]
    assert resolve("When did she die?", with_sources, NO_GRAPH) == "When did Ada Quill die?"


def test_a_models_rewrite_is_its_first_line_unquoted() -> None:
    assert rewritten('"When did Ada Quill die?"\n', "When did she die?") == \
        "When did Ada Quill die?"
    assert rewritten("  \n", "When did she die?") is None
    assert rewritten("x" * 400, "When did she die?") is None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("followup")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCUMENTS.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings = load_settings({}, data_dir=root / "data", docs_dir=docs, embedder="hashing")
    assert run_index(settings) == 0
    return settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def client_of(built: Settings, model: ChatModel | None = None
                    ) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(built, chat_model=model):
        yield client


async def chat(built: Settings, message: str, history: list[dict[str, str]],
               model: ChatModel | None = None, **body: Any) -> dict[str, Any]:
    async for client in client_of(built, model):
        response = await client.post("/chat", json={"message": message, "history": history,
                                                    **body})
        assert response.status_code == 200, response.text
        return dict(response.json())
    raise AssertionError("no client")


def first_source(body: dict[str, Any]) -> str:
    return str(body["citations"][0]["id"])


@pytest.mark.anyio
async def test_offline_a_follow_up_is_searched_with_the_person_it_means(built: Settings) -> None:
    she = await chat(built, "When did she die?", ADA)
    assert she["searched_question"] == "When did Ada Quill die?"
    assert first_source(she) == "ada-quill.md" and "1923" in she["answer"]
    he = await chat(built, "When did he die?", BRAM)
    assert he["searched_question"] == "When did Bram Holt die?"
    assert first_source(he) == "bram-holt.md" and "1910" in he["answer"]
    # both people named, Bram last: "she" is Ada all the same (her passage says "she")
    both = await chat(built, "When did she die?", [*ADA, *BRAM])
    assert both["searched_question"] == "When did Ada Quill die?"
    assert first_source(both) == "ada-quill.md"


@pytest.mark.anyio
async def test_offline_it_names_a_thing_not_a_person(built: Settings) -> None:
    history = [{"role": "user", "content": "What did Bram Holt build?"},
               {"role": "assistant", "content": "Bram Holt built the Holt Lock on the Vecht."}]
    body = await chat(built, "What is its successor?", history)
    assert body["searched_question"] == "What is Holt Lock's successor?"
    assert first_source(body) == "holt-lock.md" and "Vecht Weir" in body["answer"]


@pytest.mark.anyio
async def test_a_question_with_its_own_subject_is_searched_as_written(built: Settings) -> None:
    body = await chat(built, "When did Bram Holt die?", ADA)
    assert body["searched_question"] == "When did Bram Holt die?"
    assert first_source(body) == "bram-holt.md"
    alone = await chat(built, "When did she die?", [])
    assert alone["searched_question"] == "When did she die?"


@pytest.mark.anyio
async def test_openai_clients_follow_ups_are_searched_with_the_conversation(
        built: Settings) -> None:
    messages = [*BRAM, {"role": "user", "content": "When did he die?"}]
    async for client in client_of(built):
        response = await client.post("/v1/chat/completions", json={
            "model": "graphready", "messages": messages})
        streamed = await client.post("/v1/chat/completions", json={
            "model": "graphready", "messages": messages, "stream": True})
    assert response.status_code == 200, response.text
    last = [json.loads(d) for _, d in frames(streamed.text) if d != "[DONE]"][-1]
    assert last["searched_question"] == "When did Bram Holt die?"
    body = response.json()
    assert body["searched_question"] == "When did Bram Holt die?"
    assert body["citations"][0]["id"] == "bram-holt.md"
    assert "1910" in body["choices"][0]["message"]["content"]


@pytest.mark.anyio
async def test_with_a_model_the_follow_up_is_rewritten_by_one_call(built: Settings) -> None:
    model = ScriptedChatModel([reply("When did Bram Holt die?"),
                               reply("Bram Holt died in Leiden in 1910 [1].")])
    body = await chat(built, "And when did he die?", [*ADA, *BRAM], model, mode="retrieval")
    assert body["searched_question"] == "When did Bram Holt die?"
    assert body["answer_type"] == "generated" and first_source(body) == "bram-holt.md"
    rewrite, answer = model.prompts
    assert rewrite.messages[0]["content"].startswith("You rewrite the user's last question")
    assert rewrite.messages[-1] == {"role": "user", "content": "And when did he die?"}
    assert len(rewrite.messages) == 6 and not rewrite.tools
    assert answer.messages[-1]["content"].endswith("Question: And when did he die?")
    assert body["claims"][0]["supported"] is True


@pytest.mark.anyio
async def test_a_model_failing_the_rewrite_leaves_the_offline_one(built: Settings) -> None:
    model = ScriptedChatModel([LLMUnavailable("down for a moment"),
                               reply("She died in Oxford in 1923 [1].")])
    body = await chat(built, "When did she die?", ADA, model, mode="retrieval")
    assert body["searched_question"] == "When did Ada Quill die?"
    assert first_source(body) == "ada-quill.md" and body["answer_type"] == "generated"


@pytest.mark.anyio
async def test_with_a_model_a_question_naming_its_subject_costs_no_rewrite(
        built: Settings) -> None:
    model = ScriptedChatModel([reply("Bram Holt died in 1910 [1].")])
    body = await chat(built, "When did Bram Holt die?", ADA, model, mode="retrieval")
    assert body["searched_question"] == "When did Bram Holt die?"
    assert [p.purpose for p in model.prompts] == ["answer"]
    assert first_source(body) == "bram-holt.md"

