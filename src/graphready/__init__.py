"""graphready: a GraphRAG chat server that answers within seconds and never stalls while its
graph is built."""

__version__ = "0.1.0"
