"""What an adapter sends for a call, for the reading tests to read back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.reading import CallReading, read_request
from exllm_py.providers.registry import PROVIDERS
from exllm_py.request import ChatRequest

__all__ = ["BASE_URL", "read_back", "sent"]

BASE_URL = "http://127.0.0.1:8080"


def sent(
    provider: str, messages: Sequence[Mapping[str, Any]], options: Mapping[str, Any]
) -> tuple[str, Any]:
    """The URL and decoded JSON body the provider's adapter sends for this call."""
    spec = PROVIDERS[provider]
    config = ProviderConfig(name=provider, adapter=spec.adapter, base_url=BASE_URL, api_key="k")
    answer = {name: value for name, value in options.items() if name != "model"}
    request = ChatRequest(provider, options["model"], messages, answer)
    built = spec.adapter.build_request(request, config)
    return str(built.url), orjson.loads(built.content)


def read_back(
    provider: str, messages: Sequence[Mapping[str, Any]], options: Mapping[str, Any]
) -> tuple[CallReading, ...]:
    """The readings of what the adapter sends for this call."""
    url, body = sent(provider, messages, options)
    return read_request(PROVIDERS[provider].adapter, url, body)
