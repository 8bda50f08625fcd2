"""Workspaces in the web app, in a real browser against a real server: the header's switcher
lists every workspace with its readiness, and switching shows the other workspace's documents
and answers (each workspace's document holds marker words no other one has); a link to
``/workspaces/NAME/`` opens that workspace, and a reload keeps it; an unknown workspace gets a
message with the workspaces there are; the workspaces view creates and deletes one (asking
first); a key that may not create or delete is told so, and the controls go; the status view
gives each workspace's readiness."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from support.browser import BUILD_TIMEOUT_S, Tab, start_server
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
SLOW_MS = 120_000
MARKED = {
    "alpha": {"id": "brindlewick", "title": "Brindlewick Aqueduct",
              "text": "The Brindlewick Aqueduct carries water to the town of Osterfell. It was "
                      "designed by the engineer Perpetua Vantongeren in 1788."},
    "beta": {"id": "quorrelby", "title": "Quorrelby Lantern Festival",
             "text": "The Quorrelby Lantern Festival is held every autumn in Dunmarrow. It was "
                     "founded by the weaver Idris Callowfenn in 1902."},
}
QUESTION = {"alpha": "Who designed the Brindlewick Aqueduct?",
            "beta": "Who founded the Quorrelby Lantern Festival?"}
ANSWER = {"alpha": "Vantongeren", "beta": "Callowfenn"}
OTHER = {"alpha": "beta", "beta": "alpha"}


def indexed(client: httpx.Client, name: str) -> bool:
    doc = client.get(f"/workspaces/{name}/documents/{MARKED[name]['id']}")
    return doc.status_code == 200 and doc.json()["state"] == "indexed"


def make_workspace(server: ServerProcess, name: str) -> None:
    made = server.client.post("/workspaces", json={"name": name})
    assert made.status_code == 201, made.text
    added = server.client.post(f"/workspaces/{name}/documents",
                               json={"documents": [MARKED[name]]})
    assert added.status_code == 202, added.text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose default workspace holds the generated corpus, and workspaces alpha and
    beta one marked document each, all indexed (conftest's ``tab`` opens this one)."""
    server = start_server(tmp_path_factory.mktemp("workspaces"), passages=10)
    try:
        for name in MARKED:
            make_workspace(server, name)
        for name in MARKED:
            server.wait_until(lambda name=name: indexed(server.client, name), BUILD_TIMEOUT_S,
                              f"the document of {name} to be indexed")
        yield server
    finally:
        server.kill()


def ask(page: Page, question: str) -> None:
    page.locator("#chat-message").fill(question)
    page.locator("#chat-message").press("Enter")
    expect(page.locator(".a").last).not_to_have_attribute("aria-busy", "true", timeout=SLOW_MS)


def documents_of(page: Page, name: str) -> None:
    """The documents view lists this workspace's marked document and not the other's."""
    table = page.locator("#doc-table tbody")
    expect(table).to_contain_text(MARKED[name]["title"], timeout=SLOW_MS)
    expect(table).not_to_contain_text(MARKED[OTHER[name]]["title"])


def answers_of(page: Page, name: str) -> None:
    """The chat answers from this workspace's document, never from the other's."""
    page.locator('nav a[data-view="chat"]').click()
    ask(page, QUESTION[name])
    expect(page.locator(".a").last).to_contain_text(ANSWER[name])
    ask(page, QUESTION[OTHER[name]])
    expect(page.locator(".a").last).not_to_contain_text(ANSWER[OTHER[name]])
    expect(page.locator(".a").last.locator(".sources")).not_to_contain_text(
        MARKED[OTHER[name]]["title"])


def test_the_switcher_lists_the_workspaces_and_switching_shows_the_other_ones_content(
        tab: Tab) -> None:
    page = tab.open("/workspaces/alpha/#documents")
    switcher = page.locator("#workspace-select")
    expect(switcher).to_have_value("alpha")
    for name in ("default", "alpha", "beta"):
        expect(switcher.locator(f'option[value="{name}"]')).to_have_count(1)
    expect(switcher.locator('option[value="beta"]')).to_contain_text(re.compile("ready|building"))
    documents_of(page, "alpha")
    answers_of(page, "alpha")

    page.locator('nav a[data-view="documents"]').click()
    switcher.select_option("beta")
    page.wait_for_url(re.compile(r"/workspaces/beta/#documents$"))
    expect(page.locator("#workspace-select")).to_have_value("beta")
    documents_of(page, "beta")
    answers_of(page, "beta")

    page.locator('nav a[data-view="documents"]').click()
    page.locator("#workspace-select").select_option("default")
    page.wait_for_url(tab.url + "/#documents")
    table = page.locator("#doc-table tbody")
    expect(table).to_contain_text("Zephyr Lighthouse", timeout=SLOW_MS)
    expect(table).not_to_contain_text(MARKED["alpha"]["title"])
    expect(table).not_to_contain_text(MARKED["beta"]["title"])
    assert tab.errors == []


def test_a_link_opens_its_workspace_and_a_reload_keeps_it(tab: Tab) -> None:
    page = tab.open("/workspaces/beta/?q=" + QUESTION["beta"].replace(" ", "%20"))
    expect(page.locator(".a").last).not_to_have_attribute("aria-busy", "true", timeout=SLOW_MS)
    expect(page.locator(".a").last).to_contain_text(ANSWER["beta"])
    page.reload()
    expect(page.locator("#workspace-select")).to_have_value("beta")
    page.locator('nav a[data-view="documents"]').click()
    documents_of(page, "beta")
    assert tab.errors == []


def test_an_unknown_workspace_says_so_and_offers_the_others(tab: Tab) -> None:
    page = tab.open("/workspaces/nowhere/")
    missing = page.locator("#workspace-missing")
    expect(missing).to_be_visible()
    expect(missing).to_contain_text('There is no workspace "nowhere" that you may open')
    expect(page.locator("main")).to_be_hidden()
    page.locator("#workspace-choices a", has_text="alpha").click()
    page.wait_for_url(re.compile(r"/workspaces/alpha/"))
    expect(page.locator("#workspace-select")).to_have_value("alpha")
    expect(page.locator("#workspace-missing")).to_be_hidden()


def test_the_status_view_gives_each_workspaces_readiness(tab: Tab) -> None:
    page = tab.open("/workspaces/alpha/#status")
    table = page.locator("#status-body table.workspaces")
    for name in ("default", "alpha", "beta"):
        expect(table.locator(f'tr[data-workspace="{name}"]')).to_be_visible()
    expect(table.locator('tr[data-workspace="alpha"] td').last).to_have_text(
        re.compile("ready|building|not loaded"))
    expect(page.locator("#status-body")).to_contain_text("Build of the workspace alpha")
    assert tab.errors == []


def test_the_workspaces_view_creates_and_deletes_a_workspace(
        tab: Tab, served: ServerProcess, screenshots: Path) -> None:
    page = tab.open("/workspaces/alpha/#workspaces")
    table = page.locator("#ws-table tbody")
    expect(table.locator('tr[data-workspace="beta"]')).to_be_visible()
    expect(table.locator('tr[data-workspace="alpha"] td').nth(4)).to_have_text("ready")
    expect(table.locator('tr[data-workspace="default"] button')).to_have_count(0)
    page.locator("#ws-name").fill("gamma")
    page.locator("#ws-form button").click()
    row = table.locator('tr[data-workspace="gamma"]')
    expect(row).to_be_visible()
    assert served.client.get("/workspaces/gamma").status_code == 200
    expect(page.locator("#workspace-select option[value=gamma]")).to_have_count(1)
    page.screenshot(path=screenshots / "workspaces.png")

    page.locator("#ws-message a", has_text="open it").click()
    page.wait_for_url(re.compile(r"/workspaces/gamma/"))
    page.locator('nav a[data-view="workspaces"]').click()
    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.locator('#ws-table tr[data-workspace="gamma"] button', has_text="Delete").click()
    page.wait_for_url(tab.url + "/#workspaces")  # its own page is gone: back to the default's
    assert dialogs and "gamma" in dialogs[0]
    expect(page.locator('#ws-table tr[data-workspace="gamma"]')).to_have_count(0)
    assert served.client.get("/workspaces/gamma").status_code == 404
    assert tab.errors == []


def test_a_dismissed_delete_keeps_the_workspace_and_a_bad_name_is_explained(
        tab: Tab, served: ServerProcess) -> None:
    page = tab.open("/#workspaces")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator('#ws-table tr[data-workspace="beta"] button', has_text="Delete").click()
    page.locator("#ws-name").fill("Not A Name")
    page.locator("#ws-form button").click()
    expect(page.locator("#ws-message")).to_contain_text("Cannot create Not A Name: ")
    expect(page.locator("#ws-form")).to_be_visible()  # a bad name is no refusal of the key
    expect(page.locator('#ws-table tr[data-workspace="beta"]')).to_be_visible()
    assert served.client.get("/workspaces/beta").status_code == 200
    names = [ws["name"] for ws in served.client.get("/workspaces").json()["workspaces"]]
    assert "Not A Name" not in names and "not a name" not in names


def test_a_key_that_may_not_create_or_delete_is_told_so_and_the_controls_go(
        tab: Tab, tmp_path: Path) -> None:
    full, read = "workspaces-full-key-0123456789", "workspaces-read-key-0123456789"
    server = start_server(tmp_path, {"GRAPHREADY_API_KEY": full,
                                     "GRAPHREADY_READ_ONLY_API_KEY": read}, passages=10)
    try:
        made = server.client.post("/workspaces", json={"name": "kept"},
                                  headers={"Authorization": f"Bearer {full}"})
        assert made.status_code == 201, made.text
        page = tab.page
        page.goto(server.url + "/#workspaces")
        page.locator("#key-input").fill(read)
        page.locator("#key-input").press("Enter")
        row = page.locator('#ws-table tr[data-workspace="kept"]')
        expect(row).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        row.locator("button", has_text="Delete").click()
        expect(page.locator("#ws-message")).to_contain_text("may not delete the workspace kept")
        expect(row.locator("button")).to_have_count(0)
        page.locator("#ws-name").fill("another")
        page.locator("#ws-form button").click()
        expect(page.locator("#ws-message")).to_contain_text("may not create workspaces")
        expect(page.locator("#ws-form")).to_be_hidden()
        names = [ws["name"] for ws in server.client.get(
            "/workspaces", headers={"Authorization": f"Bearer {full}"}).json()["workspaces"]]
        assert "kept" in names and "another" not in names
    finally:
        server.kill()


def test_the_switcher_and_the_workspaces_view_fit_a_phone(tab: Tab) -> None:
    page = tab.page
    page.set_viewport_size({"width": 390, "height": 844})
    tab.open("/workspaces/alpha/#workspaces")
    expect(page.locator('#ws-table tr[data-workspace="beta"]')).to_be_visible()
    expect(page.locator("#workspace-select")).to_be_visible()
    for view in ("workspaces", "status", "chat"):
        page.locator(f'nav a[data-view="{view}"]').click()
        expect(page.locator(f"#view-{view}")).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{view} is wider than the screen by {overflow}px"
    assert tab.errors == []


def test_a_key_of_one_workspace_sees_only_it_and_is_sent_there_from_the_default(
        tab: Tab, tmp_path: Path) -> None:
    admin, reader = "workspaces-admin-key-0123456789", "workspaces-alpha-key-0123456789"
    keys = tmp_path / "keys"
    keys.write_text(f"admin {admin} admin *\n", encoding="utf-8")
    keys.chmod(0o600)
    server = start_server(tmp_path, {"GRAPHREADY_KEYS_FILE": str(keys)}, passages=10)
    try:
        as_admin = {"Authorization": f"Bearer {admin}"}
        made = server.client.post("/workspaces", json={"name": "alpha"}, headers=as_admin)
        assert made.status_code == 201, made.text
        keys.write_text(f"admin {admin} admin *\nreader {reader} read alpha\n", encoding="utf-8")
        server.wait_until(lambda: server.client.get(
            "/workspaces/alpha/status", headers={"Authorization": f"Bearer {reader}"}
        ).status_code == 200, 30, "the keys file to be read again")
        page = tab.page
        page.goto(server.url + "/")
        page.locator("#key-input").fill(reader)
        page.locator("#key-input").press("Enter")
        missing = page.locator("#workspace-missing")
        expect(missing).to_contain_text('There is no workspace "default" that you may open')
        expect(page.locator("#workspace-choices li")).to_have_count(1)
        page.locator("#workspace-choices a", has_text="alpha").click()
        page.wait_for_url(server.url + "/workspaces/alpha/")
        expect(page.locator("#readiness .pill", has_text="chat")).to_be_visible()
        expect(page.locator("#workspace-select option")).to_have_count(1)
        expect(page.locator("#workspace-select")).to_have_value("alpha")
    finally:
        server.kill()
