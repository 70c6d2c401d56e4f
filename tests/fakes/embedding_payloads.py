"""Embedding payloads as the providers send them, with stand-in vectors.

- OpenAI-compatible ``POST /embeddings`` (OpenAI, Mistral, OpenRouter,
  Ollama's ``/v1``, LM Studio): :func:`openai_embeddings`, the shape of
  https://platform.openai.com/docs/api-reference/embeddings/object
  (``object``, ``data[].embedding`` / ``index``, ``model``, ``usage``).
- Gemini ``batchEmbedContents``: :func:`gemini_embeddings`, the
  ``BatchEmbedContentsResponse`` of https://ai.google.dev/api/embeddings
  (``embeddings[].values``, in request order).

:func:`stand_in_vector` makes the vectors: derived from the text, so the
same text always gets the same vector and different texts different ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

__all__ = ["gemini_embeddings", "openai_embeddings", "stand_in_vector"]

#: The length of a stand-in vector when the request asks for none.
DEFAULT_DIMENSIONS = 8


def stand_in_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """A vector of ``dimensions`` floats in [-0.5, 0.5], a function of ``text`` only."""
    digest = hashlib.shake_256(text.encode()).digest(dimensions)
    return [round(byte / 255 - 0.5, 6) for byte in digest]


def openai_embeddings(
    texts: Sequence[str],
    *,
    model: str = "text-embedding-3-small",
    dimensions: int = DEFAULT_DIMENSIONS,
) -> dict[str, Any]:
    """A ``list`` of ``embedding`` objects, one per text, with word-count usage."""
    tokens = sum(len(text.split()) for text in texts)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": stand_in_vector(text, dimensions)}
            for index, text in enumerate(texts)
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def gemini_embeddings(
    texts: Sequence[str], *, dimensions: int = DEFAULT_DIMENSIONS
) -> dict[str, Any]:
    """A ``BatchEmbedContentsResponse``: one ``ContentEmbedding`` per text, in order."""
    return {"embeddings": [{"values": stand_in_vector(text, dimensions)} for text in texts]}
