"""Which providers offer embeddings, and through which wire format.

Anthropic has no embeddings endpoint (it points its users to Voyage AI),
and the offline ``mock`` provider answers chat only: neither is listed.
Groq and xAI speak the OpenAI format but list no embedding model today, so
they have no default model (:data:`~exllm_py.providers.registry.DEFAULT_EMBEDDING_MODELS`):
a call to them names one.
"""

from __future__ import annotations

from collections.abc import Mapping

from exllm_py.providers.embeddings.adapter import EmbeddingAdapter
from exllm_py.providers.embeddings.gemini import GeminiEmbeddings
from exllm_py.providers.embeddings.openai import OpenAIEmbeddings

__all__ = ["EMBEDDING_ADAPTERS", "embedding_adapter"]

_openai = OpenAIEmbeddings()

#: Provider name → the adapter of its embeddings endpoint.
EMBEDDING_ADAPTERS: Mapping[str, EmbeddingAdapter] = {
    "gemini": GeminiEmbeddings(),
    "groq": _openai,
    "lmstudio": _openai,
    "mistral": _openai,
    "ollama": _openai,
    "openai": _openai,
    "openrouter": _openai,
    "xai": _openai,
}


def embedding_adapter(provider: str) -> EmbeddingAdapter | None:
    """The adapter for ``provider``'s embeddings endpoint, ``None`` if it has none."""
    return EMBEDDING_ADAPTERS.get(provider)
