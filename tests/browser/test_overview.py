"""The graph view opens on an overview in a real browser: the most connected entities of the
example documents drawn at once (no search), coloured by community, with a legend of the
communities' titles; a search replaces it and the Overview button brings it back. A server
whose graph is not built says so, and one whose graph has no entity says that, over the
drawing area instead of an empty canvas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from support.browser import BUILD_TIMEOUT_S, Tab, examples_server, open_tab
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
ENV = {"GRAPHREADY_EMBEDDER": "hashing"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with examples_server(tmp_path_factory.mktemp("overview")) as server:
        yield server


@pytest.fixture
def tab(browser: Browser, served: ServerProcess) -> Iterator[Tab]:
    with open_tab(browser, served.url) as opened:
        yield opened


def drawn(page: Page) -> int:
    return int(page.locator("#graph-canvas").get_attribute("data-nodes") or 0)


def test_the_graph_view_opens_on_the_overview_coloured_by_community(
        tab: Tab, served: ServerProcess, screenshots: Path) -> None:
    expected = served.client.get("/graph/overview", params={"limit": 50}).json()
    assert len(expected["nodes"]) > 10 and len(expected["communities"]) > 1
    page = tab.open("/#graph")
    canvas = page.locator("#graph-canvas")
    expect(canvas).to_have_attribute("data-overview", "true")
    expect(canvas).to_have_attribute("data-nodes", str(len(expected["nodes"])))
    expect(canvas).to_have_attribute("data-edges", str(len(expected["edges"])))
    expect(page.locator("#graph-canvas canvas").first).to_be_visible()
    legend = page.locator("#graph-legend")
    for community in expected["communities"][:3]:
        expect(legend).to_contain_text(community["title"])
    colours = legend.locator(".swatch").evaluate_all(
        "(items) => items.map((s) => getComputedStyle(s).backgroundColor)")
    assert len(set(colours)) == len(colours) > 1, "each community its own colour"
    expect(page.locator("#graph-message")).to_contain_text(
        f"the {len(expected['nodes'])} most connected of {expected['total_entities']} entities")
    expect(page.locator("#graph-note")).to_be_hidden()
    page.wait_for_timeout(300)  # the layout has settled (it does not animate)
    page.screenshot(path=screenshots / "graph-overview.png")

    page.locator("#graph-q").fill("turing")
    page.locator("#graph-q").press("Enter")
    expect(canvas).not_to_have_attribute("data-overview", "true")
    expect(page.locator("#graph-message")).not_to_contain_text("Overview")
    page.locator("#graph-overview").click()
    expect(canvas).to_have_attribute("data-overview", "true")
    expect(canvas).to_have_attribute("data-nodes", str(len(expected["nodes"])))
    assert tab.errors == []


def test_no_graph_yet_and_an_empty_graph_are_said_over_the_drawing(
        browser: Browser, tmp_path: Path) -> None:
    unbuilt = ServerProcess(None, tmp_path / "unbuilt", {**ENV, "GRAPHREADY_FAIL_STAGE": "graph"})
    try:
        unbuilt.wait_listening()
        with open_tab(browser, unbuilt.url) as tab:
            page = tab.open("/#graph")
            expect(page.locator("#graph-note")).to_contain_text("not built yet")
            assert drawn(page) == 0
    finally:
        unbuilt.kill()

    empty = ServerProcess(None, tmp_path / "empty", ENV)
    try:
        empty.wait_listening()
        added = empty.client.post("/documents", json={"documents": [
            {"id": "plain", "text": "it was so. and then it was not, and that was all."}]})
        assert added.status_code == 202, added.text
        empty.wait_until(lambda: bool(empty.status()["graphrag_ready"])
                         and not empty.status()["building"], BUILD_TIMEOUT_S, "the build")
        with open_tab(browser, empty.url) as tab:
            page = tab.open("/#graph")
            expect(page.locator("#graph-note")).to_contain_text("no entities yet")
            assert drawn(page) == 0
            assert tab.errors == []
    finally:
        empty.kill()
