"""Helpers of the browser tests (``tests/browser/``): a served app and a browser tab that
records what went wrong in it."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect

from .corpus import write_corpus
from .server import ServerProcess

BUILD_TIMEOUT_S = 300.0


def start_server(root: Path, env: dict[str, str] | None = None,
                 passages: int = 40) -> ServerProcess:
    """A server on a small generated corpus, hashing embedder, graph built."""
    write_corpus(root / "docs", passages=passages)
    server = ServerProcess(root / "docs", root / "data",
                           {"GRAPHREADY_EMBEDDER": "hashing", **(env or {})})
    server.wait_listening()
    return server


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "docs"


@contextlib.contextmanager
def examples_server(root: Path, env: dict[str, str] | None = None,
                    key: str | None = None) -> Iterator[ServerProcess]:
    """A server on a copy of the example documents (hashing embedder, ``env`` added), its
    graph built; its client sends ``key`` if any; killed on exit."""
    shutil.copytree(EXAMPLES, root / "docs")
    server = ServerProcess(root / "docs", root / "data",
                           {"GRAPHREADY_EMBEDDER": "hashing", **(env or {})})
    if key is not None:
        server.client.headers["Authorization"] = f"Bearer {key}"
    try:
        server.wait_listening()
        server.wait_until(lambda: server.status()["graphrag_ready"], BUILD_TIMEOUT_S,
                          "the first build")
        yield server
    finally:
        server.kill()


@dataclass
class Tab:
    """A page of the app and what went wrong in it: console errors and uncaught exceptions."""

    page: Page
    url: str
    errors: list[str] = field(default_factory=list)

    def open(self, path: str = "/") -> Page:
        self.page.goto(self.url + path)
        return self.page

    def ask(self, question: str, mode: str = "retrieval") -> Locator:
        """The answer to ``question`` asked through the address (``/?mode=...&q=...``), once
        it is complete."""
        self.open(f"/?mode={mode}&q=" + question.replace(" ", "+"))
        answer = self.page.locator(".a").last
        expect(answer).not_to_have_attribute("aria-busy", "true", timeout=120_000)
        return answer


@contextlib.contextmanager
def open_tab(browser: Browser, url: str) -> Iterator[Tab]:
    """A desktop-sized tab of the app at ``url`` in a fresh browser context, recording console
    errors and uncaught exceptions; closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    opened = Tab(page, url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: opened.errors.append(f"uncaught: {exc}"))
    page.set_default_timeout(30_000)
    try:
        yield opened
    finally:
        context.close()
