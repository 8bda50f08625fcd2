"""The MCP tests run on asyncio (the server's loop; the SDK's client runs on anyio)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
