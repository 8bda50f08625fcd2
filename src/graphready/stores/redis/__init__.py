"""Stores on a Redis-protocol server (the ``redis-server`` a FalkorDB deployment already runs):
the catalog a deployment's servers share, with its change stream."""
