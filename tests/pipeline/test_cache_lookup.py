"""Tests for exllm_py.pipeline.cache_lookup: the key a chat call is cached under.

Calls go to the offline mock provider through a production cache over a
memory store; the mock counts the requests it serves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exllm_py import Client, MockProvider
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
EIFFEL = [{"role": "user", "content": "How tall is the Eiffel Tower?"}]


@pytest.fixture
def client() -> Iterator[Client]:
    strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
    with Client(cache_strategy=strategy, mock=MockProvider()) as made:
        yield made


class TestExplicitKeys:
    """An explicit ``cache_key`` names one entry whatever the messages; two keys, two entries."""

    def test_each_key_has_its_own_entry(self, client: Client) -> None:
        first = client.chat("mock", FRANCE, cache_key="france")
        second = client.chat("mock", EIFFEL, cache_key="eiffel")
        assert first.content != second.content
        assert second.metadata["from_cache"] is False
        assert client.mock.calls == 2
        assert client.cache_strategy.stats().entries == 2

    def test_the_same_key_is_served_whatever_the_messages(self, client: Client) -> None:
        stored = client.chat("mock", FRANCE, cache_key="france")
        served = client.chat("mock", EIFFEL, cache_key="france")
        assert served.metadata["from_cache"] is True
        assert served.content == stored.content
        assert client.mock.calls == 1

    def test_a_namespace_keeps_its_own_entry_for_the_key(self, client: Client) -> None:
        client.chat("mock", FRANCE, cache_key="france", cache_namespace="tenant-a")
        other = client.chat("mock", FRANCE, cache_key="france", cache_namespace="tenant-b")
        assert other.metadata["from_cache"] is False
        assert client.mock.calls == 2
