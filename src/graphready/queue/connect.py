"""Opening the configured queue (``GRAPHREADY_QUEUE_URL``): a queue that cannot be reached, or
a client package that is missing, is a ``ConfigError`` naming the setting, at start."""

from __future__ import annotations

from graphready.config import Settings
from graphready.errors import ConfigError, StoreError
from graphready.redact import redact
from graphready.settings_spec import env_name

from .base import JobQueue


def open_queue(settings: Settings) -> JobQueue:
    """The queue ``GRAPHREADY_QUEUE_URL`` names, reached and ready; a ``ConfigError`` naming
    the setting when it is not set, its client is not installed, or it does not answer."""
    url = settings.queue_url
    if url is None:
        raise ConfigError(env_name("queue_url"), "is required: the queue the jobs are on")
    try:
        from .redis_streams import RedisJobQueue
    except ImportError as exc:
        raise ConfigError(env_name("queue_url"), "needs the redis package (the 'queue' "
                          f"extra): {exc}") from exc
    try:
        return RedisJobQueue(url, settings.queue_lease_s, settings.queue_max_deliveries)
    except StoreError as exc:
        raise ConfigError(env_name("queue_url"), redact(str(exc), [url])) from None


def check_queue(settings: Settings) -> None:
    """Stop start-up with a ``ConfigError`` naming the setting when a configured queue cannot
    be reached (nothing when none is configured)."""
    if settings.queue_url is not None:
        open_queue(settings).close()
