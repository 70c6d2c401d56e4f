"""How a stream goes through ProductionStrategy (``cache.stream_flow``): reads, flights, events.

Every test streams over real HTTP from the loopback provider server. A
leader is held in flight at the server (``HeldReply``) or by not reading
its stream, so that every follower is known to wait on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client
from exllm_py.cache.entry import CacheEntry
from exllm_py.cache.keys import cache_key
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.strategy import CacheLookup
from exllm_py.errors import AuthenticationError
from exllm_py.errors import TimeoutError as CallTimeoutError
from exllm_py.request import CacheControl
from exllm_py.types import StreamChunk
from tests.cache.cache_events import Events
from tests.cache.flight_parties import asked_while_held, outcome_of
from tests.fakes.held_reply import HeldReply
from tests.fakes.payloads import openai_error, openai_stream_events
from tests.fakes.provider_server import ProviderServer, json_reply, sse_reply

USER = [{"role": "user", "content": "Name a city on the Rhone."}]
ANSWER = "Lyon lies on the Rhone."


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer(text=ANSWER) as server:
        yield server


def options(server: ProviderServer, api_key: str = "k") -> dict[str, Any]:
    return {"base_url": server.url, "api_key": api_key}


def text(chunks: list[StreamChunk]) -> str:
    return "".join(chunk.content for chunk in chunks)


def names(events: Events) -> list[str]:
    return [event[0][-1] for event in events]


class LandsAfterReads(MemoryStore):
    """A store an identical call writes its answer to just after this call's first reads.

    The narrow race the flight's second read is for: ``misses`` reads find
    nothing, and then the answer is there.
    """

    def __init__(self, key: str, entry: CacheEntry, misses: int) -> None:
        super().__init__(cleanup_interval=None)
        self.landing, self.entry, self.misses = key, entry, misses

    def get(self, key: str) -> CacheEntry | None:
        found = super().get(key)
        if key == self.landing and self.misses > 0:
            self.misses -= 1
            if self.misses == 0:
                self.set(key, self.entry)
        return found


def stored_answer(server: ProviderServer) -> tuple[str, CacheEntry]:
    """The key of the test's request, and the entry a completed stream of it stores."""
    store = MemoryStore(cleanup_interval=None)
    with Client(cache_strategy=ProductionStrategy(store)) as client:
        list(client.stream("openai", USER, **options(server)))
    key = cache_key("openai", USER, options(server))
    entry = store.get(key)
    assert entry is not None
    return key, entry


class TestAnAnswerThatLandsMeanwhile:
    """An answer stored between a stream's first read and its flight is served, not fetched."""

    def test_a_stream_serves_it_and_reports_a_hit(
        self, server: ProviderServer, events: Events
    ) -> None:
        key, entry = stored_answer(server)
        events.clear()
        store = LandsAfterReads(key, entry, misses=1)
        with Client(cache_strategy=ProductionStrategy(store)) as client:
            chunks = list(client.stream("openai", USER, **options(server)))
        assert text(chunks) == ANSWER
        assert all(chunk.metadata["from_cache"] for chunk in chunks)
        assert len(server.requests) == 1  # the one that stored the answer
        assert names(events) == ["hit"]
        [(_, measurements, labels)] = events
        assert (labels["key"], labels["match"]) == (key, "exact")
        assert measurements["duration_ns"] >= 0

    async def test_an_async_stream_serves_it_and_reports_a_hit(
        self, server: ProviderServer, events: Events
    ) -> None:
        key, entry = stored_answer(server)
        events.clear()
        # The first read peeks (a MemoryStore answers at once), the second is awaited.
        store = LandsAfterReads(key, entry, misses=2)
        with Client(cache_strategy=ProductionStrategy(store)) as client:
            chunks = [chunk async for chunk in client.astream("openai", USER, **options(server))]
        assert text(chunks) == ANSWER
        assert all(chunk.metadata["from_cache"] for chunk in chunks)
        assert len(server.requests) == 1
        assert names(events) == ["hit"]
        assert events[0][2]["key"] == key


class TestFollowers:
    """A stream waiting on an identical call in flight gets its answer, as a reported hit."""

    async def test_a_following_stream_reports_its_hit(
        self, server: ProviderServer, events: Events
    ) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy) as client:
            leader = client.astream("openai", USER, **options(server))
            first = await anext(leader)
            follower = asyncio.ensure_future(
                self._read(client.astream("openai", USER, **options(server)))
            )
            for _ in range(10_000):  # each yield lets the follower's task run on to the flight
                if strategy.waiting() == 1:
                    break
                await asyncio.sleep(0)
            assert strategy.waiting() == 1, "the follower never waited"
            led = [first, *[chunk async for chunk in leader]]
            followed = await follower
        assert text(led) == text(followed) == ANSWER
        assert followed[0].metadata["single_flight"] is True
        assert names(events) == ["miss", "put", "hit"]
        assert events[2][1]["duration_ns"] >= 0

    @staticmethod
    async def _read(stream: Any) -> list[StreamChunk]:
        return [chunk async for chunk in stream]

    def test_a_second_stream_on_the_leaders_thread_reports_its_own_miss(
        self, server: ProviderServer, events: Events
    ) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy) as client:
            leader = client.stream("openai", USER, **options(server))
            first = next(leader)
            second = list(client.stream("openai", USER, **options(server)))
            assert text([first, *leader]) == text(second) == ANSWER
        assert names(events).count("miss") == 2
        assert {labels["key"] for _, _, labels in events} == {
            cache_key("openai", USER, options(server))
        }


class TestALeadersOwnError:
    """A leader's credential error reaches only streams that send the same key."""

    def test_another_tenants_stream_gets_its_own_answer(self, server: ProviderServer) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(json_reply(openai_error("Incorrect API key provided"), status=401))
        server.enqueue(held)
        with Client(cache_strategy=strategy) as client:
            led, followed = asked_while_held(
                held,
                strategy,
                lambda: list(client.stream("openai", USER, **options(server, "sk-revoked"))),
                lambda: list(client.stream("openai", USER, **options(server, "sk-valid"))),
            )
        assert isinstance(led, AuthenticationError), led
        assert isinstance(followed, list), followed
        assert text(followed) == ANSWER

    async def test_another_tenants_async_stream_gets_its_own_answer(
        self, server: ProviderServer
    ) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(json_reply(openai_error("Incorrect API key provided"), status=401))
        server.enqueue(held)

        async def read(api_key: str) -> list[StreamChunk]:
            stream = client.astream("openai", USER, **options(server, api_key))
            return [chunk async for chunk in stream]

        with Client(cache_strategy=strategy) as client:
            lead = asyncio.ensure_future(read("sk-revoked"))
            try:
                assert await asyncio.to_thread(held.arrived.wait, 5), "the leader never called"
                follow = asyncio.ensure_future(read("sk-valid"))
                for _ in range(10_000):
                    if strategy.waiting() == 1:
                        break
                    await asyncio.sleep(0)
                assert strategy.waiting() == 1, "the follower never waited"
            finally:
                held.release.set()
            led, followed = await asyncio.gather(lead, follow, return_exceptions=True)
        assert isinstance(led, AuthenticationError), led
        assert isinstance(followed, list), followed
        assert text(followed) == ANSWER


class TestAFollowersTimeout:
    """A stream waits on a leader at most its own call's timeout."""

    def test_a_follower_gives_up_after_its_timeout(self, server: ProviderServer) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(sse_reply(openai_stream_events(ANSWER)))
        server.enqueue(held)
        with Client(cache_strategy=strategy) as client:
            lead, led = outcome_of(lambda: list(client.stream("openai", USER, **options(server))))
            try:
                assert held.arrived.wait(5), "the leader never called"
                # Released only once the follower is done: it must give up by itself.
                with pytest.raises(CallTimeoutError):
                    list(client.stream("openai", USER, timeout=0.2, **options(server)))
            finally:
                held.release.set()
                lead.join(10)
        assert text(led[0]) == ANSWER  # type: ignore[arg-type]

    async def test_an_async_follower_gives_up_after_its_timeout(
        self, server: ProviderServer
    ) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        held = HeldReply(sse_reply(openai_stream_events(ANSWER)))
        server.enqueue(held)

        async def read(**extra: Any) -> list[StreamChunk]:
            stream = client.astream("openai", USER, **options(server), **extra)
            return [chunk async for chunk in stream]

        with Client(cache_strategy=strategy) as client:
            lead = asyncio.ensure_future(read())
            try:
                assert await asyncio.to_thread(held.arrived.wait, 5), "the leader never called"
                with pytest.raises(CallTimeoutError):
                    await read(timeout=0.2)
            finally:
                held.release.set()
            assert text(await lead) == ANSWER


class TestPeek:
    """An async stream's hit is known without I/O only when the store is in this process."""

    def test_a_memory_store_hit_is_its_chunks_at_once(self, server: ProviderServer) -> None:
        key, entry = stored_answer(server)
        store = MemoryStore(cleanup_interval=None)
        store.set(key, entry)
        lookup = CacheLookup(key, CacheControl(), "openai", "gpt-4o-mini")
        assert ProductionStrategy(store).peek_stream(lookup) is not None
        assert ProductionStrategy(MemoryStore(cleanup_interval=None)).peek_stream(lookup) is None

    def test_a_redis_store_is_never_peeked(self, server: ProviderServer, redis_url: str) -> None:
        key, entry = stored_answer(server)
        store = RedisStore(redis_url, namespace="peek", timeout=5.0)
        try:
            store.set(key, entry)
            lookup = CacheLookup(key, CacheControl(), "openai", "gpt-4o-mini")
            assert ProductionStrategy(store).peek_stream(lookup) is None
        finally:
            store.clear()
            store.close()


class TestAsyncRefresh:
    """An async stream with cache="refresh" never serves the stored answer."""

    async def test_it_streams_from_the_provider_and_replaces_the_entry(
        self, server: ProviderServer
    ) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        with Client(cache_strategy=strategy) as client:
            for cache in (True, "refresh"):
                stream = client.astream("openai", USER, cache=cache, **options(server))
                chunks = [chunk async for chunk in stream]
                assert chunks[0].metadata.get("from_cache", False) is False
        assert len(server.requests) == 2
        assert strategy.stats().puts == 2


class TestAStoreElsewhere:
    """An async stream answered by a store in another process reports its hit as a chat does."""

    async def test_a_redis_hit_reports_its_key_and_duration(
        self, server: ProviderServer, redis_url: str, events: Events
    ) -> None:
        key, entry = stored_answer(server)
        events.clear()
        store = RedisStore(redis_url, namespace="elsewhere", timeout=5.0)
        try:
            store.set(key, entry)
            with Client(cache_strategy=ProductionStrategy(store)) as client:
                before = time.perf_counter_ns()
                stream = client.astream("openai", USER, **options(server))
                chunks = [chunk async for chunk in stream]
                elapsed = time.perf_counter_ns() - before
        finally:
            store.clear()
            await store.aclose()
            store.close()
        assert text(chunks) == ANSWER
        assert chunks[0].metadata["from_cache"] is True
        assert names(events) == ["hit"]
        [(_, measurements, labels)] = events
        assert labels["key"] == key
        assert 0 <= measurements["duration_ns"] <= elapsed
