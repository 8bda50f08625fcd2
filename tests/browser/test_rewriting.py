"""The web app says when an entity's description or a community's report is withheld because a
deleted document contributed to it (the graph API's ``rewriting`` flag), rather than showing an
empty description or report. The graph stage fails on purpose (``GRAPHREADY_FAIL_STAGE``) after
the first build, so the deleted document stays hidden in the loaded graph for the whole test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from support.browser import BUILD_TIMEOUT_S, Tab, open_tab
from support.server import ServerProcess
from support.shared_entity_docs import GONE, KEPT

pytestmark = pytest.mark.e2e
ENV = {"GRAPHREADY_EMBEDDER": "hashing"}


def built(server: ServerProcess) -> bool:
    status = server.status()
    return bool(status["graphrag_ready"]) and not status["building"]


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose loaded graph still holds a document deleted since it was built."""
    data = tmp_path_factory.mktemp("rewriting") / "data"
    first = ServerProcess(None, data, ENV)
    try:
        first.wait_listening()
        added = first.client.post("/documents", json={"documents": [GONE, KEPT]})
        assert added.status_code == 202, added.text
        first.wait_until(lambda: built(first) and first.status()["counts"]["chunks"] >= 2,
                         BUILD_TIMEOUT_S, "the first build")
    finally:
        assert first.stop() == 0
    server = ServerProcess(None, data, {**ENV, "GRAPHREADY_FAIL_STAGE": "graph"})
    try:
        server.wait_listening()
        server.wait_until(lambda: server.status()["graphrag_ready"], BUILD_TIMEOUT_S,
                          "the stored graph to load")
        deleted = server.client.delete(f"/documents/{GONE['id']}")
        assert deleted.status_code == 200, deleted.text
        yield server
    finally:
        server.kill()


@pytest.fixture
def tab(browser: Browser, hidden: ServerProcess) -> Iterator[Tab]:
    with open_tab(browser, hidden.url) as opened:
        yield opened


def test_a_withheld_description_and_report_say_they_are_being_rewritten(
        tab: Tab, hidden: ServerProcess, screenshots: Path) -> None:
    found = hidden.client.get("/graph/entities", params={"q": "Brittany"}).json()["entities"]
    shared = next(e for e in found if e["name"] == "Brittany")
    entity = hidden.client.get(f"/graph/entities/{shared['id']}").json()
    assert entity["rewriting"] and entity["description"] == "", "the test needs a withheld one"
    communities = hidden.client.get("/graph/communities", params={"limit": 200}).json()
    assert any(c["rewriting"] for c in communities["communities"]), communities

    page = tab.open("/#graph")
    page.locator("#graph-q").fill("Brittany")
    page.locator("#graph-q").press("Enter")
    panel = page.locator("#entity")
    expect(panel.locator("h3")).to_have_text("Brittany")
    expect(panel.locator(".rewriting")).to_contain_text("Being rewritten")

    page = tab.open("/#communities")
    listed = page.locator("#comm-list li", has=page.locator(".rewriting")).first
    expect(listed).to_contain_text("being rewritten")
    listed.locator("button.result").click()
    detail = page.locator("#comm-detail")
    expect(detail.locator(".rewriting")).to_contain_text("withheld until the graph has been "
                                                         "rebuilt")
    expect(detail.locator(".report")).to_have_count(0)
    page.screenshot(path=screenshots / "rewriting.png")
    assert tab.errors == []
