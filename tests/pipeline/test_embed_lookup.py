"""Tests for exllm_py.pipeline.embed_lookup: the key an ``embed()`` call is cached under.

Vectors come over a real socket from the loopback provider server's
OpenAI-compatible ``/embeddings`` route, through a production cache.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import AuthenticationError, TimeoutError
from tests.cache.flight_parties import eventually, outcome_of
from tests.fakes import ProviderServer, json_reply, openai_error, provider_server
from tests.fakes.embedding_payloads import openai_embeddings, stand_in_vector
from tests.fakes.held_reply import HeldReply

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


def _joined(thread: threading.Thread, outcome: list[object]) -> object:
    thread.join(10)
    assert not thread.is_alive(), "an embed() call is still running after 10 s"
    (result,) = outcome
    return result


class TestIdenticalCallsInFlight:
    """An identical ``embed()`` call waits for the one in flight, on its own terms."""

    def test_a_rejected_key_does_not_fail_another_tenants_call(
        self, provider_server: ProviderServer
    ) -> None:
        """The leader's 401 is about its key: a follower with another key gets its vectors."""
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(json_reply(openai_error("Incorrect API key provided"), status=401))
        provider_server.enqueue(held)
        with Client(cache_strategy=strategy, env={}) as client:

            def ask(api_key: str) -> object:
                return client.embed("openai", FRANCE, base_url=provider_server.url, api_key=api_key)

            lead = outcome_of(lambda: ask("revoked-key-of-tenant-a"))
            try:
                assert held.arrived.wait(5), "the leader's request never reached the server"
                follow = outcome_of(lambda: ask("valid-key-of-tenant-b"))
                eventually(lambda: strategy.waiting() == 1)
            finally:
                held.release.set()
            led, followed = _joined(*lead), _joined(*follow)
        assert isinstance(led, AuthenticationError)
        assert followed == [stand_in_vector(FRANCE[0])]
        sent = [request.headers["authorization"] for request in provider_server.requests]
        assert sent == ["Bearer revoked-key-of-tenant-a", "Bearer valid-key-of-tenant-b"]

    def test_a_follower_gives_up_after_its_own_timeout(
        self, provider_server: ProviderServer
    ) -> None:
        """A follower whose leader never answers raises TimeoutError, without a call of its own."""
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(json_reply(openai_embeddings(FRANCE)))
        provider_server.enqueue(held)
        arguments = {"base_url": provider_server.url, "api_key": "test-key"}
        with Client(cache_strategy=strategy, env={}) as client:
            lead = outcome_of(lambda: client.embed("openai", FRANCE, timeout=60, **arguments))
            try:
                assert held.arrived.wait(5), "the leader's request never reached the server"
                follow = outcome_of(
                    lambda: client.embed("openai", FRANCE, timeout=0.2, **arguments)
                )
                followed = _joined(*follow)
            finally:
                held.release.set()
            led = _joined(*lead)
        assert isinstance(followed, TimeoutError)
        assert "identical call in flight" in str(followed)
        assert led == [stand_in_vector(FRANCE[0])]
        assert len(provider_server.requests) == 1
