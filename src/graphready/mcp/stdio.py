"""``graphready mcp DOCS_DIR --data-dir DIR``: the MCP server over standard input and output,
as desktop clients start it. The same start as ``serve``: the workspace's state is opened (what
was built before answers at once) and the build runs in the background, so the tools answer
while the graph is being built. The caller started the process: no key is asked for.

Standard output carries MCP and nothing else: the SDK's transport points the process's
descriptor 1 at standard error while it serves (the build workers' and every log line go
there), and descriptor 0 at the null device. The server ends when its input ends (the client
went away: the usual end) or on SIGTERM or SIGINT; either way the state is closed as ``serve``
closes it (the build workers stopped, the stores closed). After a signal, the process then ends
by that signal: the SDK's reader of standard input may still wait for a line that never comes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import anyio
from mcp.server.stdio import stdio_server

from graphready.config import Settings
from graphready.server.lifecycle import AppState
from graphready.server.workspace_list import DEFAULT_WORKSPACE

from .caller import local_caller
from .server import mcp_server

log = logging.getLogger("graphready.mcp")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def serve_stdio(settings: Settings, workspace: str = DEFAULT_WORKSPACE) -> None:
    """Serve MCP on standard input and output until the input ends or a signal asks to stop
    (see the module's docstring); ``settings`` are those of ``workspace``."""
    received: list[signal.Signals] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def asked(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    for sig in SIGNALS:
        loop.add_signal_handler(sig, asked, sig)
    async with stdio_server() as (read, write):
        state = await AppState.start(settings)
        try:
            state.begin_background()
            caller = local_caller(state, workspace)
            server = mcp_server(settings, lambda ctx: caller)
            log.info("serving MCP on standard input and output (documents: %s)",
                     settings.docs_dir or "added over MCP only")
            async with anyio.create_task_group() as group:

                async def serve() -> None:
                    await server.run(read, write, server.create_initialization_options())
                    stop.set()

                group.start_soon(serve)
                await stop.wait()
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await state.close()
            if received:
                for sig in SIGNALS:
                    loop.remove_signal_handler(sig)
                os.kill(os.getpid(), received[0])
