"""The language model the settings configure: the OpenAI-compatible client behind the response
cache, or none (the offline default)."""

from __future__ import annotations

import urllib.error
import urllib.request

from graphready.config import Settings
from graphready.redact import redact, redact_url
from graphready.settings_spec import env_name

from .cache import CACHE_FILE, CachedChatModel, LLMCache
from .gate import ModelGate
from .protocol import LLMStats


def model_gate(settings: Settings) -> ModelGate:
    """A queue for one process's calls to the configured model (``GRAPHREADY_LLM_CONCURRENCY``
    interactive, ``GRAPHREADY_LLM_BUILD_CONCURRENCY`` build calls in flight at most); with a
    queue (``GRAPHREADY_QUEUE_URL``) and a model, its questions are shared on the queue's
    server and every process's hold this one's build calls back (``shared_gate.py``; close the
    gate when done)."""
    board = None
    if settings.queue_url is not None and settings.llm_base_url is not None \
            and settings.llm_model is not None:
        from .shared_gate import SharedQuestions, model_scope

        board = SharedQuestions(settings.queue_url,
                                model_scope(settings.llm_base_url, settings.llm_model),
                                settings.queue_lease_s)
    return ModelGate(settings.llm_concurrency, settings.llm_build_concurrency, board=board)


def open_chat_model(settings: Settings, gate: ModelGate | None = None) -> CachedChatModel | None:
    """The configured chat model with its cache in the data directory, or None when
    ``GRAPHREADY_LLM_BASE_URL`` is unset; its calls go through ``gate`` (a new one if not
    given, closed with the model). Nothing is sent until it is used."""
    if settings.llm_base_url is None or settings.llm_model is None:
        return None
    from .openai_client import OpenAIChatModel

    stats = LLMStats()
    own = model_gate(settings) if gate is None else None
    client = OpenAIChatModel(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                             timeout_s=settings.llm_timeout_s, retries=settings.llm_retries,
                             stats=stats, gate=own if own is not None else gate)

    def close() -> None:
        client.close()
        if own is not None:
            own.close()

    return CachedChatModel(client, LLMCache(settings.db_dir / CACHE_FILE), stats,
                           on_close=close)


def probe_llm(settings: Settings, timeout_s: float = 5.0) -> str | None:
    """None when the configured LLM server answers HTTP at all (``GET {base}/models``; any
    status counts: it is up), else why not. Never cached, unlike completions."""
    if settings.llm_base_url is None:
        return "no LLM is configured"
    url = settings.llm_base_url.rstrip("/") + "/models"
    request = urllib.request.Request(url, headers={"Authorization": "Bearer "
                                                   + (settings.llm_api_key or "not-needed")})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            return None
    except urllib.error.HTTPError:
        return None
    except (OSError, ValueError) as exc:
        reason = redact(str(exc), [settings.llm_base_url])
        return f"{env_name('llm_base_url')}: cannot reach {redact_url(url)}: {reason}"
