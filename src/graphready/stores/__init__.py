"""Stores: the protocols in ``base.py``, one module per implementation."""
