"""Tests for exllm_py.testing.strategy: production caching outside recording tests only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

import exllm_py
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.strategy import CacheLookup
from exllm_py.client import strategy_from_env
from exllm_py.errors import ValidationError
from exllm_py.pipeline import Pipeline
from exllm_py.pipeline.plug import CACHE
from exllm_py.request import CacheControl
from exllm_py.testing.cassette import Cassette
from exllm_py.testing.strategy import (
    TestStrategy,
    active_cassette,
    recording,
)
from exllm_py.types import LLMResponse
from tests.fakes.provider_server import ProviderServer
from tests.pipeline.test_runner import Trace, fresh_steps

LOOKUP = CacheLookup("key", CacheControl(), "openai", "gpt-4o-mini")
ANSWER = LLMResponse(content="hi", model="m", provider="openai")


class SpyNoCache(NoCache):
    """The real NoCache, noting each decision it was asked for."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def fetch(self, lookup: CacheLookup, compute: Callable[[], LLMResponse]) -> LLMResponse:
        self.calls.append("fetch")
        return super().fetch(lookup, compute)

    async def afetch(
        self, lookup: CacheLookup, compute: Callable[[], Awaitable[LLMResponse]]
    ) -> LLMResponse:
        self.calls.append("afetch")
        return await super().afetch(lookup, compute)

    def stats(self) -> CacheStats:
        self.calls.append("stats")
        return super().stats()


async def _answer() -> LLMResponse:
    return ANSWER


class TestDelegation:
    """Outside a recording test the delegate decides; inside one, every call computes."""

    def test_outside_a_test_the_delegate_decides(self) -> None:
        delegate = SpyNoCache()
        assert TestStrategy(delegate).fetch(LOOKUP, lambda: ANSWER) is ANSWER
        assert delegate.calls == ["fetch"]

    def test_inside_a_test_the_response_cache_is_bypassed(self) -> None:
        delegate = SpyNoCache()
        with recording(None):
            assert TestStrategy(delegate).fetch(LOOKUP, lambda: ANSWER) is ANSWER
        assert delegate.calls == []

    async def test_async_twin(self) -> None:
        delegate = SpyNoCache()
        strategy = TestStrategy(delegate)
        assert await strategy.afetch(LOOKUP, _answer) is ANSWER
        with recording(None):
            assert await strategy.afetch(LOOKUP, _answer) is ANSWER
        assert delegate.calls == ["afetch"]

    async def test_an_async_call_outside_a_test_is_answered_from_the_delegates_cache(
        self,
    ) -> None:
        strategy = TestStrategy(ProductionStrategy(MemoryStore()))
        with ProviderServer() as server:
            async with exllm_py.Client(cache_strategy=strategy) as client:
                for _ in range(2):
                    await client.achat("openai", STREAMED, base_url=server.url, api_key="k")
            assert len(server.requests) == 1
        assert strategy.stats().entries == 1

    def test_a_call_outside_a_test_is_answered_from_the_delegates_cache(self) -> None:
        """The sync twin: the second identical call is the delegate's hit, not a request."""
        strategy = TestStrategy(ProductionStrategy(MemoryStore()))
        with ProviderServer() as server, exllm_py.Client(cache_strategy=strategy) as client:
            first, second = (
                client.chat("openai", STREAMED, base_url=server.url, api_key="k") for _ in range(2)
            )
            assert len(server.requests) == 1
        assert (first.metadata["from_cache"], second.metadata["from_cache"]) == (False, True)
        assert second.content == first.content

    def test_stats_are_the_delegates(self) -> None:
        delegate = SpyNoCache()
        assert TestStrategy(delegate).stats() == CacheStats()
        assert delegate.calls == ["stats"]

    def test_default_delegate_is_the_production_strategy(self) -> None:
        assert isinstance(TestStrategy().delegate, ProductionStrategy)


class TestReset:
    """reset() starts afresh the production cache a strategy made, never a given delegate."""

    def test_own_production_cache_starts_afresh(self) -> None:
        strategy = TestStrategy()
        before = strategy.delegate
        assert strategy.reset() is True
        assert isinstance(strategy.delegate, ProductionStrategy)
        assert strategy.delegate is not before

    def test_given_delegate_is_kept(self) -> None:
        delegate = ProductionStrategy()
        strategy = TestStrategy(delegate)
        assert strategy.reset() is False
        assert strategy.delegate is delegate

    def test_clients_need_no_rebuild(self) -> None:
        # reset() relies on it: a client built over the strategy keeps no part
        # of the dropped production cache in its transports.
        transport = httpx.MockTransport(lambda _: httpx.Response(200))
        assert ProductionStrategy().wrap_transport(transport) is transport


class TestWrappingCreatesNoCache:
    """Building a client stack over a TestStrategy creates no production cache it owns."""

    def test_own_delegate_is_not_created_to_wrap(self) -> None:
        strategy = TestStrategy()
        transport = httpx.MockTransport(lambda _: httpx.Response(200))
        strategy.wrap_transport(transport)
        strategy.wrap_async_transport(httpx.MockTransport(lambda _: httpx.Response(200)))
        assert repr(strategy) == "<TestStrategy delegate=not created>"
        assert isinstance(strategy.delegate, ProductionStrategy)
        assert repr(strategy) == "<TestStrategy delegate=ProductionStrategy>"

    def test_given_delegate_still_wraps(self) -> None:
        class Wrapping(NoCache):
            def wrap_transport(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
                self.wrapped = transport
                return transport

        delegate = Wrapping()
        transport = httpx.MockTransport(lambda _: httpx.Response(200))
        TestStrategy(delegate).wrap_transport(transport)
        assert delegate.wrapped is transport

    def test_given_delegate_still_wraps_async_transports(self) -> None:
        class Wrapping(NoCache):
            def wrap_async_transport(
                self, transport: httpx.AsyncBaseTransport
            ) -> httpx.AsyncBaseTransport:
                self.wrapped = transport
                return transport

        delegate = Wrapping()
        transport = httpx.MockTransport(lambda _: httpx.Response(200))
        TestStrategy(delegate).wrap_async_transport(transport)
        assert delegate.wrapped is transport


class TestPassthroughInsideATest:
    """Inside a recording test, requests to a passthrough host go out live, unrecorded, counted."""

    def _replay_only(self, tmp_path: Path) -> Cassette:
        # An empty cassette in replay-only mode: any request it saw would be a miss.
        return Cassette.open(tmp_path / "c.json", mode="none")

    def test_sync_calls_pass_through(self, tmp_path: Path) -> None:
        cassette = self._replay_only(tmp_path)
        with ProviderServer() as server, exllm_py.Client(cache_strategy=TestStrategy()) as client:
            with recording(cassette, passthrough_hosts=frozenset({"127.0.0.1"})):
                for _ in range(2):
                    client.chat("openai", STREAMED, base_url=server.url, api_key="k")
            assert len(server.requests) == 2
        assert (cassette.live, cassette.recorded) == (2, [])

    async def test_async_calls_pass_through(self, tmp_path: Path) -> None:
        cassette = self._replay_only(tmp_path)
        with ProviderServer() as server:
            async with exllm_py.Client(cache_strategy=TestStrategy()) as client:
                with recording(cassette, passthrough_hosts=frozenset({"127.0.0.1"})):
                    for _ in range(2):
                        await client.achat("openai", STREAMED, base_url=server.url, api_key="k")
            assert len(server.requests) == 2
        assert (cassette.live, cassette.recorded) == (2, [])


class TestActivation:
    """recording() sets the cassette in use for the block and restores the previous one."""

    def test_nesting_restores(self) -> None:
        assert active_cassette() is None
        with recording(None):
            assert active_cassette() is None
        assert active_cassette() is None


class TestSelection:
    """EXLLM_CACHE_STRATEGY=test gives each client a TestStrategy of its own."""

    def test_environment_selects_a_fresh_instance_per_client(self) -> None:
        first = strategy_from_env({"EXLLM_CACHE_STRATEGY": "test"})
        second = strategy_from_env({"EXLLM_CACHE_STRATEGY": "test"})
        assert isinstance(first, TestStrategy)
        assert first is not second

    def test_not_collected_by_pytest(self) -> None:
        assert TestStrategy.__test__ is False


class TestArguments:
    """The delegate must be a cache strategy: an instance with every CacheStrategy method."""

    @pytest.mark.parametrize(
        "delegate",
        [MemoryStore(), ProductionStrategy, "production", lambda: None, 1],
        ids=["a store", "a class", "a name", "a function", "a number"],
    )
    def test_what_is_no_strategy_is_refused(self, delegate: object) -> None:
        with pytest.raises(ValidationError, match="TestStrategy delegate must be a cache strategy"):
            TestStrategy(delegate)  # type: ignore[arg-type]

    def test_the_message_says_what_is_missing(self) -> None:
        with pytest.raises(ValidationError, match="it has no fetch, afetch, wrap_transport"):
            TestStrategy(MemoryStore())  # type: ignore[arg-type]

    def test_good_delegates_are_kept(self) -> None:
        for delegate in (NoCache(), ProductionStrategy(), SpyNoCache(), TestStrategy()):
            assert TestStrategy(delegate).delegate is delegate


STREAMED = [{"role": "user", "content": "Stream me something."}]


class TestStreams:
    """Streams follow chat: the delegate's cache outside recording tests, the provider inside."""

    def _stream(self, client: exllm_py.Client, server: ProviderServer) -> str:
        chunks = client.stream("openai", STREAMED, base_url=server.url, api_key="k")
        return "".join(chunk.content for chunk in chunks)

    async def _astream(self, client: exllm_py.Client, server: ProviderServer) -> str:
        chunks = client.astream("openai", STREAMED, base_url=server.url, api_key="k")
        return "".join([chunk.content async for chunk in chunks])

    def test_outside_a_test_a_stream_is_served_from_the_delegate(self) -> None:
        strategy = TestStrategy(ProductionStrategy(MemoryStore()))
        with ProviderServer() as server, exllm_py.Client(cache_strategy=strategy) as client:
            assert self._stream(client, server) == self._stream(client, server)
            assert len(server.requests) == 1

    async def test_async_outside_a_test(self) -> None:
        strategy = TestStrategy(ProductionStrategy(MemoryStore()))
        with ProviderServer() as server:
            async with exllm_py.Client(cache_strategy=strategy) as client:
                assert await self._astream(client, server) == await self._astream(client, server)
            assert len(server.requests) == 1

    def test_inside_a_test_every_stream_reaches_the_provider(self) -> None:
        strategy = TestStrategy(ProductionStrategy(MemoryStore()))
        with ProviderServer() as server, exllm_py.Client(cache_strategy=strategy) as client:
            with recording(None):
                self._stream(client, server)
                self._stream(client, server)
            assert len(server.requests) == 2
            assert strategy.stats().entries == 0

    async def test_async_inside_a_test(self) -> None:
        strategy = TestStrategy(ProductionStrategy(MemoryStore()))
        with ProviderServer() as server:
            async with exllm_py.Client(cache_strategy=strategy) as client:
                with recording(None):
                    await self._astream(client, server)
                    await self._astream(client, server)
            assert len(server.requests) == 2


def _traced_after_cache(seen: list[str]) -> Pipeline:
    """The default steps with a tracer right after the cache step: it runs only on a miss."""
    steps = fresh_steps()
    steps.insert(steps.index(CACHE) + 1, Trace("after cache", seen))
    return Pipeline(steps)


class TestStreamsServedFromMemory:
    """An async stream the delegate holds in memory skips the later steps, outside tests only."""

    async def _astream(self, client: exllm_py.Client, server: ProviderServer) -> str:
        chunks = client.astream("openai", STREAMED, base_url=server.url, api_key="k")
        return "".join([chunk.content async for chunk in chunks])

    async def test_outside_a_test_a_hit_skips_the_steps_after_the_cache_step(self) -> None:
        seen: list[str] = []
        strategy = TestStrategy(ProductionStrategy(MemoryStore()))
        with ProviderServer() as server:
            async with exllm_py.Client(
                cache_strategy=strategy, pipeline=_traced_after_cache(seen)
            ) as client:
                live = await self._astream(client, server)
                assert seen == ["after cache"]
                served = client.astream("openai", STREAMED, base_url=server.url, api_key="k")
                assert seen == ["after cache"]  # decided when astream() returned
                assert "".join([chunk.content async for chunk in served]) == live
            assert len(server.requests) == 1

    async def test_inside_a_test_a_held_answer_is_not_served(self) -> None:
        seen: list[str] = []
        strategy = TestStrategy(ProductionStrategy(MemoryStore()))
        with ProviderServer() as server:
            async with exllm_py.Client(
                cache_strategy=strategy, pipeline=_traced_after_cache(seen)
            ) as client:
                await self._astream(client, server)
                with recording(None):
                    await self._astream(client, server)
            assert seen == ["after cache", "after cache"]
            assert len(server.requests) == 2


class TestDelegatesThatCacheNoStreams:
    """A delegate without stream methods leaves every stream to the provider, outside tests too."""

    def test_every_stream_reaches_the_provider(self) -> None:
        strategy = TestStrategy(NoCache())
        with ProviderServer() as server, exllm_py.Client(cache_strategy=strategy) as client:
            for _ in range(2):
                chunks = client.stream("openai", STREAMED, base_url=server.url, api_key="k")
                assert "".join(chunk.content for chunk in chunks)
            assert len(server.requests) == 2

    async def test_every_async_stream_reaches_the_provider(self) -> None:
        strategy = TestStrategy(NoCache())
        with ProviderServer() as server:
            async with exllm_py.Client(cache_strategy=strategy) as client:
                for _ in range(2):
                    chunks = client.astream("openai", STREAMED, base_url=server.url, api_key="k")
                    assert "".join([chunk.content async for chunk in chunks])
            assert len(server.requests) == 2
