"""The delete preview in a real browser: a document's "Preview" button shows what deleting it
would remove or change (the counts, the entities' names, the communities' titles, as
``DELETE ?dry_run=true`` gives them), changing nothing; Cancel closes it, and its Delete deletes
the document. A file of the served folder is previewed too, and the panel says to remove the
file. On the example documents with uploads that share their entities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from support.browser import BUILD_TIMEOUT_S, Tab, examples_server, open_tab
from support.server import ServerProcess
from support.shared_entity_docs import GONE, KEPT

pytestmark = pytest.mark.e2e
SLOW_MS = 120_000


def idle(server: ServerProcess) -> bool:
    status = server.status()
    return bool(status["graphrag_ready"]) and not status["building"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with examples_server(tmp_path_factory.mktemp("preview")) as server:
        added = server.client.post("/documents", json={"documents": [GONE, KEPT]})
        assert added.status_code == 202, added.text
        server.wait_until(lambda: idle(server) and all(
            d["state"] == "indexed" for d in server.client.get("/documents").json()["documents"]),
            BUILD_TIMEOUT_S, "the uploads to be indexed")
        yield server


@pytest.fixture
def tab(browser: Browser, served: ServerProcess) -> Iterator[Tab]:
    with open_tab(browser, served.url) as opened:
        yield opened


def dry_run(server: ServerProcess, doc_id: str) -> dict[str, Any]:
    response = server.client.delete(f"/documents/{doc_id}", params={"dry_run": "true"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_preview_shows_what_the_delete_removes_then_cancel_and_delete(
        tab: Tab, served: ServerProcess, screenshots: Path) -> None:
    expected = dry_run(served, GONE["id"])
    assert expected["entities_removed"] and expected["communities"]
    page = tab.open("/#documents")
    row = page.locator("#doc-table tbody tr", has_text=GONE["title"])
    row.locator("button.preview-delete").click()
    panel = page.locator("#delete-preview")
    expect(panel).to_be_visible()
    expect(panel.locator("h3")).to_contain_text(GONE["title"])
    expect(panel.locator('[data-count="passages"] strong')).to_have_text(
        str(expected["passages"]))
    expect(panel.locator('[data-count="entities disappear"] strong')).to_have_text(
        str(len(expected["entities_removed"])))
    expect(panel.locator('[data-count="community reports rewritten"] strong')).to_have_text(
        str(len(expected["communities"])))
    for entity in expected["entities_removed"][:5]:
        expect(panel).to_contain_text(entity["name"])
    for entity in expected["entities_changed"][:5]:
        expect(panel).to_contain_text(
            f"{entity['name']}: {entity['passages_before']} → {entity['passages_after']}")
    expect(panel).to_contain_text(expected["communities"][0]["title"])
    expect(panel.get_by_role("button", name="Cancel")).to_be_visible()
    page.screenshot(path=screenshots / "delete-preview.png")

    panel.get_by_role("button", name="Cancel").click()
    expect(panel).to_be_hidden()
    assert served.client.get(f"/documents/{GONE['id']}").status_code == 200, "nothing changed"

    row.locator("button.preview-delete").click()
    expect(panel).to_be_visible()
    panel.get_by_role("button", name=f"delete {GONE['title']} now").click()
    expect(panel).to_be_hidden()
    expect(row).to_have_count(0, timeout=SLOW_MS)
    expect(page.locator("#doc-message")).to_contain_text(f"Deleted {GONE['title']}")
    assert served.client.get(f"/documents/{GONE['id']}").status_code == 404
    assert tab.errors == []


def test_a_folder_file_is_previewed_and_the_panel_says_to_remove_it(
        tab: Tab, served: ServerProcess) -> None:
    listed = served.client.get("/documents", params={"limit": 100}).json()["documents"]
    folder = next(d for d in listed if d["path"] == "the-eniac-team.txt")
    expected = dry_run(served, folder["id"])
    page = tab.open("/#documents")
    row = page.locator(f'#doc-table tbody tr[data-id="{folder["id"]}"]')
    row.locator("button.preview-delete").click()
    panel = page.locator("#delete-preview")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("served folder")
    expect(panel).to_contain_text("the-eniac-team.txt")
    expect(panel.locator('[data-count="entities disappear"] strong')).to_have_text(
        str(len(expected["entities_removed"])))
    expect(panel.locator("button.danger")).to_have_count(0)
    panel.get_by_role("button", name="Close").click()
    expect(panel).to_be_hidden()
    assert served.client.get(f"/documents/{folder['id']}").status_code == 200
    assert tab.errors == []
