"""Tests for exllm_py.pipeline.embed: a pipeline of one's own runs ``embed()`` calls in full.

The pipeline is built here, as a caller composing its own would build it,
and driven with a ``Call`` over httpx clients to the loopback provider
server's OpenAI-compatible ``/embeddings`` route.
"""

from __future__ import annotations

import httpx
import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import AuthenticationError, ProviderError, TimeoutError
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.embed import EmbedPipeline
from tests.fakes import ProviderServer, json_reply, openai_error, provider_server, text_reply
from tests.fakes.embedding_payloads import openai_embeddings, stand_in_vector
from tests.fakes.held_reply import HeldReply

__all__ = ["provider_server"]

TEXTS = ["What is the capital of France?", "How tall is the Eiffel Tower?"]
VECTORS = [stand_in_vector(text) for text in TEXTS]
# A key with no known prefix: only its value can find it. Built at run time, as no
# key-shaped literal sits in the repository.
SHAPELESS_KEY = "Zq7" + "mW2xR9tY4uK1pL8s" * 2


def _call(strategy: ProductionStrategy, server: ProviderServer) -> Call:
    options = {"base_url": server.url, "api_key": "test-key"}
    return Call("openai", TEXTS, options, strategy, {})


class TestAPipelineOfOnesOwn:
    """A new ``EmbedPipeline`` validates, asks the provider once, and serves the copy after."""

    def test_sync_calls(self, provider_server: ProviderServer) -> None:
        pipeline, strategy = EmbedPipeline(), ProductionStrategy(MemoryStore())
        with httpx.Client() as http:
            assert pipeline.run(_call(strategy, provider_server), http) == VECTORS
            assert pipeline.run(_call(strategy, provider_server), http) == VECTORS
        assert len(provider_server.requests) == 1
        assert strategy.stats().entries == 1

    async def test_async_calls(self, provider_server: ProviderServer) -> None:
        pipeline, strategy = EmbedPipeline(), ProductionStrategy(MemoryStore())
        async with httpx.AsyncClient() as http:
            assert await pipeline.arun(_call(strategy, provider_server), http) == VECTORS
            assert await pipeline.arun(_call(strategy, provider_server), http) == VECTORS
        assert len(provider_server.requests) == 1


class TestAnswersItCannotRead:
    """A body that is not JSON is a provider error naming the provider, and is never cached."""

    def test_a_non_json_body(self, provider_server: ProviderServer) -> None:
        provider_server.enqueue(text_reply("upstream timeout, try later"))
        pipeline, strategy = EmbedPipeline(), ProductionStrategy(MemoryStore())
        with httpx.Client() as http, pytest.raises(ProviderError) as caught:
            pipeline.run(_call(strategy, provider_server), http)
        assert str(caught.value) == (
            "openai answered 200 with a body that is not JSON: 'upstream timeout, try later'"
        )
        assert caught.value.provider == "openai"
        assert strategy.stats().entries == 0


class TestTimeout:
    """A call's ``timeout`` bounds the wait for the provider's answer, as it does for chat."""

    def test_an_answer_slower_than_the_timeout_is_a_timeout_error(
        self, provider_server: ProviderServer
    ) -> None:
        held = HeldReply(json_reply(openai_embeddings(TEXTS)))  # answers only once released
        provider_server.enqueue(held)
        try:
            with (
                Client(cache_strategy=NoCache(), env={}) as client,
                pytest.raises(TimeoutError) as caught,
            ):
                client.embed(
                    "openai",
                    TEXTS,
                    base_url=provider_server.url,
                    api_key="test-key",
                    timeout=0.2,
                    max_retries=0,
                )
        finally:
            held.release.set()
        assert str(caught.value).startswith("openai did not answer within 0.2s (ReadTimeout)")


class TestRedaction:
    """An async ``embed()`` error never shows the key the call sent, even when echoed back."""

    async def test_a_401_echoing_the_key(self, provider_server: ProviderServer) -> None:
        body = openai_error(f"Invalid API key: {SHAPELESS_KEY}", code="invalid_api_key")
        provider_server.enqueue(json_reply(body, status=401))
        pipeline, strategy = EmbedPipeline(), ProductionStrategy(MemoryStore())
        call = Call(
            "mistral",
            TEXTS,
            {"base_url": provider_server.url, "api_key": SHAPELESS_KEY},
            strategy,
            {},
        )
        async with httpx.AsyncClient() as http:
            with pytest.raises(AuthenticationError) as caught:
                await pipeline.arun(call, http)
        assert "Invalid API key: [redacted]" in str(caught.value)
        assert SHAPELESS_KEY not in f"{caught.value}{caught.value!r}"
