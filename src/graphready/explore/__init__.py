"""Exploring the knowledge graph: an in-memory, read-only view of the loaded graph that the graph
API searches, walks and pages (``view.py``), and its export as GraphML or JSON (``export.py``)."""
