"""Embedders: the protocol in ``base.py``, one module per implementation."""
