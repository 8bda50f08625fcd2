"""The web app in a real browser (Debian's chromium through Playwright) against a real server:
it loads without a console error, answers a question as a stream with clickable citations, an
uploaded file becomes indexed and citable and a delete removes it, the graph view draws and
expands, communities and status read, hostile documents stay text, and a key is asked for."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Response, expect

from support.browser import BUILD_TIMEOUT_S, Tab, start_server
from support.corpus import NEEDLE, NEEDLE_QUESTION
from support.scripted_llm_server import MODEL, Pace, ScriptedLLMServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
SLOW_MS = 120_000
FACT = ("The Quillfeather Observatory stands on a basalt ridge. It was founded by the "
        "astronomer Ottoline Brackenridge in 1911.")
FACT_QUESTION = "Who founded the Quillfeather Observatory?"
HOSTILE_TITLE = "<script>window.__xss = 1</script>Evil Orchard"
HOSTILE_TEXT = ('<img src=x onerror="window.__xss = 2"> The Vantablack Orchard grows silver '
                "pears beside the river Lune.")


def ask(page: Page, question: str) -> None:
    page.locator("#chat-message").fill(question)
    page.locator("#chat-message").press("Enter")


def last_answer(page: Page) -> Page:
    expect(page.locator(".a").last).not_to_have_attribute("aria-busy", "true", timeout=SLOW_MS)
    return page


def nothing_ran(page: Page) -> None:
    assert page.evaluate("window.__xss") is None


def test_the_app_loads_without_console_errors_and_shows_status(
        tab: Tab, screenshots: Path) -> None:
    page = tab.open("/")
    expect(page.locator("#readiness .pill.on", has_text="graph")).to_be_visible()
    page.locator("nav a", has_text="Status").click()
    expect(page.locator("#status-body .stage")).to_have_count(3)
    expect(page.locator("#status-body")).to_contain_text("graph store")
    expect(page.locator("#status-body progress").first).to_be_visible()
    expect(page.locator("#status-body")).to_contain_text("0 answering, 0 waiting")
    page.screenshot(path=screenshots / "status.png")
    for view in ("documents", "graph", "communities", "chat"):
        page.locator(f'nav a[data-view="{view}"]').click()
        expect(page.locator(f"#view-{view}")).to_be_visible()
    page.wait_for_timeout(300)
    assert tab.errors == []


def test_a_question_gets_a_streamed_answer_with_clickable_citations(
        tab: Tab, screenshots: Path) -> None:
    page = tab.open("/")
    streamed: list[str] = []

    def on_response(response: Response) -> None:
        if response.url.endswith("/chat"):
            streamed.append(response.headers.get("content-type", ""))

    page.on("response", on_response)
    ask(page, NEEDLE_QUESTION)
    last_answer(page)
    assert streamed and streamed[0].startswith("text/event-stream")
    answer = page.locator(".a").last
    expect(answer.locator(".meta")).to_contain_text("mode auto")
    expect(answer.locator(".chips").first).to_contain_text("Zephyr Lighthouse")
    answer.locator("button.cite").first.click()
    expect(page.locator("#passage")).to_be_visible()
    expect(page.locator("#passage-text")).to_have_text(NEEDLE["text"])
    page.screenshot(path=screenshots / "chat.png")
    page.locator("#passage-close").click()
    expect(page.locator("#passage")).to_be_hidden()
    ask(page, "Where is the Zephyr Lighthouse?")  # the conversation is kept
    last_answer(page)
    expect(page.locator(".q")).to_have_count(2)
    assert tab.errors == []


def test_a_shared_link_asks_at_once_and_a_graph_entity_opens_the_graph(tab: Tab) -> None:
    page = tab.open("/?q=Who%20designed%20the%20Zephyr%20Lighthouse%3F&mode=graph_local")
    last_answer(page)
    expect(page.locator(".a .meta").last).to_contain_text("mode graph_local")
    page.locator(".a .chips button", has_text="Zephyr Lighthouse").first.click()
    expect(page.locator("#view-graph")).to_be_visible()
    expect(page.locator("#entity h3")).to_have_text("Zephyr Lighthouse", timeout=SLOW_MS)
    assert tab.errors == []


def test_an_uploaded_file_becomes_indexed_then_citable_and_a_delete_removes_it(
        tab: Tab, served: ServerProcess, screenshots: Path, tmp_path: Path) -> None:
    page = tab.open("/#documents")
    expect(page.locator("#doc-table tbody tr").first).to_be_visible()
    dropped = ["Kestrel Weir: The Kestrel Weir was rebuilt in 1840.",
               "Marram Dunes: The Marram Dunes shelter a colony of terns."]
    page.evaluate("""(files) => {
        const data = new DataTransfer();
        files.forEach((text, i) => data.items.add(new File([text], `dropped-${i}.txt`,
                                                            {type: "text/plain"})));
        document.getElementById("drop").dispatchEvent(
            new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
    }""", dropped)
    path = tmp_path / "quillfeather.txt"
    path.write_text(FACT, encoding="utf-8")
    page.set_input_files("#file-input", str(path))
    row = page.locator("#doc-table tbody tr", has_text="quillfeather")
    expect(row.locator("td.state").first).to_have_text("indexed", timeout=SLOW_MS)
    expect(page.locator("#doc-table tbody tr", has_text="dropped-1")).to_be_visible()
    expect(page.locator(".upload progress").first).to_have_attribute("value", "1")
    expect(page.locator(".upload", has_text="Ottoline")).to_contain_text("Indexed",
                                                                         timeout=SLOW_MS)
    page.screenshot(path=screenshots / "documents.png")

    page.locator('nav a[data-view="chat"]').click()
    ask(page, FACT_QUESTION)
    last_answer(page)
    page.locator(".a").last.locator("button.cite").first.click()
    expect(page.locator("#passage-text")).to_contain_text("Ottoline Brackenridge")
    page.locator("#passage-close").click()

    cited = served.chat(FACT_QUESTION).json()["citations"][0]
    assert "Ottoline" in served.client.get(f"/passages/{cited['chunk_id']}").json()["text"]
    page.locator('nav a[data-view="documents"]').click()
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="Delete").click()
    expect(row).to_have_count(0, timeout=SLOW_MS)
    assert served.client.get(f"/passages/{cited['chunk_id']}").status_code == 404  # at once
    served.wait_until(lambda: not served.status()["building"] and not any(
        "quillfeather" in d["id"] for d in served.client.get("/documents").json()["documents"]),
        BUILD_TIMEOUT_S, "the delete to be applied")
    page.locator('nav a[data-view="chat"]').click()
    ask(page, FACT_QUESTION)
    last_answer(page)
    expect(page.locator(".a").last.locator(".sources")).not_to_contain_text("quillfeather")
    page.locator(".a").last.locator("button.cite").first.click()
    expect(page.locator("#passage-text")).not_to_contain_text("Ottoline")
    assert tab.errors == []


def test_a_hostile_document_is_shown_as_text_and_runs_nothing(
        tab: Tab, served: ServerProcess) -> None:
    added = served.client.post("/documents", json={"documents": [
        {"id": "evil-orchard", "title": HOSTILE_TITLE, "text": HOSTILE_TEXT}]})
    assert added.status_code == 202, added.text
    served.wait_until(lambda: served.client.get("/documents/evil-orchard").json()["state"]
                      == "indexed", BUILD_TIMEOUT_S, "the hostile document to be indexed")
    page = tab.open("/#documents")
    row = page.locator("#doc-table tbody tr", has_text="Evil Orchard")
    expect(row.locator("td.title")).to_have_text(HOSTILE_TITLE)
    page.locator('nav a[data-view="chat"]').click()
    ask(page, "What grows in the Vantablack Orchard?")
    last_answer(page)
    answer = page.locator(".a").last
    expect(answer.locator(".sources")).to_contain_text(HOSTILE_TITLE)
    answer.locator("button.cite").first.click()
    expect(page.locator("#passage-text")).to_contain_text('<img src=x onerror="window.__xss = 2">')
    expect(page.locator("#passage-title")).to_have_text(HOSTILE_TITLE)
    assert page.locator("main img, #passage img, main script").count() == 0
    nothing_ran(page)
    assert tab.errors == []


def test_the_graph_view_draws_an_entity_search_and_expands_a_node(
        tab: Tab, screenshots: Path) -> None:
    page = tab.open("/#graph")
    page.locator("#graph-hops").select_option("1")
    page.locator("#graph-limit").select_option("25")
    page.locator("#graph-q").fill("lisbon")
    page.locator("#graph-q").press("Enter")
    expect(page.locator("#graph-results button.result").first).to_contain_text("Lisbon")
    canvas = page.locator("#graph-canvas")
    expect(canvas).to_have_attribute("data-nodes", re.compile(r"^([2-9]|\d\d+)$"),
                                     timeout=SLOW_MS)
    before = int(canvas.get_attribute("data-nodes") or 0)
    expect(page.locator("#graph-canvas canvas").first).to_be_visible()
    expect(page.locator("#graph-legend .legend-item").first).to_be_visible()
    expect(page.locator("#entity h3")).to_have_text("Lisbon")
    page.screenshot(path=screenshots / "graph.png")
    grew = False
    buttons = page.locator("#entity .relations button.small")
    for i in range(min(buttons.count(), 8)):
        buttons.nth(i).click()
        page.wait_for_function(
            "() => /expanded/.test(document.getElementById('graph-message').textContent)")
        if int(canvas.get_attribute("data-nodes") or 0) > before:
            grew = True
            break
    assert grew, "expanding a neighbour added no entity"
    page.locator("#entity .relations button.link").first.click()  # recentre on a neighbour
    expect(page.locator("#entity h3")).not_to_have_text("Lisbon", timeout=SLOW_MS)
    assert tab.errors == []


def test_communities_are_browsed_and_their_reports_read(tab: Tab, screenshots: Path) -> None:
    page = tab.open("/#communities")
    first = page.locator("#comm-list button.result").first
    expect(first).to_be_visible()
    first.click()
    detail = page.locator("#comm-detail")
    expect(detail.locator(".report")).not_to_be_empty()
    expect(detail.locator(".members li").first).to_be_visible()
    page.screenshot(path=screenshots / "communities.png")
    detail.locator(".members button").first.click()
    expect(page.locator("#view-graph")).to_be_visible()
    assert tab.errors == []


def test_the_app_is_usable_at_phone_width(tab: Tab, screenshots: Path) -> None:
    page = tab.page
    page.set_viewport_size({"width": 390, "height": 844})
    tab.open("/")
    ask(page, NEEDLE_QUESTION)
    last_answer(page)
    for view in ("chat", "documents", "graph", "communities", "status"):
        page.locator(f'nav a[data-view="{view}"]').click()
        expect(page.locator(f"#view-{view}")).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{view} is wider than the screen by {overflow}px"
    page.locator('nav a[data-view="chat"]').click()
    page.screenshot(path=screenshots / "phone-chat.png")
    page.keyboard.press("Tab")  # keyboard: the first control takes the focus visibly
    assert page.evaluate("document.activeElement !== document.body")
    assert tab.errors == []


def test_with_a_key_required_the_app_asks_for_it_and_says_a_wrong_one_was_refused(
        tab: Tab, tmp_path: Path, screenshots: Path) -> None:
    key = "browser-test-key-0123456789"
    server = start_server(tmp_path, {"GRAPHREADY_API_KEY": key}, passages=10)
    try:
        page = tab.page
        page.goto(server.url + "/")
        panel = page.locator("#key-panel")
        expect(panel).to_be_visible()
        expect(page.locator("#key-message")).to_contain_text("needs an API key")
        page.locator("#key-input").fill("not-the-right-key-at-all")
        page.locator("#key-input").press("Enter")
        expect(page.locator("#key-message")).to_contain_text("refused")
        expect(panel).to_be_visible()
        page.screenshot(path=screenshots / "api-key.png")
        page.locator("#key-input").fill(key)
        page.locator("#key-input").press("Enter")
        expect(panel).to_be_hidden()
        expect(page.locator("#readiness .pill", has_text="chat")).to_be_visible()
        assert httpx.get(server.url + "/status").status_code == 401
    finally:
        server.kill()


def test_the_status_view_names_a_damaged_index_file_that_was_rebuilt(
        tab: Tab, tmp_path: Path) -> None:
    (tmp_path / "data" / "index").mkdir(parents=True)
    (tmp_path / "data" / "index" / "keyword.db").write_bytes(b"not a database " * 512)
    server = start_server(tmp_path, passages=10)
    try:
        server.wait_until(lambda: server.status()["stages"]["documents"]["state"] == "done",
                          BUILD_TIMEOUT_S, "the rebuild")
        page = tab.page
        page.goto(server.url + "/#status")
        page.locator('nav a[data-view="status"]').click()
        body = page.locator("#status-body")
        expect(body).to_contain_text("Damaged index files")
        expect(body.locator("li", has_text="keyword.db.corrupt-")).to_have_count(1)
        assert tab.errors == []
    finally:
        server.kill()


def test_the_status_view_shows_the_model_queue_and_the_llm_build(tab: Tab, tmp_path: Path) -> None:
    slow = {"extract": Pace(first_s=1.0), "report": Pace(first_s=1.0)}
    with ScriptedLLMServer(paces=slow) as llm:
        server = start_server(tmp_path, {**llm.env(), "GRAPHREADY_LLM_RETRIES": "0"},
                              passages=10)
        try:
            page = tab.page
            page.goto(server.url + "/")
            page.locator('nav a[data-view="status"]').click()
            body = page.locator("#status-body")
            expect(body).to_contain_text(MODEL)
            expect(body.locator("tr", has_text="LLM build")).to_contain_text(
                re.compile(r"chunks \d+/\d+"), timeout=SLOW_MS)
            expect(body.locator("tr", has_text="model queue")).to_contain_text(
                "extract 1 in flight", timeout=SLOW_MS)
            assert tab.errors == []
        finally:
            server.kill()
