"""What an index holds, as one short hash per store (``graphready.stores.digest``), so that a
build that was interrupted (a process killed, a disk full, a damaged file) can be compared with
one that was not: equal digests mean equal catalogs, keyword and vector indexes and graphs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from graphready.stores.digest import index_digest

__all__ = ["index_digest", "reference_digest"]


def reference_digest(docs: Path, data: Path, env: dict[str, str]) -> dict[str, str]:
    """The digest of ``graphready index DOCS`` into ``data``: an uninterrupted build."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    subprocess.run([sys.executable, "-m", "graphready.cli", "index", str(docs), "--data-dir",
                    str(data)], check=True, capture_output=True, env={**full_env, **env},
                   timeout=900)
    return index_digest(data)
