"""Shared test support: a generated corpus and a real server process."""
