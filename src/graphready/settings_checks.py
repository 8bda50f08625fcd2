"""The checks of settings that look at more than one value, or at a value's form beyond its
type (keys, host names and origins, the queue's, catalog's and reranker's URLs, an
OpenAI-compatible endpoint), and the parsers of the list settings they check; ``config``
runs them when it loads the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from graphready.errors import ConfigError
from graphready.settings_spec import env_name

if TYPE_CHECKING:
    from graphready.config import Settings


def api_keys(value: str | None) -> tuple[str, ...]:
    """The keys of a comma-separated key setting (several, so that keys can be rotated)."""
    return tuple(k.strip() for k in (value or "").split(",") if k.strip())


def host_patterns(value: str | None) -> tuple[str, ...]:
    """The host names of ``GRAPHREADY_ALLOWED_HOSTS``, lower case: ``name``, ``*.domain`` (any
    name under it) or ``*`` (any host at all)."""
    return tuple(h.strip().lower().rstrip(".") for h in (value or "").split(",") if h.strip())


def cors_origins(value: str | None) -> tuple[str, ...]:
    """The origins of ``GRAPHREADY_CORS_ORIGINS`` (``scheme://host[:port]``), lower case."""
    return tuple(o.strip().lower().rstrip("/") for o in (value or "").split(",") if o.strip())


_HOST_LABEL = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def check_origins(s: Settings) -> None:
    for host in host_patterns(s.allowed_hosts):
        name = host.removeprefix("*.") if host != "*" else "x"
        if not name or any(not label or not set(label) <= _HOST_LABEL
                           for label in name.split(".")):
            raise ConfigError(env_name("allowed_hosts"), f"{host!r} is not a host name: give "
                              "names (app.example.com), patterns (*.example.com) or * "
                              "(comma-separated, no scheme or port)")
    for origin in cors_origins(s.cors_origins):
        scheme, sep, rest = origin.partition("://")
        name = rest.rsplit(":", 1)[0] if not rest.endswith("]") else rest
        port = rest[len(name) + 1:]
        if scheme not in ("http", "https") or not sep or not name or "/" in rest \
                or "*" in rest or "@" in rest or (port and not port.isdigit()):
            raise ConfigError(env_name("cors_origins"), f"{origin!r} is not an origin: give "
                              "each as scheme://host[:port], e.g. https://app.example.com "
                              "(comma-separated; no path, no wildcard)")


MIN_API_KEY_CHARS = 16


def check_api_keys(s: Settings) -> None:
    full, read_only = api_keys(s.api_key), api_keys(s.read_only_api_key)
    for name, keys in (("api_key", full), ("read_only_api_key", read_only)):
        for key in keys:
            if len(key) < MIN_API_KEY_CHARS or any(c.isspace() for c in key):
                raise ConfigError(env_name(name), f"each key needs at least {MIN_API_KEY_CHARS}"
                                  " characters and no spaces (comma-separated list)")
    if set(full) & set(read_only):
        raise ConfigError(env_name("read_only_api_key"), "a key cannot be both full and "
                          f"read-only (also in {env_name('api_key')})")
    if read_only and not full and s.keys_file is None:
        raise ConfigError(env_name("api_key"), f"is required when "
                          f"{env_name('read_only_api_key')} is set without "
                          f"{env_name('keys_file')} (else nobody could add documents)")


def check_queue(s: Settings) -> None:
    """The queue's and the shared catalog's URLs are ``redis[s]://[[user]:password@]host:port
    [/db]``, and need shared graph and vector stores on a server."""
    expected = "expected redis://[:password@]host:port[/db] (also rediss://)"
    for field in ("queue_url", "catalog_url"):
        if (url := getattr(s, field)) is None:
            continue
        try:
            parts, name = urlsplit(url.strip()), env_name(field)
            db, port = parts.path.removeprefix("/"), parts.port
        except ValueError:
            raise ConfigError(env_name(field), expected) from None
        if parts.scheme not in ("redis", "rediss") or not parts.hostname or port is None \
                or (db and not db.isdigit()) or parts.query or parts.fragment:
            raise ConfigError(name, expected)
        for store in (f for f in ("graph_url", "vector_url") if getattr(s, f) is None):
            raise ConfigError(name, f"needs {env_name(store)} too: shared graph and vector "
                              "stores on a server, never this machine's")


def check_rerank(s: Settings) -> None:
    """The reranker's URL is an http(s) URL; its other settings need it."""
    name = env_name("rerank_url")
    if s.rerank_url is None:
        for other in ("rerank_model", "rerank_api_key", "rerank_min_score"):
            if getattr(s, other) is not None:
                raise ConfigError(name, f"is required when {env_name(other)} is set")
        return
    try:
        parts = urlsplit(s.rerank_url.strip())
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) \
            and (parts.port or 0) >= 0  # a malformed port raises ValueError
    except ValueError:
        usable = False
    if not usable:
        raise ConfigError(name, "expected the http:// or https:// URL of a rerank endpoint, "
                          "e.g. http://localhost:8080/v1/rerank")


def check_endpoint(prefix: str, base_url: str | None, model: str | None) -> None:
    """An OpenAI-compatible endpoint needs an http(s) base URL and a model name, or neither."""
    url_name, model_name = env_name(f"{prefix}_base_url"), env_name(f"{prefix}_model")
    if base_url is None:
        if model is not None:
            raise ConfigError(url_name, f"is required when {model_name} is set")
        return
    if not base_url.startswith(("http://", "https://")) or base_url.endswith("://"):
        raise ConfigError(url_name, f"expected an http:// or https:// URL, got {base_url!r}")
    if model is None:
        raise ConfigError(model_name, f"is required when {url_name} is set")
