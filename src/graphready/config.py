"""Settings: one typed, frozen object, read once at the edge (the CLI) from environment variables
``GRAPHREADY_*`` and command-line flags, validated with errors that name the setting.

Each setting is declared once, as a field of :class:`Settings` (``settings_spec.py`` says how);
its checks, its flag and its row of ``docs/settings.md`` are generated from the declaration
(``python -m graphready.settings_doc > docs/settings.md``; a test fails when the page is stale).
Other modules name a setting with ``settings_spec.env_name("name")``, never by writing out its
variable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from graphready.errors import ConfigError
from graphready.settings_checks import (
    check_api_keys,
    check_endpoint,
    check_origins,
    check_queue,
    check_rerank,
)
from graphready.settings_spec import (
    ENV_PREFIX,
    EVERY_COMMAND,
    SettingSpec,
    described,
    env_name,
    setting,
    specs,
)

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
NlpPipeline = Literal["entities", "full"]
"""The offline extractor's spaCy pipelines (``extraction/spacy_nlp.py``)."""
NLP_PIPELINES: tuple[NlpPipeline, ...] = get_args(NlpPipeline)
CommunityUpdates = Literal["auto", "exact", "stable"]
ToolCalling = Literal["auto", "off"]
LogLevel = Literal["debug", "info", "warning", "error"]
OnOff = Literal["on", "off"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything graphready can be told, each setting declared once as a field: its name (the
    environment variable ``GRAPHREADY_<NAME>``), its type (a ``Literal`` lists its choices), its
    default, bounds and flags (:func:`~graphready.settings_spec.setting`; ``data_dir`` is a plain
    field so that type checkers see it is required) and, in the docstring below it, its help.
    The validation, the command-line flags and ``docs/settings.md`` are generated from them."""

    data_dir: Path = dataclasses.field(metadata=described(flags=EVERY_COMMAND))
    """where the indexes are kept (`DIR/index/*.db`)"""
    docs_dir: Path | None = setting(None, unset="the `DOCS_DIR` argument")
    """the documents folder"""
    host: str = setting("127.0.0.1", flags=("serve",))
    """address to listen on"""
    port: int = setting(8000, low=0, high=65535, flags=("serve",))
    """port to listen on"""
    chunk_chars: int = setting(1200, low=100)
    """most characters in a chunk (whole sentences are packed up to it)"""
    chunk_overlap_sentences: int = setting(1, low=0, high=10)
    """sentences shared by consecutive chunks"""
    embedder: EmbedderName = setting("minilm")
    """`minilm` (all-MiniLM-L6-v2, ONNX) or `hashing` (a fast deterministic hashed bag of
    words and trigrams, for tests and tiny machines)"""
    embed_threads: int = setting(1, low=1, high=64)
    """onnxruntime (intra-op) threads of each thread that embeds in the vector build worker"""
    embed_idle_threads: int = setting(1, low=0, high=64)
    """more threads of the vector build worker that embed whole batches only on otherwise
    idle cores (Linux `SCHED_IDLE`): they never take a core from the graph build or the
    server, and take the free one when the graph build is done. `0`: one thread"""
    embed_batch: int = setting(32, low=1, high=1024)
    """most texts per embedding batch (MiniLM also holds a batch to 512 padded tokens,
    shortest texts first)"""
    nlp_pipeline: NlpPipeline = setting("entities")
    """the offline extractor's spaCy pipeline: `entities` (the entity recogniser alone:
    named entities and titles, related when they share a sentence, and lowercase words after
    a determiner as concepts) or `full` (also the tagger and parser: noun-phrase concepts,
    relations labelled by their verb; ~1.8x the CPU; see "Build speed" for what each is
    worth). Changing it re-extracts every chunk"""
    community_max_size: int = setting(40, low=2)
    """a community with more entities is split into a lower level"""
    community_levels: int = setting(3, low=1, high=10)
    """most levels of the community hierarchy"""
    community_updates: CommunityUpdates = setting("auto")
    """`exact`: a rebuild detects communities from scratch (equal to a fresh build; one
    document more or less reshuffles about half of them, each re-summarised); `stable`: it
    starts from the previous partition and re-clusters only the top-level communities a change
    reaches (about 1% change); `auto`: `stable` when a language model writes the reports, else
    `exact`"""
    default_top_k: int = setting(5, low=1)
    """passages retrieved when a request gives no `top_k`"""
    max_top_k: int = setting(50, low=1)
    """the largest `top_k` a request may ask for (at least `GRAPHREADY_DEFAULT_TOP_K`)"""
    max_body_bytes: int = setting(65_536, low=256)
    """the largest request body (413 above)"""
    max_message_chars: int = setting(4000, low=1)
    """the longest chat message (422 above)"""
    chat_rate_per_minute: int = setting(300, low=0, high=1_000_000)
    """chat requests (`/chat`, `/v1/chat/completions`) a client may send a minute (a burst
    of that many, then one every `60 / rate` s: more than a person types, less than a loop
    sends; `0`: off), per API key when keys are configured, else per client address, per
    server process; over it 429 `rate_limited` with `Retry-After` (see "Limits under load")"""
    max_chats_in_flight: int = setting(16, low=1, high=10_000)
    """chats answered at once per server process; more wait for a slot"""
    chat_queue_timeout_s: int = setting(10, low=0, high=3600)
    """seconds a chat waits for a slot before it is shed with 503 `overloaded` and
    `Retry-After` (0: shed at once); also the most a graph API request or an export waits
    for its client's place"""
    chat_slots_per_client: int = setting(
        0, low=0, high=10_000,
        unset="a quarter of `GRAPHREADY_MAX_CHATS_IN_FLIGHT`, at least 1: 4 of 16")
    """the chat slots kept for clients other than the one asking: one client (API key, else
    address) may hold every slot but these last ones, which go only to clients holding fewer
    than this many; a freed slot goes first to a waiting client under that share. A client
    refused for its share while slots were free: 429 `rate_limited` with `Retry-After`. Set
    it to `GRAPHREADY_MAX_CHATS_IN_FLIGHT` to turn the share off (one client may then take
    every slot)"""
    graph_requests_per_client: int = setting(8, low=1, high=10_000)
    """graph API requests (`/graph/...` but the export, `/passages/...`) one client may have
    in flight at once; more wait up to `GRAPHREADY_CHAT_QUEUE_TIMEOUT_S`, then 429
    `rate_limited` with `Retry-After`"""
    exports_per_client: int = setting(2, low=1, high=10_000)
    """exports (`GET /graph/export`) one client may have streaming at once; more wait up to
    `GRAPHREADY_CHAT_QUEUE_TIMEOUT_S`, then 429 `rate_limited` with `Retry-After`"""
    body_timeout_s: int = setting(30, low=1, high=3600)
    """seconds a request's whole body may take to arrive; then 408 `request_timeout` and the
    connection is closed (slow or stalled clients cannot hold connections for ever)"""
    graph_url: str | None = setting(None, unset="embedded SQLite")
    """a graph server for the knowledge graph: `falkordb://[:password@]host:port/graph`, or
    Neo4j: `neo4j://user:password@host:7687/database` (also `neo4j+s`, `bolt`, `bolt+s`; see
    "Graph stores"). A malformed URL stops start-up naming this setting; an unreachable
    server does not: chat answers from retrieval, `/status` says why the graph store is
    unavailable, and the graph is built as soon as the server answers"""
    vector_url: str | None = setting(None, unset="embedded SQLite")
    """keep the chunk vectors in a server's vector index instead: FalkorDB
    (`falkordb://[:password@]host:port/graph`) or Neo4j 5
    (`neo4j://user:password@host:7687/database`, also `neo4j+s`, `bolt`, `bolt+s`; see
    "Graph stores" for what is verified against a live Neo4j). Vector search asks the
    server, and no local copy is kept; replicas sharing the URL embed once (build lease). A
    malformed or unreachable URL stops start-up naming this setting. The indexes are
    approximate (HNSW): FalkorDB's recall@10 is 0.978 against exact search on 6,000 random
    vectors"""
    queue_url: str | None = setting(None, unset="none: every build runs on this machine")
    """a Redis-protocol server whose streams hold the build's jobs (`redis://[:password@]host:
    port[/db]`, also `rediss://`; the `redis-server` of a FalkorDB deployment will do): the
    builder enqueues the chunks' extraction and embedding, `graphready worker` processes on
    any machine do them, and the builder does the rest (see "Many machines"). Needs
    `GRAPHREADY_GRAPH_URL` and `GRAPHREADY_VECTOR_URL` (the workers write there); a queue
    that does not answer stops start-up naming this setting"""
    catalog_url: str | None = setting(None, unset="this data dir's own SQLite file")
    """keep the catalog and the uploaded documents on a Redis-protocol server
    (`redis://host:port[/db]`), shared by every server of the deployment (see "Many machines")"""
    queue_lease_s: int = setting(60, low=1, high=86_400)
    """seconds a job a worker took stays its own without renewal (a worker renews it every
    third of that while it works): the job of a worker that was killed or lost is taken by
    another worker that long after its last renewal; also how long a question of a server that
    died holds the build's model calls back (see "Many machines")"""
    queue_batch: int = setting(64, low=1, high=10_000)
    """chunks in one job"""
    queue_max_deliveries: int = setting(3, low=1, high=100)
    """times a job is handed to a worker before it is failed (with the last error of a try),
    never handed out for ever; a failed job fails the build stage"""
    fail_stage: Stage | None = setting(None)
    """for tests: make the `documents`, `vectors` or `graph` stage fail"""
    kill_at: str | None = setting(None)
    """for tests: SIGKILL the build worker at a point of the build (`documents`, `vectors`,
    `graph.extract`, `graph.assemble`, `graph.communities`, `graph.summaries`,
    `graph.publish`, `graph.done`), or with `:server` the server that started it; once per
    data dir (see "Faults")"""
    log_level: LogLevel = setting("info")
    """`debug`, `info`, `warning` or `error`"""
    llm_base_url: str | None = setting(
        None, unset="offline: extractive answers, spaCy extraction, extractive reports")
    """an OpenAI-compatible chat API, e.g. `https://api.openai.com/v1`,
    `http://localhost:11434/v1` (Ollama), `http://localhost:8000/v1` (vLLM, llama.cpp): used
    for extraction, community reports, answers and the agent (see "Language models")"""
    llm_model: str | None = setting(None, unset="required with the base URL")
    """the model name the server knows"""
    llm_api_key: str | None = setting(None, secret=True)
    """the API key, if the server wants one (never logged or shown in `/status`)"""
    llm_timeout_s: int = setting(60, low=1, high=3600)
    """seconds one LLM request may take; then it is retried, then the answer degrades"""
    llm_retries: int = setting(2, low=0, high=10)
    """retries, with exponential backoff, after a connection error, a timeout, 408/409/429
    or 5xx"""
    llm_concurrency: int = setting(4, low=1, high=256)
    """most of a server's question calls (answers, the agent's rounds) in flight at once"""
    llm_build_concurrency: int = setting(1, low=1, high=256)
    """most of the graph build's LLM calls (extraction, community reports) in flight at
    once; they are also held back, and those in flight preempted, while any question is
    being answered (see "Questions come first")"""
    llm_answer_deadline_s: int = setting(30, low=1, high=3600)
    """seconds from a question's start by which the model must begin writing its answer;
    past it the answer is the extractive one, flagged `degraded`, with a note saying why
    (streamed answers say so in their first event). The agent stops choosing tools once half
    of it is gone"""
    llm_max_tokens: int = setting(1000, low=16)
    """most tokens of one reply: a generated answer, one chunk's extraction (JSON with
    descriptions: dense chunks need several hundred) or one community report"""
    llm_max_steps: int = setting(4, low=1, high=20)
    """most tool-choosing rounds of the agent before it must answer"""
    llm_tool_calling: ToolCalling = setting("auto")
    """`auto`: offer the retrieval tools by function calling (a server that refuses `tools`
    is remembered, and gets the fixed plan); `off`: always the fixed retrieval plan"""
    llm_graph: OnOff = setting("on")
    """with a language model configured: `on` has it extract entities and relations and
    write the community reports; `off` keeps the offline graph build (spaCy, extractive
    reports) and uses the model for answers only"""
    embed_base_url: str | None = setting(None, unset="the packaged MiniLM")
    """an OpenAI-compatible `/v1/embeddings` API for the chunk and question vectors, instead
    of `GRAPHREADY_EMBEDDER`"""
    embed_model: str | None = setting(None, unset="required with the base URL")
    """the embedding model's name"""
    embed_api_key: str | None = setting(None, secret=True)
    """its API key, if needed"""
    rerank_url: str | None = setting(None, unset="no reranker: the fused order stands")
    """a reranker that speaks Cohere's and Jina's rerank API, as its whole URL:
    `https://api.cohere.com/v2/rerank`, `https://api.jina.ai/v1/rerank`,
    `http://localhost:8080/v1/rerank` (llama.cpp, vLLM), `http://localhost:8080/rerank`
    (TEI). It reorders the fused candidates of every passage search; when it fails, times out
    or answers nonsense, the fused order stands and `/status` says why (see "Rerankers")"""
    rerank_model: str | None = setting(None, unset="none sent: the server's own model")
    """the reranker's model name (Cohere, Jina and vLLM need one)"""
    rerank_api_key: str | None = setting(None, secret=True)
    """the reranker's API key, sent as `Authorization: Bearer KEY`"""
    rerank_candidates: int = setting(20, low=1, high=200)
    """fused passages the reranker scores for each search (a request's `top_k`, when larger);
    the best `top_k` of them are kept"""
    rerank_timeout_ms: int = setting(2000, low=50, high=120_000)
    """milliseconds the reranker may take; then the fused order stands"""
    rerank_min_score: float | None = setting(None, unset="none: every passage is kept")
    """passages the reranker scores below this are dropped, and when none is left the answer
    is that the documents don't say (`found: false`); the scale is the server's (0 to 1 from
    Cohere, Jina and TEI; llama.cpp sends raw scores)"""
    api_key: str | None = setting(None, unset="no keys: open, on loopback only", secret=True)
    """full API keys, comma-separated (several, to rotate them; 16 characters at least):
    clients send `Authorization: Bearer KEY`. Never logged or shown in `/status` (see
    "Documents over HTTP, and API keys")"""
    read_only_api_key: str | None = setting(None, secret=True)
    """read-only keys, comma-separated: chat, `/status`, reading documents and the graph;
    not adding or deleting documents, not `POST /build` (403). Needs `GRAPHREADY_API_KEY`
    too"""
    keys_file: Path | None = setting(None, unset="no keys file", flags=("serve",))
    """a file of API keys that each belong to workspaces, one a line: `LABEL KEY ROLE
    WORKSPACES`, ROLE `read`, `write` or `admin`, WORKSPACES `*` or names, comma-separated
    (see "Workspaces"). Read again on SIGHUP and when it changes; a line that cannot be used
    stops start-up naming the line (a reload keeps the keys before it). May be combined with
    `GRAPHREADY_API_KEY` (admin on every workspace) and `GRAPHREADY_READ_ONLY_API_KEY`"""
    allow_no_api_key: OnOff = setting("off", flags=("serve",))
    """serve on a non-loopback address without any key (else such a server refuses to start,
    naming `GRAPHREADY_API_KEY`)"""
    allowed_hosts: str | None = setting(
        None, unset="loopback names, IP addresses, the bound address and this machine's host name")
    """more host names the server answers to in the `Host` header, comma-separated:
    `wiki.example.com`, `*.example.com` (any name under it) or `*` (any name: turns off the
    protection against DNS rebinding, so a web page of another site could read and, without
    keys, change what the server holds). Another name gets 400 `host_not_allowed` naming
    this setting (`/health` answers any name)"""
    cors_origins: str | None = setting(None, unset="no other origin")
    """origins of browser apps served elsewhere that may call the API, comma-separated
    `scheme://host[:port]` (no wildcard): their preflights are answered and their responses
    carry `Access-Control-Allow-Origin`. A write (`POST`, `DELETE`) from a page of any other
    origin gets 403 `cross_origin`"""
    max_upload_bytes: int = setting(10_485_760, low=1024)
    """the largest `POST /documents` body, files or JSON (413 above)"""
    max_upload_files: int = setting(20, low=1, high=1000)
    """the most files in one `POST /documents` (422 above)"""
    parse_cpu_s: int = setting(30, low=1, high=3600)
    """CPU seconds that reading one file may take (an upload, or a file of the documents
    stage: its whole parse, PDF clean-up and DOCX tree included); each file is read in a
    child process that the kernel stops when its budget runs out: an upload gets 422 with
    the reason, the documents stage skips the file with the reason in `/status`"""
    parse_memory_mb: int = setting(1024, low=128, high=1_048_576)
    """MiB of address space the child process that reads files may hold (128 at least): a
    file that needs more is refused or skipped with the reason, as above"""
    watch: OnOff = setting("off", flags=("serve",))
    """build when a file is added, changed or removed under the documents folder, as `POST
    /build` would (changes are batched; `watchfiles`)"""
    workspace_folders: Path | None = setting(
        None, unset="none: a workspace made over HTTP takes documents over HTTP only")
    """the folder under which the folders of workspaces made over HTTP (`POST /workspaces`
    with `folder`) must lie: an admin key can make the server read only what is under it"""
    workspace_idle_s: int = setting(600, low=1, high=604_800)
    """seconds a workspace other than the default one stays loaded without a request (and
    without a build running); then its indexes are unloaded until its next request (see
    "Workspaces")"""
    workspace_memory_mb: int = setting(1024, low=1, high=1_048_576)
    """MiB that the loaded workspaces (other than the default one) may hold, by estimate
    (what the server's resident set grew by while each loaded); past it the least recently
    used idle ones are unloaded"""
    workers: int = setting(1, low=1, high=64, flags=("serve",))
    """server processes sharing the port and the data dir: one builds, the others load what
    it built; all answer (see "Every core answers")"""

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


SETTINGS: tuple[SettingSpec, ...] = specs(Settings)
"""Every declared setting, in the order of the settings page."""
_BY_NAME = {spec.name: spec for spec in SETTINGS}


def _validate(s: Settings) -> None:
    for spec in SETTINGS:
        spec.check(getattr(s, spec.name))
    if s.max_top_k < s.default_top_k:
        raise ConfigError(env_name("max_top_k"), f"must be >= {s.default_top_k}, "
                          f"got {s.max_top_k}")
    check_api_keys(s)
    check_origins(s)
    if s.kill_at is not None:
        point, _, victim = s.kill_at.partition(":")
        if point not in KILL_POINTS or victim not in ("", *KILL_VICTIMS):
            raise ConfigError(env_name("kill_at"), f"expected POINT or POINT:server with a "
                              f"POINT of {', '.join(KILL_POINTS)}; got {s.kill_at!r}")
    check_queue(s)
    check_endpoint("llm", s.llm_base_url, s.llm_model)
    check_endpoint("embed", s.embed_base_url, s.embed_model)
    check_rerank(s)
    if s.docs_dir is not None and not s.docs_dir.is_dir():
        raise ConfigError(env_name("docs_dir"), f"{s.docs_dir} is not a folder")


def embedder_named(name: str) -> EmbedderName:
    """``name`` as one of :data:`EMBEDDERS`; a ``ConfigError`` naming ``GRAPHREADY_EMBEDDER``
    (and the choices) when it is none of them."""
    for known in EMBEDDERS:
        if known == name:
            return known
    raise ConfigError(env_name("embedder"), f"unknown embedder {name!r}; "
                      f"choose one of {', '.join(EMBEDDERS)}")


def load_settings(env: Mapping[str, str], **overrides: Any) -> Settings:
    """Build settings from ``env`` (only ``GRAPHREADY_*`` keys are read; an unknown one is an
    error) and ``overrides`` (command-line flags; ``None`` means not given)."""
    values: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        spec = _BY_NAME.get(key[len(ENV_PREFIX):].lower())
        if spec is None:
            raise ConfigError(key, "unknown setting (see docs/settings.md)")
        values[spec.name] = spec.coerce(raw if raw != "" else None)
    for name, raw in overrides.items():
        if name not in _BY_NAME:
            raise ConfigError(name, "unknown setting")
        if raw is not None:
            values[name] = _BY_NAME[name].coerce(raw)
    if values.get("data_dir") is None:
        raise ConfigError(env_name("data_dir"), "is required (--data-dir)")
    values = {k: v for k, v in values.items() if v is not None or _BY_NAME[k].optional}
    settings = Settings(**values)
    _validate(settings)
    return settings


def ensure_data_dir(settings: Settings) -> None:
    """Create the data directory if needed; a ``ConfigError`` naming the setting if it cannot
    be created or written."""
    try:
        settings.db_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(env_name("data_dir"),
                          f"cannot create {settings.db_dir}: {exc.strerror or exc}") from None
    if not os.access(settings.db_dir, os.W_OK):
        raise ConfigError(env_name("data_dir"), f"{settings.db_dir} is not writable")


def settings_to_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce ``settings`` (to start a build worker)."""
    out: dict[str, str] = {}
    for spec in SETTINGS:
        value = getattr(settings, spec.name)
        if value is not None:
            out[spec.env] = str(value)
    return out
