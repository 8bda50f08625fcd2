"""Browser tests: Playwright for Python drives Debian's chromium (``scripts/install-browser``
installs it; Playwright's own browser download cannot work offline) against a real
``graphready serve`` on a free loopback port. Screenshots of each view go to
``$SCREENSHOTS_DIR`` (``docs/screenshots`` refreshes those of docs/web-app.md), else to a
temporary folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from support.browser import BUILD_TIMEOUT_S, Tab, open_tab, start_server
from support.server import ServerProcess

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
pytestmark = pytest.mark.e2e


def chromium() -> str:
    """The path of Debian's chromium; a test run without it fails, naming the fix."""
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("Debian's chromium is not installed: run scripts/install-browser "
                    "(scripts/test does)")
    return found


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Module-scoped, not session-scoped: Playwright's sync API keeps an event loop running in
    the main thread while it is open, and later tests that call ``asyncio.run`` would fail."""
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with a fresh profile (Playwright makes one per launch)."""
    launched = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("SCREENSHOTS_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("browser"))
    try:
        server.wait_until(lambda: server.status()["graphrag_ready"]
                          and server.status()["retrieval"]["vector_ready"], BUILD_TIMEOUT_S,
                          "the first build")
        yield server
    finally:
        server.kill()


@pytest.fixture
def tab(browser: Browser, served: ServerProcess) -> Iterator[Tab]:
    with open_tab(browser, served.url) as opened:
        yield opened
