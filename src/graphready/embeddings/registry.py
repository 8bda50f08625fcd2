"""Which embedder a name (``GRAPHREADY_EMBEDDER``) means. Implementations are imported only when
chosen, so importing this module never loads onnxruntime."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from graphready.config import Settings
from graphready.embeddings.base import Embedder
from graphready.errors import ConfigError

EmbedderFactory = Callable[[Settings], Embedder]


def _minilm(settings: Settings) -> Embedder:
    from graphready.embeddings.minilm import MiniLMEmbedder

    return MiniLMEmbedder(threads=settings.embed_threads, batch_size=settings.embed_batch)


def _hashing(settings: Settings) -> Embedder:
    from graphready.embeddings.hashing import HashingEmbedder

    return HashingEmbedder()


FACTORIES: Mapping[str, EmbedderFactory] = MappingProxyType(
    {"minilm": _minilm, "hashing": _hashing}
)


def create_embedder(settings: Settings) -> Embedder:
    """The embedding server ``GRAPHREADY_EMBED_BASE_URL`` names, else the embedder
    ``settings.embedder`` names; an unknown name raises ``ConfigError``."""
    if settings.embed_base_url is not None and settings.embed_model is not None:
        from graphready.embeddings.remote import RemoteEmbedder

        return RemoteEmbedder(settings.embed_base_url, settings.embed_model,
                              settings.embed_api_key, timeout_s=settings.llm_timeout_s,
                              retries=settings.llm_retries, batch_size=settings.embed_batch)
    factory = FACTORIES.get(settings.embedder)
    if factory is None:
        raise ConfigError(
            "GRAPHREADY_EMBEDDER",
            f"unknown embedder {settings.embedder!r}; choose one of {', '.join(FACTORIES)}",
        )
    return factory(settings)
