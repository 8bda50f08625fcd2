"""Settings: one typed, frozen object, read once at the edge (the CLI) from environment variables
``GRAPHREADY_*`` and command-line flags, validated with errors that name the setting.

Every field is documented in ``docs/settings.md``; a test checks that.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from graphready.errors import ConfigError

ENV_PREFIX = "GRAPHREADY_"

# The names a setting can take that other modules act on are declared here, once, as a Literal
# type (so that strict typing catches a misspelt name) with the tuple of its values beside it;
# config owns them because it validates them before anything else is imported.
EmbedderName = Literal["minilm", "hashing"]
"""The built-in embedders (``GRAPHREADY_EMBEDDER``; ``embeddings/registry.py`` makes each)."""
EMBEDDERS: tuple[EmbedderName, ...] = get_args(EmbedderName)
Stage = Literal["documents", "vectors", "graph"]
"""The build stages, in the order they start (``indexing/stages.py`` runs each;
``GRAPHREADY_FAIL_STAGE`` names one)."""
STAGES: tuple[Stage, ...] = get_args(Stage)
GraphStep = Literal["graph.extract", "graph.communities", "graph.summaries"]
"""The steps of the graph stage that report their own progress."""
Waiting = Literal["vectors.other_builder", "graph.other_builder"]
"""What a stage reports while another process builds its index (``indexing/lease.py``)."""
WAITINGS: tuple[Waiting, ...] = get_args(Waiting)
Step = Stage | GraphStep | Waiting
"""What a build progress event (``indexing/events.Progress``) counts: a stage or a step of one."""
KillPoint = Literal["documents", "vectors", "graph.extract", "graph.assemble",
                    "graph.communities", "graph.summaries", "graph.publish", "graph.done"]
"""Where ``GRAPHREADY_KILL_AT`` can kill a build (``indexing/faults.py`` says what each means)."""
KILL_POINTS: tuple[KillPoint, ...] = get_args(KillPoint)
KillVictim = Literal["worker", "server"]
"""Which process ``GRAPHREADY_KILL_AT=POINT:VICTIM`` kills (the worker when not said)."""
KILL_VICTIMS: tuple[KillVictim, ...] = get_args(KillVictim)
NLP_PIPELINES = ("entities", "full")
COMMUNITY_UPDATES = ("auto", "exact", "stable")
TOOL_CALLING = ("auto", "off")
ON_OFF = ("on", "off")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything graphready can be told. Field names map to ``GRAPHREADY_<NAME>`` variables."""

    data_dir: Path
    docs_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    chunk_chars: int = 1200
    chunk_overlap_sentences: int = 1
    embedder: EmbedderName = "minilm"
    embed_threads: int = 1
    embed_idle_threads: int = 1
    embed_batch: int = 32
    community_max_size: int = 40
    community_levels: int = 3
    community_updates: str = "auto"
    nlp_pipeline: str = "entities"
    default_top_k: int = 5
    max_top_k: int = 50
    max_body_bytes: int = 65_536
    max_message_chars: int = 4_000
    chat_rate_per_minute: int = 300
    max_chats_in_flight: int = 16
    chat_queue_timeout_s: int = 10
    chat_slots_per_client: int = 0
    graph_requests_per_client: int = 8
    exports_per_client: int = 2
    body_timeout_s: int = 30
    fail_stage: Stage | None = None
    kill_at: str | None = None
    graph_url: str | None = None
    vector_url: str | None = None
    log_level: str = "info"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = dataclasses.field(default=None, repr=False)
    llm_timeout_s: int = 60
    llm_retries: int = 2
    llm_concurrency: int = 4
    llm_build_concurrency: int = 1
    llm_answer_deadline_s: int = 30
    llm_max_tokens: int = 1000
    llm_max_steps: int = 4
    llm_tool_calling: str = "auto"
    llm_graph: str = "on"
    embed_base_url: str | None = None
    embed_model: str | None = None
    embed_api_key: str | None = dataclasses.field(default=None, repr=False)
    api_key: str | None = dataclasses.field(default=None, repr=False)
    read_only_api_key: str | None = dataclasses.field(default=None, repr=False)
    allow_no_api_key: str = "off"
    allowed_hosts: str | None = None
    cors_origins: str | None = None
    max_upload_bytes: int = 10_485_760
    max_upload_files: int = 20
    parse_cpu_s: int = 30
    parse_memory_mb: int = 1024
    watch: str = "off"
    workers: int = 1

    @property
    def db_dir(self) -> Path:
        """Where the stores keep their files."""
        return self.data_dir / "index"

    @property
    def chat_share(self) -> int:
        """Chat slots kept free for clients under their share (``GRAPHREADY_CHAT_SLOTS_PER_CLIENT``;
        0: a quarter of ``GRAPHREADY_MAX_CHATS_IN_FLIGHT``, at least 1)."""
        if self.chat_slots_per_client > 0:
            return min(self.chat_slots_per_client, self.max_chats_in_flight)
        return max(1, self.max_chats_in_flight // 4)

    @property
    def llm_configured(self) -> bool:
        """Whether a language model is configured (else answers are extractive)."""
        return self.llm_base_url is not None

    @property
    def stable_communities(self) -> bool:
        """Whether a rebuild starts community detection from the previous partition (few
        reports to write again) rather than from scratch (equal to a fresh build): ``stable``,
        or ``auto`` when a language model writes the reports."""
        if self.community_updates == "auto":
            return self.llm_builds_graph
        return self.community_updates == "stable"

    @property
    def llm_builds_graph(self) -> bool:
        """Whether the language model extracts the graph and writes the community reports
        (else spaCy and extractive reports do, and the model only answers)."""
        return self.llm_configured and self.llm_graph == "on"


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


def _check_origins(s: Settings) -> None:
    for host in host_patterns(s.allowed_hosts):
        name = host.removeprefix("*.") if host != "*" else "x"
        if not name or any(not label or not set(label) <= _HOST_LABEL
                           for label in name.split(".")):
            raise ConfigError(_env_name("allowed_hosts"), f"{host!r} is not a host name: give "
                              "names (app.example.com), patterns (*.example.com) or * "
                              "(comma-separated, no scheme or port)")
    for origin in cors_origins(s.cors_origins):
        scheme, sep, rest = origin.partition("://")
        name = rest.rsplit(":", 1)[0] if not rest.endswith("]") else rest
        port = rest[len(name) + 1:]
        if scheme not in ("http", "https") or not sep or not name or "/" in rest \
                or "*" in rest or "@" in rest or (port and not port.isdigit()):
            raise ConfigError(_env_name("cors_origins"), f"{origin!r} is not an origin: give "
                              "each as scheme://host[:port], e.g. https://app.example.com "
                              "(comma-separated; no path, no wildcard)")


MIN_API_KEY_CHARS = 16


def _check_api_keys(s: Settings) -> None:
    full, read_only = api_keys(s.api_key), api_keys(s.read_only_api_key)
    for name, keys in (("api_key", full), ("read_only_api_key", read_only)):
        for key in keys:
            if len(key) < MIN_API_KEY_CHARS or any(c.isspace() for c in key):
                raise ConfigError(_env_name(name), f"each key needs at least {MIN_API_KEY_CHARS}"
                                  " characters and no spaces (comma-separated list)")
    if set(full) & set(read_only):
        raise ConfigError(_env_name("read_only_api_key"),
                          "a key cannot be both full and read-only (also in GRAPHREADY_API_KEY)")
    if read_only and not full:
        raise ConfigError(_env_name("api_key"), "is required when GRAPHREADY_READ_ONLY_API_KEY "
                          "is set (else nobody could add documents)")
    if s.watch not in ON_OFF:
        raise ConfigError(_env_name("watch"), f"expected on or off, got {s.watch!r}")
    if s.allow_no_api_key not in ON_OFF:
        raise ConfigError(_env_name("allow_no_api_key"),
                          f"expected on or off, got {s.allow_no_api_key!r}")


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(Settings)}


def _coerce(name: str, kind: str, raw: Any) -> Any:
    if raw is None:
        return None
    if "Path" in kind:
        return Path(str(raw)).expanduser()
    if kind == "int":
        if isinstance(raw, bool):
            raise ConfigError(_env_name(name), f"expected an integer, got {raw!r}")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(_env_name(name), f"expected an integer, got {raw!r}") from None
    return str(raw)


def _env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _validate(s: Settings) -> None:
    def positive(name: str, value: int, low: int = 1, high: int | None = None) -> None:
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ConfigError(_env_name(name), f"must be {bound}, got {value}")

    positive("port", s.port, 0, 65535)
    positive("chunk_chars", s.chunk_chars, 100)
    positive("chunk_overlap_sentences", s.chunk_overlap_sentences, 0, 10)
    positive("embed_threads", s.embed_threads, 1, 64)
    positive("embed_idle_threads", s.embed_idle_threads, 0, 64)
    positive("embed_batch", s.embed_batch, 1, 1024)
    positive("community_max_size", s.community_max_size, 2)
    positive("community_levels", s.community_levels, 1, 10)
    positive("default_top_k", s.default_top_k, 1)
    positive("max_top_k", s.max_top_k, s.default_top_k)
    positive("max_body_bytes", s.max_body_bytes, 256)
    positive("max_message_chars", s.max_message_chars, 1)
    positive("chat_rate_per_minute", s.chat_rate_per_minute, 0, 1_000_000)
    positive("max_chats_in_flight", s.max_chats_in_flight, 1, 10_000)
    positive("chat_queue_timeout_s", s.chat_queue_timeout_s, 0, 3600)
    positive("chat_slots_per_client", s.chat_slots_per_client, 0, 10_000)
    positive("graph_requests_per_client", s.graph_requests_per_client, 1, 10_000)
    positive("exports_per_client", s.exports_per_client, 1, 10_000)
    positive("body_timeout_s", s.body_timeout_s, 1, 3600)
    positive("max_upload_bytes", s.max_upload_bytes, 1024)
    positive("max_upload_files", s.max_upload_files, 1, 1000)
    positive("parse_cpu_s", s.parse_cpu_s, 1, 3600)
    positive("parse_memory_mb", s.parse_memory_mb, 128, 1_048_576)
    positive("workers", s.workers, 1, 64)
    _check_api_keys(s)
    _check_origins(s)
    embedder_named(s.embedder)
    if s.community_updates not in COMMUNITY_UPDATES:
        raise ConfigError(_env_name("community_updates"), f"unknown value "
                          f"{s.community_updates!r}; choose one of {', '.join(COMMUNITY_UPDATES)}")
    if s.nlp_pipeline not in NLP_PIPELINES:
        raise ConfigError(_env_name("nlp_pipeline"), f"unknown pipeline {s.nlp_pipeline!r}; "
                          f"choose one of {', '.join(NLP_PIPELINES)}")
    if s.fail_stage is not None and s.fail_stage not in STAGES:
        raise ConfigError(_env_name("fail_stage"), f"unknown stage {s.fail_stage!r}; "
                          f"choose one of {', '.join(STAGES)}")
    if s.kill_at is not None:
        point, _, victim = s.kill_at.partition(":")
        if point not in KILL_POINTS or victim not in ("", *KILL_VICTIMS):
            raise ConfigError(_env_name("kill_at"), f"expected POINT or POINT:server with a "
                              f"POINT of {', '.join(KILL_POINTS)}; got {s.kill_at!r}")
    if s.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError(_env_name("log_level"), f"unknown level {s.log_level!r}")
    positive("llm_timeout_s", s.llm_timeout_s, 1, 3600)
    positive("llm_retries", s.llm_retries, 0, 10)
    positive("llm_concurrency", s.llm_concurrency, 1, 256)
    positive("llm_build_concurrency", s.llm_build_concurrency, 1, 256)
    positive("llm_answer_deadline_s", s.llm_answer_deadline_s, 1, 3600)
    positive("llm_max_tokens", s.llm_max_tokens, 16)
    positive("llm_max_steps", s.llm_max_steps, 1, 20)
    if s.llm_tool_calling not in TOOL_CALLING:
        raise ConfigError(_env_name("llm_tool_calling"), f"unknown value {s.llm_tool_calling!r}; "
                          f"choose one of {', '.join(TOOL_CALLING)}")
    if s.llm_graph not in ON_OFF:
        raise ConfigError(_env_name("llm_graph"), f"expected on or off, got {s.llm_graph!r}")
    _check_endpoint("llm", s.llm_base_url, s.llm_model)
    _check_endpoint("embed", s.embed_base_url, s.embed_model)
    if s.docs_dir is not None and not s.docs_dir.is_dir():
        raise ConfigError(_env_name("docs_dir"), f"{s.docs_dir} is not a folder")


def embedder_named(name: str) -> EmbedderName:
    """``name`` as one of :data:`EMBEDDERS`; a ``ConfigError`` naming ``GRAPHREADY_EMBEDDER``
    (and the choices) when it is none of them."""
    for known in EMBEDDERS:
        if known == name:
            return known
    raise ConfigError(_env_name("embedder"), f"unknown embedder {name!r}; "
                      f"choose one of {', '.join(EMBEDDERS)}")


def _check_endpoint(prefix: str, base_url: str | None, model: str | None) -> None:
    """An OpenAI-compatible endpoint needs an http(s) base URL and a model name, or neither."""
    if base_url is None:
        if model is not None:
            raise ConfigError(_env_name(f"{prefix}_base_url"),
                              f"is required when {_env_name(f'{prefix}_model')} is set")
        return
    if not base_url.startswith(("http://", "https://")) or base_url.endswith("://"):
        raise ConfigError(_env_name(f"{prefix}_base_url"),
                          f"expected an http:// or https:// URL, got {base_url!r}")
    if model is None:
        raise ConfigError(_env_name(f"{prefix}_model"),
                          f"is required when {_env_name(f'{prefix}_base_url')} is set")


def load_settings(env: Mapping[str, str], **overrides: Any) -> Settings:
    """Build settings from ``env`` (only ``GRAPHREADY_*`` keys are read; an unknown one is an
    error) and ``overrides`` (command-line flags; ``None`` means not given)."""
    types = _field_types()
    values: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name not in types:
            raise ConfigError(key, "unknown setting (see docs/settings.md)")
        values[name] = _coerce(name, types[name], raw if raw != "" else None)
    for name, raw in overrides.items():
        if name not in types:
            raise ConfigError(name, "unknown setting")
        if raw is not None:
            values[name] = _coerce(name, types[name], raw)
    if values.get("data_dir") is None:
        raise ConfigError(_env_name("data_dir"), "is required (--data-dir)")
    values = {k: v for k, v in values.items() if v is not None or types[k].endswith("None")}
    settings = Settings(**values)
    _validate(settings)
    return settings


def ensure_data_dir(settings: Settings) -> None:
    """Create the data directory if needed; a ``ConfigError`` naming the setting if it cannot
    be created or written."""
    try:
        settings.db_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(_env_name("data_dir"),
                          f"cannot create {settings.db_dir}: {exc.strerror or exc}") from None
    if not os.access(settings.db_dir, os.W_OK):
        raise ConfigError(_env_name("data_dir"), f"{settings.db_dir} is not writable")


def settings_to_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce ``settings`` (to start a build worker)."""
    out: dict[str, str] = {}
    for f in dataclasses.fields(Settings):
        value = getattr(settings, f.name)
        if value is not None:
            out[_env_name(f.name)] = str(value)
    return out
