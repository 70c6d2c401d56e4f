"""Tests for exllm_py.pipeline.stream: an error inside a stream names the provider called.

Streams come over a real socket from the loopback provider server, which
sends each event as its own chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from exllm_py import Client, assemble
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.errors import ProviderError, ServerError
from tests.fakes import DEFAULT_TEXT, ProviderServer, SSEEvent, provider_server, sse_reply
from tests.fakes.payloads import openai_stream_events

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]
OVERLOADED = {"error": {"message": "The server is overloaded", "type": "server_error", "code": 503}}


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(cache_strategy=NoCache(), env={"GROQ_API_KEY": "gsk-test"}) as client:
        yield client


def _broken_stream(server: ProviderServer) -> None:
    first = {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    server.enqueue(
        sse_reply(
            [SSEEvent(orjson.dumps(first).decode()), SSEEvent(orjson.dumps(OVERLOADED).decode())]
        )
    )


class TestErrorsInAStream:
    """The error keeps what the provider said, and names the preset the caller asked for."""

    def test_the_error_names_the_preset_not_its_wire_format(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        _broken_stream(provider_server)
        chunks = client.stream("groq", USER, model="llama", base_url=provider_server.url)
        assert next(chunks).content == "Hel"
        with pytest.raises(ServerError) as caught:
            next(chunks)
        assert caught.value.provider == "groq"
        assert caught.value.status == 503
        assert "The server is overloaded" in str(caught.value)

    async def test_an_async_stream_names_it_too(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        _broken_stream(provider_server)
        with pytest.raises(ProviderError) as caught:
            async for _ in client.astream(
                "groq", USER, model="llama", base_url=provider_server.url
            ):
                pass
        assert caught.value.provider == "groq"


@pytest.fixture
def caching() -> Iterator[Client]:
    with Client(cache_strategy=ProductionStrategy(), env={"OPENAI_API_KEY": "sk-test"}) as client:
        yield client


class TestModelOfAStream:
    """A stream whose chunks name no model is labelled with the model the call asked for."""

    def test_the_requested_model_fills_in(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(sse_reply(openai_stream_events("Hi there", model="")))
        chunks = client.stream("groq", USER, model="llama-3.3-70b", base_url=provider_server.url)
        answer = assemble(chunks)
        assert (answer.content, answer.model) == ("Hi there", "llama-3.3-70b")


class TestCompletedAsyncStreams:
    """A completed async stream is stored; an identical one is replayed without a request."""

    async def test_the_second_astream_is_served_from_the_cache(
        self, caching: Client, provider_server: ProviderServer
    ) -> None:
        texts = []
        for _ in range(2):
            chunks = caching.astream("openai", USER, n=1, base_url=provider_server.url)
            texts.append("".join([chunk.content async for chunk in chunks]))
        await caching.aclose()
        assert texts == [DEFAULT_TEXT, DEFAULT_TEXT]
        assert len(provider_server.requests) == 1
        assert caching.cache_strategy.stats().entries == 1


class TestSeveralChoices:
    """A stream asking for n > 1 answers always goes to the provider, whatever the cache holds."""

    def test_a_stream_is_not_served_the_answer_a_chat_stored(
        self, caching: Client, provider_server: ProviderServer
    ) -> None:
        for _ in range(2):
            stored = caching.chat("openai", USER, n=2, base_url=provider_server.url)
        assert stored.metadata["from_cache"] is True
        chunks = list(caching.stream("openai", USER, n=2, base_url=provider_server.url))
        assert "".join(chunk.content for chunk in chunks) == DEFAULT_TEXT
        assert len(provider_server.requests) == 2

    async def test_an_async_stream_is_not_either(
        self, caching: Client, provider_server: ProviderServer
    ) -> None:
        caching.chat("openai", USER, n=2, base_url=provider_server.url)
        for _ in range(2):
            chunks = caching.astream("openai", USER, n=2, base_url=provider_server.url)
            assert "".join([chunk.content async for chunk in chunks]) == DEFAULT_TEXT
        await caching.aclose()
        assert len(provider_server.requests) == 3
