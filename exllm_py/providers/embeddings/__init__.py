"""Embedding endpoints: one module per wire format, and which provider speaks which.

``adapter`` holds the :class:`EmbeddingAdapter` protocol and the request it
builds from; ``openai`` the OpenAI-compatible ``POST /embeddings`` (OpenAI,
Mistral, OpenRouter, Ollama, LM Studio, and Groq and xAI for a model named
by the caller); ``gemini`` Gemini's ``batchEmbedContents``; ``catalog`` maps
provider names to them; ``response`` is how vectors travel through the
pipeline and the cache (an :class:`~exllm_py.types.LLMResponse` whose
``raw`` is the vectors).

Like the chat adapters, these are sans-I/O: the pipeline sends the request
(:mod:`exllm_py.pipeline.embed`).
"""

from exllm_py.providers.embeddings.adapter import EmbeddingAdapter, EmbedRequest
from exllm_py.providers.embeddings.catalog import EMBEDDING_ADAPTERS, embedding_adapter
from exllm_py.providers.embeddings.response import embedding_response, vectors_of

__all__ = [
    "EMBEDDING_ADAPTERS",
    "EmbedRequest",
    "EmbeddingAdapter",
    "embedding_adapter",
    "embedding_response",
    "vectors_of",
]
