"""Fixtures shared by the end-to-end tests: the real servers a test starts, killed after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.server import ServerProcess


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    """A list the test appends the servers it starts to; each is killed when the test ends."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.kill()
