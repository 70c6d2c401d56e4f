"""Embeddings as the pipeline and the cache carry them: a response whose ``raw`` is the vectors.

Reusing the response type keeps every cache store, the single-flight, the
telemetry and the invalidation exactly as they are for chat: an embedding
entry is one more entry. What marks it apart:

- ``raw`` is the list of vectors, one list of floats per text, in order
  (frozen, like any cached ``raw``, while it sits in the cache);
- ``content`` is a one-line summary such as ``"2 embeddings of 1536
  dimensions"``, so listings show what the entry holds, and the cache's rule
  that an empty answer is never stored applies unchanged;
- ``metadata["operation"]`` is ``"embed"``.

Its key can never equal a chat key: :mod:`exllm_py.pipeline.embed_lookup`
puts an ``"embed"`` marker into the document it hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exllm_py.cache.arguments import is_number
from exllm_py.providers.wire import unexpected_body
from exllm_py.types import LLMResponse, Usage

__all__ = ["EMBED_OPERATION", "embedding_response", "read_vectors", "vectors_of"]

#: ``metadata["operation"]`` of an embedding response.
EMBED_OPERATION = "embed"


def embedding_response(
    vectors: list[list[float]],
    *,
    model: str,
    provider: str,
    usage: Usage,
    id: str | None = None,
) -> LLMResponse:
    """The response carrying ``vectors`` (at least one, all of one length)."""
    noun = "embedding" if len(vectors) == 1 else "embeddings"
    return LLMResponse(
        content=f"{len(vectors)} {noun} of {len(vectors[0])} dimensions",
        model=model,
        provider=provider,
        id=id,
        usage=usage,
        metadata={"from_cache": False, "operation": EMBED_OPERATION},
        raw=vectors,
    )


def vectors_of(response: LLMResponse) -> list[list[float]]:
    """The vectors of an embedding response, as fresh lists the caller may edit."""
    return [list(vector) for vector in response.raw]


def read_vectors(provider: str, body: Any, values: Sequence[Any], count: int) -> list[list[float]]:
    """``values`` as ``count`` vectors of floats, all of one length; else the error to raise.

    ``body`` is the whole answer, for the error's message.
    """
    if len(values) != count:
        raise unexpected_body(provider, body, f"{count} vectors, one per text (got {len(values)})")
    vectors = [_vector(provider, body, value) for value in values]
    if len({len(vector) for vector in vectors}) > 1:
        raise unexpected_body(provider, body, "vectors all of one length")
    return vectors


def _vector(provider: str, body: Any, value: Any) -> list[float]:
    # A vector the cache would store must be one: a string (base64) or a
    # list holding anything but numbers is refused here, not at the caller's.
    if not isinstance(value, list) or not value or not all(map(is_number, value)):
        raise unexpected_body(provider, body, "each vector a non-empty list of numbers")
    return [float(number) for number in value]
