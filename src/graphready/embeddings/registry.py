"""Which embedder a name (``GRAPHREADY_EMBEDDER``) means. Implementations are imported only when
chosen, so importing this module never loads onnxruntime."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from graphready.config import EmbedderName, Settings, embedder_named
from graphready.embeddings.base import Embedder

EmbedderFactory = Callable[[Settings, bool], Embedder]
"""Makes an embedder from the settings; the flag says it embeds questions only (one at a time,
in a server process: memory counts more than batch speed)."""


def _minilm(settings: Settings, questions_only: bool) -> Embedder:
    from graphready.embeddings.minilm import MiniLMEmbedder

    return MiniLMEmbedder(threads=settings.embed_threads, batch_size=settings.embed_batch,
                          lean=questions_only,
                          idle_threads=0 if questions_only else settings.embed_idle_threads)


def _hashing(settings: Settings, questions_only: bool) -> Embedder:
    from graphready.embeddings.hashing import HashingEmbedder

    return HashingEmbedder()


FACTORIES: Mapping[EmbedderName, EmbedderFactory] = MappingProxyType(
    {"minilm": _minilm, "hashing": _hashing}
)
"""The factory of each of ``config.EMBEDDERS`` (a test checks that each has one)."""


def create_embedder(settings: Settings, *, questions_only: bool = False) -> Embedder:
    """The embedding server ``GRAPHREADY_EMBED_BASE_URL`` names, else the embedder
    ``settings.embedder`` names; an unknown name raises ``ConfigError``. ``questions_only``:
    for a process that embeds questions, not passages (the lean MiniLM session)."""
    if settings.embed_base_url is not None and settings.embed_model is not None:
        from graphready.embeddings.remote import RemoteEmbedder

        return RemoteEmbedder(settings.embed_base_url, settings.embed_model,
                              settings.embed_api_key, timeout_s=settings.llm_timeout_s,
                              retries=settings.llm_retries, batch_size=settings.embed_batch)
    return FACTORIES[embedder_named(settings.embedder)](settings, questions_only)
