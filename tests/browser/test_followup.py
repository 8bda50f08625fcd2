"""A follow-up question in the chat: on the example documents (offline), "When did he die?"
after a question about Alan Turing is answered from his document, and the answer says what was
searched ("Searched as: ..."); a question that names its own subject says nothing of the
kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from support.browser import examples_server, open_tab
from support.server import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with examples_server(tmp_path_factory.mktemp("followup")) as server:
        yield server


def test_a_follow_up_is_searched_with_the_conversations_names(
        browser: Browser, examples: ServerProcess) -> None:
    with open_tab(browser, examples.url) as tab:
        first = tab.ask("Where was Alan Turing born?")
        expect(first.locator(".searched")).to_have_count(0)
        page = tab.page
        page.fill("#chat-message", "When did he die?")
        page.locator("#chat-form").evaluate("form => form.requestSubmit()")
        answer = page.locator(".a").nth(1)
        expect(answer).not_to_have_attribute("aria-busy", "true", timeout=120_000)
        # the name as the graph knows it
        expect(answer.locator(".searched")).to_have_text(
            "Searched as: When did Alan Mathison Turing die?")
        expect(answer.locator(".sources li").first).to_contain_text("(alan-turing.txt)")
        assert tab.errors == []
