"""Curating the graph in the web app (real chromium, real server on a copy of the example
documents): two names of one person merged, after which a search by the merged name finds the
one that stayed; a rename made from the keyboard; an entity deleted; a relation deleted from
the entity's panel and from a click on its edge; nodes selected in the drawing merged; a
relation added; an edit undone, and the graph as it was again; a stale edit saying why; a
read-only key sees no edit control. Each edit shows as pending, and the drawing
changes once the server's graph has it. Saves curation-merge.png and curation-edits.png."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from support.browser import BUILD_TIMEOUT_S, Tab, examples_server, open_tab
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
SLOW_MS = 120_000
CURATOR, READER = "curation-writer-key-0123456789", "curation-reader-key-0123456789"
KEYS = f"ada {CURATOR} write *\nreader {READER} read *\n"
"""The keys file: the curator's key is labelled ``ada`` (the Edits list says who)."""


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server on a copy of the example documents with two keys (``ada`` may write, a reader
    may only read), its graph built; its client sends the curator's key."""
    root = tmp_path_factory.mktemp("curation")
    (root / "keys.txt").write_text(KEYS, encoding="utf-8")
    (root / "keys.txt").chmod(0o600)
    with examples_server(root, {"GRAPHREADY_KEYS_FILE": str(root / "keys.txt")},
                         key=CURATOR) as server:
        yield server


@contextlib.contextmanager
def keyed_tab(browser: Browser, server: ServerProcess, key: str) -> Iterator[Tab]:
    """A tab of the app whose session holds ``key`` (as the key panel would keep it)."""
    with open_tab(browser, server.url) as opened:
        opened.page.context.add_init_script(
            f"sessionStorage.setItem('graphready.key', {key!r})")
        yield opened


@pytest.fixture
def tab(browser: Browser, examples: ServerProcess) -> Iterator[Tab]:
    with keyed_tab(browser, examples, CURATOR) as opened:
        yield opened


def entity(server: ServerProcess, name: str) -> dict[str, Any] | None:
    """The entity called exactly ``name`` in the server's graph (its detail), or None."""
    found = server.client.get("/graph/entities", params={"q": name, "limit": 50}).json()
    ids = [e["id"] for e in found["entities"] if e["name"] == name]
    if not ids:
        return None
    detail: dict[str, Any] = server.client.get(f"/graph/entities/{ids[0]}").json()
    return detail


def search(page: Page, name: str) -> Locator:
    """Searches ``name`` in the graph view and waits for the panel of the first result (the
    entity of that exact name); the panel."""
    page.locator("#graph-q").fill(name)
    page.locator("#graph-q").press("Enter")
    panel = page.locator("#entity")
    expect(panel.locator("h3")).to_contain_text(name, timeout=SLOW_MS)
    return panel


def newest_edit(page: Page) -> Locator:
    return page.locator("#edits-table tbody tr").first


def applied(page: Page, op: str) -> Locator:
    """The newest edit's row, once it is ``op`` and applied."""
    row = newest_edit(page)
    expect(row).to_have_attribute("data-op", op)
    expect(row).to_have_attribute("data-status", "applied", timeout=SLOW_MS)
    return row


def test_merging_two_names_of_one_person_and_searching_by_the_merged_name(
        tab: Tab, examples: ServerProcess, screenshots: Path) -> None:
    target = entity(examples, "Betty Holberton")
    assert target is not None and entity(examples, "Betty Snyder") is not None
    page = tab.open("/#graph")
    page.locator("#graph-hops").select_option("1")
    panel = search(page, "Betty Snyder")
    panel.get_by_role("button", name="Merge into…").click()
    picker = panel.get_by_label("Merge “Betty Snyder” into")
    expect(picker).to_be_focused()
    picker.fill("Betty Holberton")
    panel.locator(".picker-results button", has_text="Betty Holberton").first.click()
    panel.get_by_role("button", name="Merge", exact=True).click()
    expect(page.locator("#curation-message")).to_contain_text("Pending: merged “Betty Snyder” "
                                                              "into “Betty Holberton”")
    row = applied(page, "merge")
    expect(row.locator(".edit-what")).to_have_text("merged “Betty Snyder” into “Betty Holberton”")
    expect(row.locator("td").nth(1)).to_have_text("ada")  # who: the key's label
    # the drawing was centred on the merged entity: it is now on the one that stayed
    expect(panel.locator("h3")).to_contain_text("Betty Holberton", timeout=SLOW_MS)
    expect(panel.locator("h3 .curated-badge")).to_have_text("curated")
    expect(panel.locator(".aliases")).to_contain_text("Betty Snyder")
    expect(page.locator("#curation-message")).to_contain_text("Done: merged")
    # the search results are listed again: "Betty Snyder" now finds Betty Holberton
    results = page.locator("#graph-results button.result")
    expect(results.filter(has_text="Betty Holberton")).to_be_visible()
    expect(results.filter(has_text="Betty Snyder", has_not_text="Holberton")).to_have_count(0)
    page.screenshot(path=screenshots / "curation-merge.png")

    page.locator("#graph-q").fill("Betty Snyder")
    page.locator("#graph-q").press("Enter")
    expect(results.filter(has_text="Betty Holberton")).to_be_visible()
    assert entity(examples, "Betty Snyder") is None
    merged = examples.client.get("/graph/entities", params={"q": "Betty Snyder"}).json()
    assert target["id"] in [e["id"] for e in merged["entities"]]
    assert tab.errors == []


def test_a_rename_made_from_the_keyboard(tab: Tab, examples: ServerProcess) -> None:
    page = tab.open("/#graph")
    panel = search(page, "Heath Robinson")
    rename = panel.get_by_role("button", name="Rename")
    rename.focus()
    page.keyboard.press("Enter")
    field = panel.get_by_label("New name")
    expect(field).to_be_focused()
    expect(field).to_have_value("Heath Robinson")
    field.fill("Heath Robinson machine")
    page.keyboard.press("Enter")
    applied(page, "rename")
    expect(panel.locator("h3")).to_contain_text("Heath Robinson machine", timeout=SLOW_MS)
    expect(panel.locator(".aliases")).to_contain_text("Heath Robinson")
    renamed = entity(examples, "Heath Robinson machine")
    assert renamed is not None and "Heath Robinson" in renamed["aliases"]
    assert tab.errors == []


def test_deleting_an_entity_removes_it_from_the_drawing_and_the_graph(
        tab: Tab, examples: ServerProcess) -> None:
    assert entity(examples, "Pentagon") is not None
    page = tab.open("/#graph")
    search(page, "Pentagon")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#entity").get_by_role("button", name="Delete entity").click()
    expect(newest_edit(page)).to_have_attribute("data-status", "pending")
    applied(page, "delete_entity")
    expect(page.locator("#graph-message")).to_contain_text("The entity drawn was deleted")
    expect(page.locator("#graph-canvas")).to_have_attribute("data-nodes", "0")
    assert entity(examples, "Pentagon") is None
    assert tab.errors == []


def test_deleting_a_relation_from_the_entity_panel(tab: Tab, examples: ServerProcess) -> None:
    before = entity(examples, "Tony Sale")
    assert before is not None and before["relations"]
    other = before["relations"][0]["other"]
    page = tab.open("/#graph")
    panel = search(page, "Tony Sale")
    page.once("dialog", lambda dialog: dialog.accept())
    delete = panel.get_by_role("button", name=f"delete the relation Tony Sale – {other['name']}",
                               exact=True)
    delete.click()
    applied(page, "delete_relation")
    expect(delete).to_have_count(0, timeout=SLOW_MS)
    expect(panel.locator(".relations li")).to_have_count(before["degree"] - 1)
    after = entity(examples, "Tony Sale")
    assert after is not None
    assert other["id"] not in [r["other"]["id"] for r in after["relations"]]
    assert after["degree"] == before["degree"] - 1
    assert tab.errors == []


def draw_alone(page: Page, name: str) -> Locator:
    """Draws ``name``, an entity of one relation, one hop out: two nodes, the centre in the
    middle of the canvas and the other straight above it, so the relation crosses the middle.
    The canvas."""
    page.locator("#graph-hops").select_option("1")
    search(page, name)
    canvas = page.locator("#graph-canvas")
    expect(canvas).to_have_attribute("data-nodes", "2")
    return canvas


def test_a_click_on_an_edge_opens_the_relation_with_its_delete(
        tab: Tab, examples: ServerProcess) -> None:
    page = tab.open("/#graph")
    canvas = draw_alone(page, "Manual of Operation")
    canvas.click()  # the middle of the only edge
    panel = page.locator("#entity")
    expect(panel.locator("h3")).to_have_text("Relation")
    ends = panel.locator("p").first
    expect(ends).to_contain_text("—mentions—")
    for name in ("Manual of Operation", "Grace Hopper: from the Harvard Mark I to COBOL"):
        expect(ends.get_by_role("button", name=name)).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="Delete relation").click()
    applied(page, "delete_relation")
    expect(canvas).to_have_attribute("data-nodes", "1", timeout=SLOW_MS)
    alone = entity(examples, "Manual of Operation")
    assert alone is not None and alone["degree"] == 0
    assert tab.errors == []


def test_nodes_selected_in_the_drawing_are_merged_into_one_of_them(
        tab: Tab, examples: ServerProcess) -> None:
    kept = entity(examples, "Zuse Z3")
    assert kept is not None
    page = tab.open("/#graph")
    canvas = draw_alone(page, "Z2")
    box = canvas.bounding_box()
    assert box is not None
    page.keyboard.down("Shift")  # a shift-drag box over the whole drawing
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] - 5, steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")
    bar = page.locator("#graph-selection")
    expect(bar).to_contain_text("2 selected: Z2, Zuse Z3.")
    bar.get_by_label("Merge them into").select_option(label="Zuse Z3")
    bar.get_by_role("button", name="Merge").click()
    row = applied(page, "merge")
    expect(row.locator(".edit-what")).to_have_text("merged “Z2” into “Zuse Z3”")
    expect(page.locator("#entity h3")).to_contain_text("Zuse Z3", timeout=SLOW_MS)
    expect(page.locator("#entity .aliases")).to_contain_text("Z2")
    assert entity(examples, "Z2") is None
    found = examples.client.get("/graph/entities", params={"q": "Z2"}).json()["entities"]
    assert kept["id"] in [e["id"] for e in found]
    assert tab.errors == []


def test_adding_a_relation_with_a_label_and_a_description(
        tab: Tab, examples: ServerProcess) -> None:
    page = tab.open("/#graph")
    panel = search(page, "Jean Bartik")
    panel.get_by_role("button", name="Add relation…").click()
    picker = panel.get_by_label("From “Jean Bartik” to")
    picker.fill("Konrad Zuse")
    picker.press("Enter")  # the first entity found
    panel.get_by_label("Label").fill("was a contemporary of")
    panel.get_by_label("Description").fill("Both programmed early computers in the 1940s.")
    panel.get_by_role("button", name="Add the relation").click()
    applied(page, "add_relation")
    added = panel.locator(".relations li", has_text="Konrad Zuse")
    expect(added).to_contain_text("was a contemporary of", timeout=SLOW_MS)
    expect(added.locator(".curated-badge")).to_have_text("curated")
    bartik = entity(examples, "Jean Bartik")
    assert bartik is not None
    relation = next(r for r in bartik["relations"] if r["other"]["name"] == "Konrad Zuse")
    assert relation["label"] == "was a contemporary of" and relation["curated"] is True
    assert relation["description"] == "Both programmed early computers in the 1940s."
    assert tab.errors == []


def test_an_undone_edit_gives_the_graph_back(
        tab: Tab, examples: ServerProcess, screenshots: Path) -> None:
    before = entity(examples, "Bombe")
    assert before is not None
    page = tab.open("/#graph")
    search(page, "Bombe")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#entity").get_by_role("button", name="Delete entity").click()
    row = applied(page, "delete_entity")
    assert entity(examples, "Bombe") is None
    row.get_by_role("button", name="undo: deleted “Bombe” and its relations").click()
    expect(row).to_have_attribute("data-status", "undone", timeout=SLOW_MS)
    expect(row.get_by_role("button")).to_have_count(0)
    expect(row.locator(".edit-status")).to_contain_text("undone")
    back = entity(examples, "Bombe")
    assert back is not None and back["degree"] == before["degree"]
    page.locator("#graph-hops").select_option("1")
    search(page, "Bombe")
    expect(page.locator("#graph-canvas")).to_have_attribute("data-nodes", str(before["degree"] + 1))
    page.locator("#graph-edits").scroll_into_view_if_needed()
    page.locator("#graph-edits").screenshot(path=screenshots / "curation-edits.png")
    assert tab.errors == []


def test_an_edit_whose_entity_went_with_its_document_is_stale_and_says_why(
        tab: Tab, examples: ServerProcess) -> None:
    added = examples.client.post("/documents", json={"documents": [{
        "id": "quillfeather", "title": "Quillfeather",
        "text": "The Quillfeather Observatory was founded by Ottoline Brackenridge in 1911."}]})
    assert added.status_code == 202, added.text
    examples.wait_until(lambda: entity(examples, "Ottoline Brackenridge") is not None,
                        BUILD_TIMEOUT_S, "the new document's entities")
    page = tab.open("/#graph")
    panel = search(page, "Ottoline Brackenridge")
    panel.get_by_role("button", name="Rename").click()
    panel.get_by_label("New name").fill("Dame Ottoline Brackenridge")
    panel.get_by_label("New name").press("Enter")
    applied(page, "rename")
    assert examples.client.delete("/documents/quillfeather").status_code == 200
    examples.wait_until(lambda: examples.client.get("/graph/edits").json()["edits"][-1]["status"]
                        == "stale", BUILD_TIMEOUT_S, "the edit to turn stale")
    page.reload()
    row = newest_edit(page)
    expect(row).to_have_attribute("data-status", "stale")
    expect(row.locator(".edit-status .error")).to_contain_text("Ottoline Brackenridge")
    assert tab.errors == []


def test_a_read_only_key_sees_no_edit_controls(browser: Browser,
                                               examples: ServerProcess) -> None:
    with keyed_tab(browser, examples, READER) as tab:
        page = tab.open("/#graph")
        panel = search(page, "Tommy Flowers")
        expect(page.locator("#curation-note")).to_contain_text(
            "may read the graph but not edit it")
        expect(panel.locator(".relations li").first).to_be_visible()
        for label in ("Rename", "Merge into…", "Add relation…", "Delete entity"):
            expect(panel.get_by_role("button", name=label)).to_have_count(0)
        expect(panel.locator(".relations button.edit-control").first).to_be_hidden()
        expect(page.locator("#edits-table tbody tr").first).to_be_visible()
        expect(page.locator("#edits-table").get_by_role("button")).to_have_count(0)
        assert tab.errors == []
    refused = examples.client.post("/graph/edits", json={"op": "delete_entity", "entity": "x"},
                                   headers={"Authorization": f"Bearer {READER}"})
    assert refused.status_code == 403
