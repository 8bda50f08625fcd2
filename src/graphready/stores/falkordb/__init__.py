"""The falkordb backend of the store protocols in ``stores/base.py``."""
