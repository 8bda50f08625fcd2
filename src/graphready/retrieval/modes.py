"""The retrieval modes a question can be asked in, declared once: the chat API's schema, the
CLI's ``--mode``, the web app's mode menu and the benchmarks take them from here, and
``pipeline.retrieve`` says what each does. A module of its own so that the CLI can list them
without importing the retrievers."""

from __future__ import annotations

from typing import Literal, get_args

Mode = Literal["auto", "retrieval", "graph_local", "graph_global"]
"""``auto`` picks by question and readiness; ``retrieval`` fuses keyword and vector search;
``graph_local`` walks the knowledge graph from the entities named; ``graph_global`` reads the
community reports."""
MODES: tuple[Mode, ...] = get_args(Mode)
