"""``embed`` / ``aembed``: one vector per text, from a provider's embeddings endpoint.

The module-level functions use the default client, as ``chat`` does; the
work is :class:`~exllm_py.pipeline.embed.EmbedPipeline`'s::

    vectors = exllm_py.embed("openai", ["first text", "second text"])
    len(vectors) == 2

``model`` defaults to the provider's default embedding model
(:data:`~exllm_py.providers.registry.DEFAULT_EMBEDDING_MODELS`);
``dimensions`` asks for shorter vectors where the model can make them; the
transport options (``api_key``, ``base_url``, ``timeout``, ``max_retries``)
and the cache controls (``cache``, ``cache_ttl``, ``cache_key``,
``cache_namespace``, ``cache_tags``) work as for ``chat()``. All texts go
in one request, and are cached as one entry: the same list asked again is
served from the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exllm_py.client import default_client

__all__ = ["aembed", "embed"]


def embed(provider: str, texts: Sequence[str], **options: Any) -> list[list[float]]:
    """One vector per text, in order, through the default client."""
    return default_client().embed(provider, texts, **options)


async def aembed(provider: str, texts: Sequence[str], **options: Any) -> list[list[float]]:
    """Async twin of :func:`embed`."""
    return await default_client().aembed(provider, texts, **options)
