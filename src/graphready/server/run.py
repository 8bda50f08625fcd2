"""Serve the app with Hypercorn until SIGINT or SIGTERM, then shut down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

from fastapi import FastAPI
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from graphready.config import Settings
from graphready.errors import ConfigError
from graphready.settings_spec import env_name

from .app import create_app
from .auth import keys_required, reload_on_hangup

log = logging.getLogger("graphready.server")


def listen(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening socket on ``host:port``, or a ``ConfigError`` naming the setting.
    ``reuse_port``: more sockets may listen on the port (``SO_REUSEPORT``), and the kernel
    spreads new connections over them."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=1024,
                                    reuse_port=reuse_port)
    except OSError as exc:
        raise ConfigError(f"{env_name('host')}/{env_name('port')} (--host/--port)",
                          f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def hypercorn_config(settings: Settings, sock: socket.socket) -> Config:
    """Hypercorn's config: our listening socket and a short graceful timeout. No startup hook
    is registered: start-up is the app's lifespan, which runs once."""
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = "-"
    config.graceful_timeout = 5.0
    config.loglevel = settings.log_level.upper()
    return config


async def serve(settings: Settings, sock: socket.socket | None = None,
                app: FastAPI | None = None) -> None:
    """Serve until a signal asks to stop: ``app`` (else the app of ``settings``) on ``sock``
    (else a new socket on the host and port of ``settings``)."""
    sock = sock if sock is not None else listen(settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = app if app is not None else create_app(settings)
    reload_on_hangup(app, loop)
    host, port = sock.getsockname()[:2]
    log.info("serving %s on http://%s:%s%s", settings.docs_dir or "uploaded documents only",
             host, port, " (API keys required)" if keys_required(settings) else "")
    try:
        await hypercorn_serve(app, hypercorn_config(settings, sock),  # type: ignore[arg-type]
                              shutdown_trigger=stop.wait)
    finally:
        with contextlib.suppress(OSError):  # Hypercorn closes the descriptor it was given
            sock.close()
    log.info("server stopped")
