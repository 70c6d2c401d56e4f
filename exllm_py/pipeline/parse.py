"""``ParseResponse`` and ``TrackCost``: from the HTTP response to a priced ``LLMResponse``."""

from __future__ import annotations

from typing import Any

import attrs
import httpx
import orjson

from exllm_py.errors import ProviderError
from exllm_py.extensions import FROM_CACHE
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.plug import Halt
from exllm_py.providers.pricing import cost_of
from exllm_py.providers.wire import clip
from exllm_py.types import LLMResponse

__all__ = ["ParseResponse", "TrackCost", "as_answered", "json_body"]


class ParseResponse:
    """Decodes the JSON body and lets the provider adapter read it.

    A response replayed by an HTTP-level cache is marked ``from_cache``.
    """

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        config, response = call.config, call.http_response
        assert config is not None, "FetchConfiguration runs first"
        assert response is not None, "the exchange runs first"
        parsed = config.adapter.parse_response(json_body(config.name, response), config)
        call.response = as_answered(parsed, call, response)
        return None


def json_body(provider: str, response: httpx.Response) -> Any:
    """The decoded JSON body; a ``ProviderError`` quoting its start if it is not JSON."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise ProviderError(
            f"{provider} answered {response.status_code} with a body that is not JSON: "
            f"{clip(response.text, 200)!r}",
            status=response.status_code,
            provider=provider,
            body=response.text,
        ) from exc


def as_answered(parsed: LLMResponse, call: Call, response: httpx.Response) -> LLMResponse:
    """``parsed`` with the call's model if the body named none, and a replay's marks."""
    if not parsed.model:
        parsed = attrs.evolve(parsed, model=call.model)  # some bodies omit the model
    replayed = response.extensions.get(FROM_CACHE)
    if replayed is not None:
        # The provider's own metadata (native_finish_reason) stays beside the replay's.
        metadata = {**parsed.metadata, **replayed, "from_cache": True}
        parsed = attrs.evolve(parsed, metadata=metadata)
    return parsed


class TrackCost:
    """Prices the response from the pricing table (``None`` for unknown models)."""

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        response = call.response
        assert response is not None, "parse runs first"
        cost = cost_of(response.model, response.usage)
        if cost is not None:
            call.response = attrs.evolve(response, cost=cost)
        return None
