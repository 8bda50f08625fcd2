"""A citation of a sentence from a PDF carries its page: a real PDF (built byte by byte,
tests/support/pdf_files.py) is read with the offset where each page begins, chunked page by page,
kept so in the catalog and in a stored upload, and ``/chat`` cites the page; a Markdown
document's citations have no page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphready.agent.answer import Passage
from graphready.agent.grounded import ground
from graphready.commands import run_index
from graphready.config import Settings, load_settings
from graphready.documents.chunking import chunk_document
from graphready.documents.intake import from_file
from graphready.documents.pdf import read_pdf
from graphready.documents.uploads import UploadStore
from graphready.llm.protocol import ChatReply, Prompt
from support.api import app_client
from support.pdf_files import pdf_bytes
from support.scripted_llm import ScriptedChatModel, reply

PAGES = [
    "Field notes\n\nThe otters of the river Dee fish below the weir at dusk.",
    "",  # a blank page: no text, no page start, later pages keep their numbers
    "The grey herons nest in the tall alders beside the mill pond.",
    "The kingfishers dive from the willow branches at dawn.",
]


def test_pdf_text_knows_where_each_page_begins() -> None:
    pdf = read_pdf(pdf_bytes(PAGES))
    assert [page for _, page in pdf.page_starts] == [1, 3, 4]
    texts = [pdf.text[at:] for at, _ in pdf.page_starts]
    assert texts[1].startswith("The grey herons nest")
    assert texts[2] == "The kingfishers dive from the willow branches at dawn."


def test_a_pdf_is_chunked_page_by_page() -> None:
    [doc] = from_file("notes.pdf", pdf_bytes(PAGES), now=0.0)
    chunks = chunk_document(doc.document(), max_chars=2000, overlap_sentences=0)
    assert [(c.page, c.text.split()[1]) for c in chunks] == [
        (1, "notes"), (3, "grey"), (4, "kingfishers")]


def test_a_stored_upload_keeps_its_pages(tmp_path: Path) -> None:
    [upload] = from_file("notes.pdf", pdf_bytes(PAGES), now=0.0)
    store = UploadStore(tmp_path)
    store.put(upload)
    stored = store.get(upload.id)
    assert stored is not None and stored.pages == upload.pages
    assert [page for _, page in stored.pages] == [1, 3, 4]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def built(tmp_path: Path) -> Settings:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.pdf").write_bytes(pdf_bytes(PAGES))
    (docs / "owls.md").write_text("# Owls\n\nThe barn owls roost in the old church tower.\n")
    settings = load_settings({}, data_dir=tmp_path / "data", docs_dir=docs, embedder="hashing")
    assert run_index(settings) == 0
    return settings


@pytest.mark.anyio
async def test_chat_cites_the_page_of_a_pdf_sentence(built: Settings) -> None:
    async for client in app_client(built):
        reply = (await client.post("/chat", json={"message": "Where do the grey herons nest?"}
                                   )).json()
        cited = {c["snippet"]: c["page"] for c in reply["citations"]}
        herons = "The grey herons nest in the tall alders beside the mill pond."
        assert cited[herons] == 3
        owls = (await client.post("/chat", json={"message": "Where do the barn owls roost?"}
                                  )).json()
        by_snippet = {c["snippet"]: c for c in owls["citations"]}
        owl = by_snippet["The barn owls roost in the old church tower."]
        assert owl["id"] == "owls.md" and owl["page"] is None


def _cite_the_herons(prompt: Prompt) -> ChatReply:
    """A model's answer citing the passage the prompt numbered for the herons' page."""
    number = None
    for line in prompt.messages[-1]["content"].splitlines():
        if line.startswith('<passage id="'):
            number = line.split('"')[1]
        elif "grey herons" in line and number is not None:
            return ChatReply(f"The grey herons nest in the tall alders [{number}].")
    raise AssertionError("the herons' passage is not in the prompt")


@pytest.mark.anyio
async def test_a_models_citation_of_a_pdf_sentence_carries_its_page(built: Settings) -> None:
    """With a language model, as offline: the cited sentence's page (the grounded path)."""
    model = ScriptedChatModel([reply("", ("search_documents",
                                          json.dumps({"query": "grey herons nest"}))),
                               reply("DONE"), _cite_the_herons])
    async for client in app_client(built, chat_model=model):
        body = (await client.post("/chat", json={"message": "Where do the grey herons nest?"}
                                  )).json()
        assert body["answer_type"] == "generated", body
        [cited] = body["citations"]
        assert cited["snippet"].startswith("The grey herons nest") and cited["page"] == 3
        assert body["claims"][0]["supported"] is True
    # a citation of a whole passage (no sentence of it holds the claim) keeps its page too
    pdf_page = Passage("c3", "notes.pdf", "notes", PAGES[2], 0.5, page=3)
    [whole] = ground("Otters are rare [1].", [pdf_page]).citations
    assert whole.start is None and whole.page == 3
