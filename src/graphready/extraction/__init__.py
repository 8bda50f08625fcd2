"""Entity and relation extraction: the protocol in ``base.py``, one module per implementation."""
