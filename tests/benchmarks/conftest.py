"""The benchmark scripts' modules import each other by name, as ``python benchmarks/NAME.py``
runs them: their folder goes on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
