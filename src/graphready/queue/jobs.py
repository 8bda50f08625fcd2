"""A job's content: its id, the deployment it belongs to, the stores it writes to, and its JSON.

A deployment is known by the servers of its shared stores, as ``GRAPHREADY_GRAPH_URL`` and
``GRAPHREADY_VECTOR_URL`` name them (scheme, host and port; never credentials). A job names the
stores it writes to by their URLs without credentials; a worker writes to a store of its own
deployment only, with its own credentials (:func:`store_url`), so a workspace's job (other
store names on the same servers) is done by the same workers, and a job of another deployment
that reached this queue by mistake is refused, never applied.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from graphready.config import Settings
from graphready.documents.types import Chunk
from graphready.errors import ConfigError
from graphready.settings_spec import env_name
from graphready.stores.registry import GraphUrl, parse_graph_url

from .base import JOB_STAGES, Job, JobStage

_SETTINGS = {"graph": "graph_url", "vectors": "vector_url"}


def _parsed(settings: Settings, kind: str) -> tuple[str, GraphUrl]:
    name = _SETTINGS[kind]
    url = getattr(settings, name)
    if url is None:
        raise ConfigError(env_name("queue_url"), f"needs {env_name(name)}: the workers write "
                          "to shared stores")
    return url, parse_graph_url(url, env_name(name))


def _server(where: GraphUrl) -> str:
    host = f"[{where.host}]" if ":" in where.host else where.host
    return f"{where.scheme}://{host.lower()}:{where.port}"


def store_name(settings: Settings, kind: str) -> str:
    """The store of ``kind`` (``graph``, ``vectors``) as a job names it: its URL without
    credentials (server, graph or database, and a Neo4j namespace)."""
    _, where = _parsed(settings, kind)
    query = f"?namespace={where.namespace}" if where.namespace else ""
    return f"{_server(where)}/{where.graph}{query}"


def deployment_of(settings: Settings) -> str:
    """The deployment ``settings`` belong to: the servers of the graph and vector stores."""
    return " ".join(_server(_parsed(settings, kind)[1]) for kind in ("graph", "vectors"))


def store_url(settings: Settings, kind: str, name: str) -> str:
    """The URL this process opens the store a job names with: its own URL of that server
    (credentials included) with the job's store name and namespace; a ``ValueError`` when the
    job's store is on another server."""
    own, where = _parsed(settings, kind)
    target = urlsplit(name)
    wanted = parse_graph_url(name, env_name(_SETTINGS[kind]))
    if _server(wanted) != _server(where):
        raise ValueError(f"the job's {kind} store is on {_server(wanted)}, not on this "
                         f"worker's {_server(where)}")
    return urlunsplit(urlsplit(own.strip())._replace(path=target.path, query=target.query))


def job_id(stage: JobStage, graph: str, vectors: str, producer: str,
           chunks: tuple[Chunk, ...]) -> str:
    """A job's id: a hash of its stage, stores, producer and chunks (ids, which are content
    hashes, and texts), so the same work enqueued twice has one id, and a job whose content
    was changed on the way is noticed."""
    key = json.dumps([stage, graph, vectors, producer,
                      [[c.id, c.doc_id, c.ordinal, c.title, c.text, c.page] for c in chunks]])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def make_job(stage: JobStage, run: str, settings: Settings, producer: str,
             chunks: tuple[Chunk, ...]) -> Job:
    """A job of ``settings``' deployment, for its stores."""
    graph, vectors = store_name(settings, "graph"), store_name(settings, "vectors")
    return Job(stage, run, deployment_of(settings), graph, vectors, producer, chunks,
               job_id(stage, graph, vectors, producer, chunks))


def encode_job(job: Job) -> str:
    """A job as JSON."""
    return json.dumps({
        "id": job.id, "stage": job.stage, "run": job.run, "deployment": job.deployment,
        "graph": job.graph, "vectors": job.vectors, "producer": job.producer,
        "chunks": [[c.id, c.doc_id, c.ordinal, c.title, c.text, c.page] for c in job.chunks],
    }, ensure_ascii=False, separators=(",", ":"))


def decode_job(text: str | bytes) -> Job:
    """A job from its JSON; a ``ValueError`` saying what is wrong with it."""
    data: Any = json.loads(text)  # a JSONDecodeError is a ValueError
    if not isinstance(data, dict):
        raise ValueError("a job is a JSON object")
    stage = next((s for s in JOB_STAGES if s == data.get("stage")), None)
    if stage is None:
        raise ValueError(f"unknown job stage {data.get('stage')!r}")
    keys = ("id", "run", "deployment", "graph", "vectors", "producer")
    texts = {key: data[key] for key in keys if isinstance(data.get(key), str)}
    if len(texts) < len(keys) or not isinstance(data.get("chunks"), list):
        raise ValueError(f"a job needs the text fields {', '.join(keys)} and a list of chunks")
    chunks = tuple(_chunk(row) for row in data["chunks"])
    job = Job(stage, texts["run"], texts["deployment"], texts["graph"], texts["vectors"],
              texts["producer"], chunks)
    if job_id(stage, job.graph, job.vectors, job.producer, chunks) != texts["id"]:
        raise ValueError("the job's id is not the hash of its content")
    return replace(job, id=texts["id"])


def _chunk(row: Any) -> Chunk:
    if not (isinstance(row, list) and len(row) == 6 and all(isinstance(v, str) for v in (
            row[0], row[1], row[3], row[4])) and type(row[2]) is int
            and (row[5] is None or type(row[5]) is int)):
        raise ValueError("a job's chunk is [id, doc_id, ordinal, title, text, page]")
    return Chunk(row[0], row[1], row[2], row[3], row[4], row[5])
