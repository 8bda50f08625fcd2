"""Watching the documents folder (``GRAPHREADY_WATCH=on``, ``serve --watch``): a file added,
changed or removed under it asks for a build, as ``POST /build`` would, so the folder is indexed
without a call. Changes are batched (``watchfiles`` waits until they settle, up to
``DEBOUNCE_MS``); one that lands during a build is built right after it. Only what the loaders
read counts: hidden files and folders and other extensions are ignored."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from graphready.documents.loaders import EXTENSIONS

log = logging.getLogger("graphready.server")
DEBOUNCE_MS = 500


def relevant(folder: Path, changed: Iterable[str]) -> bool:
    """Whether any changed path is one the documents stage reads."""
    for raw in changed:
        try:
            relative = Path(raw).relative_to(folder)
        except ValueError:
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        if relative.suffix.lower() in EXTENSIONS or not relative.suffix:
            return True  # no suffix: a folder, which may have held documents
    return False


async def watch_folder(folder: Path, on_change: Callable[[], None], stop: asyncio.Event) -> None:
    """Call ``on_change`` after each settled batch of relevant changes until ``stop`` is set."""
    from watchfiles import awatch

    root = folder.resolve()
    log.info("watching %s for changes", root)
    async for changes in awatch(root, stop_event=stop, debounce=DEBOUNCE_MS,
                                watch_filter=None, ignore_permission_denied=True):
        if relevant(root, (path for _, path in changes)):
            log.info("the documents folder changed (%d paths): building", len(changes))
            on_change()
