"""The status view shows the build queue (``GRAPHREADY_QUEUE_URL``) in a real browser: the jobs
of each stage and the workers alive with their host and last heartbeat, as ``/status`` reports
them. A real FalkorDB holds the stores and the queue; the server's build enqueues its jobs and
waits for a worker; a worker's heartbeat is written to the queue as a worker writes it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from graphready.queue.base import WorkerBeat
from graphready.queue.redis_streams import RedisJobQueue
from support.browser import BUILD_TIMEOUT_S, open_tab
from support.corpus import write_corpus
from support.falkordb_server import FalkorDBServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
SLOW_MS = 60_000


@pytest.fixture
def falkordb() -> Iterator[FalkorDBServer]:
    with FalkorDBServer() as server:
        yield server


def test_the_status_view_shows_the_queue_its_jobs_and_its_workers(
        browser: Browser, falkordb: FalkorDBServer, tmp_path: Path, screenshots: Path) -> None:
    queue_url = f"redis://{falkordb.host}:{falkordb.port}/1"
    write_corpus(tmp_path / "docs", passages=10)
    server = ServerProcess(tmp_path / "docs", tmp_path / "data", {
        "GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_GRAPH_URL": f"{falkordb.url}/view_graph",
        "GRAPHREADY_VECTOR_URL": f"{falkordb.url}/view_vectors",
        "GRAPHREADY_QUEUE_URL": queue_url, "GRAPHREADY_QUEUE_BATCH": "4"})
    queue = RedisJobQueue(queue_url, 60, 3)
    try:
        server.wait_listening(BUILD_TIMEOUT_S)
        server.wait_until(lambda: (server.status()["queue"] or {}).get("stages", {}).get(
            "embed", {}).get("waiting", 0) > 0, BUILD_TIMEOUT_S, "the build's jobs")
        host = socket.gethostname()
        queue.beat(WorkerBeat("worker-a", host, 4242, job="0123456789abcdef", jobs_done=7,
                              llm_waiting=2))
        with open_tab(browser, server.url) as tab:
            page = tab.page
            page.goto(server.url + "/")
            page.locator('nav a[data-view="status"]').click()
            body = page.locator("#status-body")
            expect(body.locator("h2", has_text="Build queue")).to_be_visible()
            expect(body).to_contain_text(f"redis://{falkordb.host}:{falkordb.port}/1")
            embed = body.locator(".queue-stages tr", has_text="embed")
            expect(embed).to_have_count(1)
            waiting = server.status()["queue"]["stages"]["embed"]["waiting"]
            assert waiting > 0
            expect(embed.locator("td").nth(1)).to_have_text(str(waiting), timeout=SLOW_MS)
            worker = body.locator(".queue-workers tbody tr")
            expect(worker).to_have_count(1, timeout=SLOW_MS)
            for text in (host, "4242", "job 0123456789ab", "7", "2 held for questions", " ago"):
                expect(worker).to_contain_text(text)
            body.locator("h2", has_text="Build queue").scroll_into_view_if_needed()
            page.screenshot(path=screenshots / "status-queue.png")
            queue.leave("worker-a")
            expect(body.locator(".queue-no-workers")).to_be_visible(timeout=SLOW_MS)
            assert tab.errors == []
    finally:
        queue.close()
        server.kill()
