"""The neo4j backend of the store protocols in ``stores/base.py``."""
