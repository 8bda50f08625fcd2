"""Retrieval: keyword, vector, graph-local and graph-global search, and their fusion."""
