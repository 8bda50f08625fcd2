"""The language model the settings configure: the OpenAI-compatible client behind the response
cache, or none (the offline default)."""

from __future__ import annotations

import urllib.error
import urllib.request

from graphready.config import Settings

from .cache import CACHE_FILE, CachedChatModel, LLMCache
from .protocol import LLMStats


def open_chat_model(settings: Settings) -> CachedChatModel | None:
    """The configured chat model with its cache in the data directory, or None when
    ``GRAPHREADY_LLM_BASE_URL`` is unset. Nothing is sent until it is used."""
    if settings.llm_base_url is None or settings.llm_model is None:
        return None
    from .openai_client import OpenAIChatModel

    stats = LLMStats()
    client = OpenAIChatModel(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                             timeout_s=settings.llm_timeout_s, retries=settings.llm_retries,
                             concurrency=settings.llm_concurrency, stats=stats)
    return CachedChatModel(client, LLMCache(settings.db_dir / CACHE_FILE), stats,
                           on_close=client.close)


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
        return f"GRAPHREADY_LLM_BASE_URL: cannot reach {url}: {exc}"
