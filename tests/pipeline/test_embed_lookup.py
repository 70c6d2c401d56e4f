"""Tests for exllm_py.pipeline.embed_lookup: the key an ``embed()`` call is cached under.

Vectors come over a real socket from the loopback provider server's
OpenAI-compatible ``/embeddings`` route, through a production cache.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from tests.fakes import ProviderServer, provider_server
from tests.fakes.embedding_payloads import stand_in_vector

__all__ = ["provider_server"]

FRANCE = ["What is the capital of France?"]
EIFFEL = ["How tall is the Eiffel Tower?"]


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(cache_strategy=ProductionStrategy(MemoryStore()), env={}) as made:
        yield made


class TestExplicitKeys:
    """An explicit ``cache_key`` names one entry, whatever the texts; two keys, two entries."""

    def test_each_key_has_its_own_entry(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        arguments = {"base_url": provider_server.url, "api_key": "test-key"}
        assert client.embed("openai", FRANCE, cache_key="a", **arguments) == [
            stand_in_vector(FRANCE[0])
        ]
        assert client.embed("openai", EIFFEL, cache_key="b", **arguments) == [
            stand_in_vector(EIFFEL[0])
        ]
        assert len(provider_server.requests) == 2

    def test_the_same_key_is_served_whatever_the_texts(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        arguments = {"base_url": provider_server.url, "api_key": "test-key"}
        client.embed("openai", FRANCE, cache_key="a", **arguments)
        served = client.embed("openai", EIFFEL, cache_key="a", **arguments)
        assert served == [stand_in_vector(FRANCE[0])]
        assert len(provider_server.requests) == 1
