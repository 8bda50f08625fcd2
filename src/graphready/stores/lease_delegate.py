"""The build lease methods every store shares, delegated to the store's lease helper
(:class:`~graphready.stores.sqlite.common.SqliteLease`, ``FalkorLease``, ``Neo4jLease``)."""

from __future__ import annotations

from typing import Protocol

from graphready.stores.base import Lease


class LeaseBackend(Protocol):
    """A lease kept in one store: take or renew, give up, read."""

    def acquire(self, owner: str, ttl_s: float, stage: str, done: int, total: int) -> bool: ...

    def release(self, owner: str) -> None: ...

    def current(self) -> Lease | None: ...


class LeaseDelegate:
    """Mixin: :class:`~graphready.stores.base.LeaseStore`'s methods on ``self._lease``."""

    _lease: LeaseBackend

    def acquire_lease(
        self, owner: str, ttl_s: float, stage: str = "", done: int = 0, total: int = 0
    ) -> bool:
        """Take the build lease, or renew it (with new progress) when ``owner`` holds it; True
        when ``owner`` holds it afterwards."""
        return self._lease.acquire(owner, ttl_s, stage, done, total)

    def release_lease(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (otherwise do nothing)."""
        self._lease.release(owner)

    def current_lease(self) -> Lease | None:
        """The lease if one is held and not expired, else None."""
        return self._lease.current()
