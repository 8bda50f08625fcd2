"""The language model the settings configure: the OpenAI-compatible client behind the response
cache, or none (the offline default)."""

from __future__ import annotations

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
