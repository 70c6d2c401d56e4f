"""The OpenAI embeddings wire format: ``POST {base_url}/embeddings``.

Documented at https://platform.openai.com/docs/api-reference/embeddings:
the body is ``{"model": ..., "input": [texts...]}`` (plus ``dimensions``
for models that can shorten their vectors); the answer is
``{"data": [{"embedding": [...], "index": i}, ...], "model": ...,
"usage": {"prompt_tokens": n, "total_tokens": n}}``. OpenRouter, Ollama
(``/v1/embeddings``), LM Studio, Groq and xAI take the same body; Mistral
too (https://docs.mistral.ai/api/endpoint/embeddings), but names the
shortened length ``output_dimension``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.embeddings.adapter import EmbedRequest
from exllm_py.providers.embeddings.response import embedding_response, read_vectors
from exllm_py.providers.wire import json_request, unexpected_body
from exllm_py.types import LLMResponse, Usage

__all__ = ["OpenAIEmbeddings"]

# The field for ``dimensions``, where a provider names it otherwise.
_DIMENSIONS_FIELD = {"mistral": "output_dimension"}


class OpenAIEmbeddings:
    """``/embeddings``: bearer auth, every text in one ``input`` list."""

    __slots__ = ()

    #: OpenAI's limit on inputs per request.
    max_batch = 2048

    def build_request(self, request: EmbedRequest, config: ProviderConfig) -> httpx.Request:
        body: dict[str, Any] = {"model": request.model, "input": list(request.texts)}
        if request.dimensions is not None:
            body[_DIMENSIONS_FIELD.get(config.name, "dimensions")] = request.dimensions
        headers = {"authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        return json_request(f"{config.base_url.rstrip('/')}/embeddings", body, headers)

    def parse_response(self, body: Any, config: ProviderConfig, count: int) -> LLMResponse:
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
            raise unexpected_body(config.name, body, "a 'data' list of embedding objects")
        # Each item says which input it embeds; the list is in that order in
        # practice, but the index is what the format promises.
        ordered = sorted(data, key=lambda item: _index(item, config, body))
        vectors = read_vectors(
            config.name, body, [item.get("embedding") for item in ordered], count
        )
        return embedding_response(
            vectors,
            model=str(body.get("model") or ""),
            provider=config.name,
            usage=_usage(body.get("usage")),
        )


def _index(item: Mapping[str, Any], config: ProviderConfig, body: Any) -> int:
    index = item.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int):
        raise unexpected_body(config.name, body, "an integer 'index' on each embedding")
    return index


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    prompt = int(usage.get("prompt_tokens") or 0)
    return Usage(input_tokens=prompt, total_tokens=int(usage.get("total_tokens") or prompt))
