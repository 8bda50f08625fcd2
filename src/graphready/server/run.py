"""Serve the app with Hypercorn until SIGINT or SIGTERM, then shut down cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from graphready.config import Settings

from .app import create_app

log = logging.getLogger("graphready.server")


def hypercorn_config(settings: Settings) -> Config:
    """Hypercorn's config: the bind address and a short graceful timeout. No startup hook is
    registered: start-up is the app's lifespan, which runs once."""
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None
    config.errorlog = "-"
    config.graceful_timeout = 5.0
    config.loglevel = settings.log_level.upper()
    return config


async def serve(settings: Settings) -> None:
    """Serve until a signal asks to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    log.info("serving %s on http://%s:%s", settings.docs_dir, settings.host, settings.port)
    await hypercorn_serve(app, hypercorn_config(settings), shutdown_trigger=stop.wait)  # type: ignore[arg-type]
    log.info("server stopped")
