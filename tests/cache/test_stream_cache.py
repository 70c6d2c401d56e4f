"""ProductionStrategy and streams: complete streams are stored, and served back as streams.

Every test streams over real HTTP from the loopback provider server and
counts the requests it received.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from exllm_py import Client, assemble
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.errors import ProviderError
from exllm_py.types import StreamChunk, ToolCall
from tests.cache.cache_events import Events
from tests.clocks import FakeClock
from tests.fakes.payloads import SSEEvent, openai_completion, openai_error, openai_stream_events
from tests.fakes.provider_server import ProviderServer, json_reply, sse_reply

USER = [{"role": "user", "content": "Name a city on the Seine."}]
ANSWER = "Paris lies on the Seine."
WEATHER = ToolCall(id="call_1", name="weather", arguments={"city": "Paris", "unit": "C"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def strategy(clock: FakeClock) -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(clock=clock, cleanup_interval=None))


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer(text=ANSWER) as server:
        yield server


@pytest.fixture
def client(strategy: ProductionStrategy, server: ProviderServer) -> Iterator[Client]:
    with Client(cache_strategy=strategy) as client:
        yield client


def streamed(client: Client, server: ProviderServer, **options: Any) -> list[StreamChunk]:
    return list(client.stream("openai", USER, base_url=server.url, api_key="k", **options))


async def astreamed(client: Client, server: ProviderServer, **options: Any) -> list[StreamChunk]:
    chunks = client.astream("openai", USER, base_url=server.url, api_key="k", **options)
    return [chunk async for chunk in chunks]


def text(chunks: list[StreamChunk]) -> str:
    return "".join(chunk.content for chunk in chunks)


class TestCompletedStreams:
    """A stream read to its end is stored; an identical stream is then served from the cache."""

    def test_the_second_stream_makes_no_request(
        self, client: Client, server: ProviderServer
    ) -> None:
        first = streamed(client, server)
        second = streamed(client, server)
        assert len(server.requests) == 1
        assert text(first) == text(second) == ANSWER
        assert all(chunk.metadata["from_cache"] is False for chunk in first)
        assert all(chunk.metadata["from_cache"] is True for chunk in second)

    async def test_the_second_astream_makes_no_request(
        self, client: Client, server: ProviderServer
    ) -> None:
        first = await astreamed(client, server)
        second = await astreamed(client, server)
        assert len(server.requests) == 1
        assert text(first) == text(second) == ANSWER
        assert all(chunk.metadata["from_cache"] is True for chunk in second)

    def test_a_served_stream_assembles_to_the_live_answer(
        self, client: Client, server: ProviderServer
    ) -> None:
        server.enqueue(sse_reply(openai_stream_events("Checking.", tool_calls=[WEATHER])))
        live = assemble(streamed(client, server))
        served = assemble(streamed(client, server))
        # Content, tool calls, usage, finish reason, model and id; served chunks carry no raw.
        assert attrs.evolve(served, raw=None) == attrs.evolve(live, raw=None)
        assert served.raw is None
        assert served.tool_calls[0].arguments == {"city": "Paris", "unit": "C"}
        assert served.finish_reason == "tool_calls"
        assert served.usage.total_tokens > 0
        assert served.cost == 0.0
        assert live.cost is not None
        assert live.cost > 0

    def test_every_served_chunk_names_its_entry(
        self, client: Client, server: ProviderServer, clock: FakeClock
    ) -> None:
        streamed(client, server)
        clock.tick(12)
        served = streamed(client, server)
        keys = {chunk.metadata["cache_key"] for chunk in served}
        assert len(keys) == 1
        assert len(keys.pop()) == 64
        assert {chunk.metadata["cached_at"] for chunk in served} == {clock.now - 12}

    def test_the_finishing_chunk_keeps_the_providers_finish_reason(
        self, client: Client, server: ProviderServer
    ) -> None:
        server.enqueue(sse_reply(openai_stream_events(ANSWER, finish_reason="length")))
        streamed(client, server)
        final = streamed(client, server)[-1]
        assert final.finish_reason == "length"
        assert final.metadata["native_finish_reason"] == "length"

    def test_a_served_stream_can_be_closed_half_read(
        self, client: Client, server: ProviderServer
    ) -> None:
        streamed(client, server)
        served = client.stream("openai", USER, base_url=server.url, api_key="k")
        assert next(served).metadata["from_cache"] is True
        served.close()  # type: ignore[attr-defined]  # as a caller closes a live stream
        assert len(server.requests) == 1


class TestStreamsAndChats:
    """A stream and a chat() of one request share an entry: `stream=True` is not in the key."""

    def test_a_chat_is_served_from_a_stored_stream(
        self, client: Client, server: ProviderServer
    ) -> None:
        streamed(client, server)
        answer = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert len(server.requests) == 1
        assert answer.metadata["from_cache"] is True
        assert answer.content == ANSWER
        assert answer.finish_reason == "stop"
        assert answer.metadata["native_finish_reason"] == "stop"

    async def test_a_stream_is_served_from_a_stored_chat(
        self, client: Client, server: ProviderServer
    ) -> None:
        live = await client.achat("openai", USER, base_url=server.url, api_key="k")
        chunks = await astreamed(client, server)
        assert len(server.requests) == 1
        assert assemble(chunks) == attrs.evolve(live, raw=None)
        assert chunks[-1].metadata["native_finish_reason"] == "stop"

    def test_different_options_are_different_streams(
        self, client: Client, server: ProviderServer
    ) -> None:
        streamed(client, server, temperature=0)
        streamed(client, server, temperature=1)
        assert len(server.requests) == 2


class TestUnfinishedStreams:
    """A stream that is left half read, cancelled, or fails stores nothing."""

    def test_a_stream_closed_half_read_stores_nothing(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        stream = client.stream("openai", USER, base_url=server.url, api_key="k")
        assert next(stream).metadata["from_cache"] is False
        stream.close()  # type: ignore[attr-defined]
        assert strategy.stats().entries == 0
        assert text(streamed(client, server)) == ANSWER
        assert len(server.requests) == 2

    def test_a_stream_read_up_to_its_last_chunk_only_stores_nothing(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        # The caller took every chunk but never asked past the last: the stream
        # did not end under its eyes, so nothing says it was whole.
        count = len(streamed(client, server, cache=False))
        stream = client.stream("openai", USER, base_url=server.url, api_key="k")
        taken = [next(stream) for _ in range(count)]
        stream.close()  # type: ignore[attr-defined]
        assert text(taken) == ANSWER
        assert strategy.stats().entries == 0

    async def test_an_astream_closed_half_read_stores_nothing(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        stream = client.astream("openai", USER, base_url=server.url, api_key="k")
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            assert (await anext(stream)).metadata["from_cache"] is False
        assert strategy.stats().entries == 0
        await astreamed(client, server)
        assert len(server.requests) == 2

    async def test_a_cancelled_astream_stores_nothing(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        first_chunk = asyncio.Event()

        async def read_then_wait() -> None:
            stream = client.astream("openai", USER, base_url=server.url, api_key="k")
            async with contextlib.aclosing(stream):  # type: ignore[type-var]
                async for _chunk in stream:
                    first_chunk.set()
                    await asyncio.Event().wait()  # until cancelled

        task = asyncio.ensure_future(read_then_wait())
        await first_chunk.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert strategy.stats().entries == 0
        assert strategy.in_flight() == 0
        await astreamed(client, server)
        assert len(server.requests) == 2

    def test_a_stream_that_fails_midway_stores_nothing(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        broken = [*openai_stream_events(ANSWER)[:3], SSEEvent(openai_error("overloaded"))]
        server.enqueue(sse_reply(broken))
        received: list[StreamChunk] = []
        with pytest.raises(ProviderError, match="overloaded"):
            received.extend(client.stream("openai", USER, base_url=server.url, api_key="k"))
        assert strategy.stats().entries == 0
        assert strategy.in_flight() == 0
        assert text(streamed(client, server)) == ANSWER
        assert len(server.requests) == 2

    async def test_an_astream_that_fails_midway_stores_nothing(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        broken = [*openai_stream_events(ANSWER)[:3], SSEEvent(openai_error("overloaded"))]
        server.enqueue(sse_reply(broken))
        with pytest.raises(ProviderError, match="overloaded"):
            await astreamed(client, server)
        assert strategy.stats().entries == 0
        await astreamed(client, server)
        assert len(server.requests) == 2

    def test_an_empty_stream_is_not_stored(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        server.enqueue(sse_reply(openai_stream_events("")))
        streamed(client, server)
        assert strategy.stats().entries == 0

    def test_a_stream_cut_off_before_its_finish_is_not_stored(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        # The body ends cleanly after the content deltas: no finish_reason, no [DONE].
        server.enqueue(sse_reply(openai_stream_events(ANSWER)[:3]))
        partial = streamed(client, server)
        assert text(partial)
        assert all(chunk.finish_reason is None for chunk in partial)
        assert strategy.stats().entries == 0
        assert strategy.in_flight() == 0
        answer = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert answer.metadata["from_cache"] is False
        assert answer.content == ANSWER
        assert len(server.requests) == 2

    async def test_an_astream_cut_off_before_its_finish_is_not_stored(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        server.enqueue(sse_reply(openai_stream_events(ANSWER)[:3]))
        await astreamed(client, server)
        assert strategy.stats().entries == 0
        assert text(await astreamed(client, server)) == ANSWER
        assert len(server.requests) == 2

    def test_a_stream_of_several_choices_is_not_stored(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        # n=2 interleaves two answers in one stream: never stored as one answer.
        streamed(client, server, n=2)
        assert strategy.stats().entries == 0
        streamed(client, server, n=2)
        assert len(server.requests) == 2


class TestPerCallControls:
    """`cache=False` neither reads nor writes a stream; `cache="refresh"` writes without reading."""

    def test_cache_false_streams_from_the_provider_every_time(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        streamed(client, server, cache=False)
        assert strategy.stats().entries == 0
        streamed(client, server)  # stored
        chunks = streamed(client, server, cache=False)
        assert len(server.requests) == 3
        assert all(chunk.metadata["from_cache"] is False for chunk in chunks)

    async def test_cache_false_astreams_from_the_provider(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        await astreamed(client, server)
        chunks = await astreamed(client, server, cache=False)
        assert len(server.requests) == 2
        assert all(chunk.metadata["from_cache"] is False for chunk in chunks)

    def test_refresh_replaces_the_stored_answer(
        self, client: Client, server: ProviderServer
    ) -> None:
        streamed(client, server)
        server.enqueue(sse_reply(openai_stream_events("Rouen lies on the Seine.")))
        refreshed = streamed(client, server, cache="refresh")
        assert text(refreshed) == "Rouen lies on the Seine."
        assert text(streamed(client, server)) == "Rouen lies on the Seine."
        assert len(server.requests) == 2

    def test_namespaces_keep_streams_apart(self, client: Client, server: ProviderServer) -> None:
        streamed(client, server, cache_namespace="a")
        chunks = streamed(client, server, cache_namespace="b")
        assert chunks[0].metadata["from_cache"] is False
        assert len(server.requests) == 2


class TestTelemetry:
    """Streams report miss, put and hit as chat() does, and count in the strategy's stats."""

    def test_a_miss_a_put_then_a_hit(
        self, client: Client, server: ProviderServer, events: Events
    ) -> None:
        streamed(client, server)
        streamed(client, server)
        assert [event[0][-1] for event in events] == ["miss", "put", "hit"]
        labels = {(meta["provider"], meta["model"], meta["key"]) for _, _, meta in events}
        assert len(labels) == 1  # one key, provider and model throughout
        put = events[1][1]
        assert put["size_bytes"] > 0

    async def test_async_streams_report_the_same(
        self, client: Client, server: ProviderServer, events: Events
    ) -> None:
        await astreamed(client, server)
        await astreamed(client, server)
        assert [event[0][-1] for event in events] == ["miss", "put", "hit"]

    def test_cache_false_reports_nothing(
        self, client: Client, server: ProviderServer, events: Events
    ) -> None:
        streamed(client, server, cache=False)
        assert events == []

    def test_stats_count_stream_hits_and_misses(
        self, client: Client, server: ProviderServer, strategy: ProductionStrategy
    ) -> None:
        for _ in range(3):
            streamed(client, server)
        stats = strategy.stats()
        assert (stats.hits, stats.misses, stats.puts, stats.entries) == (2, 1, 1, 1)


class TestProviderMetadataOnHits:
    """A hit keeps the provider's metadata (`native_finish_reason`) next to the cache's marks."""

    def test_a_chat_hit_keeps_the_native_finish_reason(
        self, client: Client, server: ProviderServer
    ) -> None:
        server.enqueue(json_reply(openai_completion(ANSWER, finish_reason="length")))
        live = client.chat("openai", USER, base_url=server.url, api_key="k")
        hit = client.chat("openai", USER, base_url=server.url, api_key="k")
        assert live.metadata["native_finish_reason"] == "length"
        assert hit.metadata["native_finish_reason"] == "length"
        assert hit.metadata["from_cache"] is True
        assert hit.metadata["saved_cost"] == live.cost

    def test_a_hits_metadata_is_read_only(self, client: Client, server: ProviderServer) -> None:
        client.chat("openai", USER, base_url=server.url, api_key="k")
        hit = client.chat("openai", USER, base_url=server.url, api_key="k")
        with pytest.raises(TypeError):
            hit.metadata["native_finish_reason"] = "stop"  # type: ignore[index]


class TestSharedStores:
    """A stream stored in Redis is served to another client, sync and async, as chat() is."""

    def test_another_client_streams_from_redis(
        self, redis_url: str, server: ProviderServer
    ) -> None:
        stores = [RedisStore(redis_url, timeout=1.0) for _ in range(2)]
        writer, reader = (Client(cache_strategy=ProductionStrategy(store)) for store in stores)
        try:
            with writer, reader:
                live = streamed(writer, server)
                served = streamed(reader, server)
        finally:
            for store in stores:
                store.close()
        assert len(server.requests) == 1
        assert text(served) == text(live) == ANSWER
        assert all(chunk.metadata["from_cache"] is True for chunk in served)

    async def test_another_client_astreams_from_redis(
        self, redis_url: str, server: ProviderServer
    ) -> None:
        stores = [RedisStore(redis_url, timeout=1.0) for _ in range(2)]
        writer, reader = (Client(cache_strategy=ProductionStrategy(store)) for store in stores)
        try:
            async with writer, reader:
                await astreamed(writer, server)
                served = await astreamed(reader, server)
        finally:
            for store in stores:
                await store.aclose()
        assert len(server.requests) == 1
        assert text(served) == ANSWER
        assert served[-1].metadata["native_finish_reason"] == "stop"
        assert all(chunk.metadata["from_cache"] is True for chunk in served)
