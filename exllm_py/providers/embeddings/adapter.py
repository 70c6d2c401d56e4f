"""The embedding adapter protocol, and the validated request it turns into HTTP."""

from __future__ import annotations

from typing import Any, Protocol

import attrs
import httpx

from exllm_py.providers.config import ProviderConfig
from exllm_py.types import LLMResponse

__all__ = ["EmbedRequest", "EmbeddingAdapter"]


@attrs.frozen
class EmbedRequest:
    """A validated ``embed()`` call: which model turns which texts into vectors.

    ``dimensions`` asks for shorter vectors where the model can make them
    (``None``: the model's own length).
    """

    provider: str
    model: str
    texts: tuple[str, ...]
    dimensions: int | None = None


class EmbeddingAdapter(Protocol):
    """Translates between ``embed()`` and one provider's embeddings endpoint.

    - ``max_batch`` is the most texts one request may carry; a call with
      more is refused before any I/O.
    - ``build_request`` returns the request to send, credentials included
      when ``config.api_key`` is set. It must not do I/O.
    - ``parse_response`` receives the decoded JSON body of a 2xx answer and
      the number of texts sent, and returns the vectors as an embedding
      response (:func:`~exllm_py.providers.embeddings.response.embedding_response`),
      one per text, in order; a body with any other count, or with a vector
      that is not a list of numbers, raises :class:`~exllm_py.errors.ProviderError`.

    Error bodies are read by the provider's chat adapter, which speaks the
    same vendor's error format.
    """

    max_batch: int

    def build_request(self, request: EmbedRequest, config: ProviderConfig) -> httpx.Request: ...

    def parse_response(self, body: Any, config: ProviderConfig, count: int) -> LLMResponse: ...
