"""The Gemini embeddings wire format: ``POST {base_url}/models/{model}:batchEmbedContents``.

Documented at https://ai.google.dev/api/embeddings: the body is
``{"requests": [{"model": "models/{model}", "content": {"parts": [{"text":
...}]}, "outputDimensionality": n}, ...]}``, one request per text; the
answer is ``{"embeddings": [{"values": [...]}, ...]}`` in the same order.
Every call uses the batch method, one text or many: ``embedContent``
costs the same per token, and one method means one request shape to
record, replay and cache. The API key travels in ``x-goog-api-key``, never
in the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.embeddings.adapter import EmbedRequest
from exllm_py.providers.embeddings.response import embedding_response, read_vectors
from exllm_py.providers.wire import json_request, unexpected_body
from exllm_py.types import LLMResponse, Usage

__all__ = ["GeminiEmbeddings"]


class GeminiEmbeddings:
    """``batchEmbedContents``: one embed request per text, ``x-goog-api-key`` auth."""

    __slots__ = ()

    #: The Gemini API's limit on requests per batch.
    max_batch = 100

    def build_request(self, request: EmbedRequest, config: ProviderConfig) -> httpx.Request:
        model = _model_name(request.model)
        one: dict[str, Any] = {"model": model}
        if request.dimensions is not None:
            one["outputDimensionality"] = request.dimensions
        body = {
            "requests": [{**one, "content": {"parts": [{"text": text}]}} for text in request.texts]
        }
        headers = {"x-goog-api-key": config.api_key} if config.api_key else {}
        url = f"{config.base_url.rstrip('/')}/{quote(model, safe='-._~/')}:batchEmbedContents"
        return json_request(url, body, headers)

    def parse_response(self, body: Any, config: ProviderConfig, count: int) -> LLMResponse:
        embeddings = body.get("embeddings") if isinstance(body, Mapping) else None
        if not isinstance(embeddings, list) or not all(
            isinstance(item, Mapping) for item in embeddings
        ):
            raise unexpected_body(config.name, body, "an 'embeddings' list of objects")
        vectors = read_vectors(
            config.name, body, [item.get("values") for item in embeddings], count
        )
        # The answer names no model: the pipeline fills in the one asked for.
        return embedding_response(
            vectors, model="", provider=config.name, usage=_usage(body.get("usageMetadata"))
        )


def _model_name(model: str) -> str:
    # "gemini-embedding-001" and "models/gemini-embedding-001" name the same
    # model, as for generateContent; other resource paths are used as given.
    return model if "/" in model else f"models/{model}"


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    prompt = int(usage.get("promptTokenCount") or 0)
    return Usage(input_tokens=prompt, total_tokens=int(usage.get("totalTokenCount") or prompt))
