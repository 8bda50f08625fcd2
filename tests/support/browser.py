"""Helpers of the browser tests (``tests/browser/``): a served app and a browser tab that
records what went wrong in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

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


@dataclass
class Tab:
    """A page of the app and what went wrong in it: console errors and uncaught exceptions."""

    page: Page
    url: str
    errors: list[str] = field(default_factory=list)

    def open(self, path: str = "/") -> Page:
        self.page.goto(self.url + path)
        return self.page
