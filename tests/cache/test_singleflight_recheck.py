"""The single-flight leader reads the store once more before it calls the provider.

The race it closes: caller A reads the store and misses; before A joins
the key's flight, caller B runs a whole call (it leads, computes, stores
and lands its flight). A then finds no flight and leads one of its own.
Without the second read A would call the provider again for an answer
that is already stored. Here the race is forced with events, not timing:
A's first read is held until B has finished.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from exllm_py import Client, LLMResponse, MockProvider
from exllm_py.cache.entry import CacheEntry, make_entry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from tests.cache.flight_parties import eventually

USER = [{"role": "user", "content": "What changed today?"}]
WAIT_S = 10.0  # a bound on every wait below, so a broken build fails instead of hanging


class FirstReadHeld(MemoryStore):
    """A MemoryStore whose first read returns what it found, once the test lets it go.

    The first read is the late caller's; everything else passes straight through.
    """

    def __init__(self) -> None:
        super().__init__(cleanup_interval=None)
        self.first_read_done = threading.Event()
        self.release_first_read = threading.Event()
        self.async_first_read_done = asyncio.Event()
        self.async_release_first_read = asyncio.Event()
        self._armed = True
        self._armed_lock = threading.Lock()

    def _take_first(self) -> bool:
        with self._armed_lock:
            first, self._armed = self._armed, False
            return first

    def get(self, key: str) -> CacheEntry | None:
        entry = super().get(key)
        if self._take_first():
            self.first_read_done.set()
            if not self.release_first_read.wait(WAIT_S):
                raise AssertionError("the held read was never released")
        return entry

    async def aget(self, key: str) -> CacheEntry | None:
        entry = super().get(key)
        if self._take_first():
            self.async_first_read_done.set()
            await asyncio.wait_for(self.async_release_first_read.wait(), WAIT_S)
        return entry


@pytest.fixture
def store() -> FirstReadHeld:
    return FirstReadHeld()


@pytest.fixture
def client(store: FirstReadHeld) -> Iterator[Client]:
    strategy = ProductionStrategy(store)
    with Client(cache_strategy=strategy, mock=MockProvider("Nothing much.")) as made:
        yield made


class TestLeaderRechecksTheStore:
    """A caller that missed just before an identical call landed gets its answer, not a new call."""

    def test_threads(self, client: Client, store: FirstReadHeld) -> None:
        late: list[LLMResponse] = []
        errors: list[BaseException] = []

        def late_caller() -> None:
            try:
                late.append(client.chat("mock", USER))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=late_caller)
        thread.start()
        try:
            assert store.first_read_done.wait(WAIT_S), "the late caller never read the store"
            # The late caller has missed; now an identical call runs from start to end.
            early = client.chat("mock", USER)
        finally:
            store.release_first_read.set()
            thread.join(WAIT_S)
        assert not thread.is_alive()
        assert errors == []
        assert early.metadata["from_cache"] is False
        assert late[0].metadata["from_cache"] is True
        assert late[0].content == early.content
        assert client.mock.calls == 1

    async def test_tasks(self, client: Client, store: FirstReadHeld) -> None:
        late_task = asyncio.create_task(client.achat("mock", USER))
        try:
            await asyncio.wait_for(store.async_first_read_done.wait(), WAIT_S)
            early = await client.achat("mock", USER)
        finally:
            store.async_release_first_read.set()
        late = await asyncio.wait_for(late_task, WAIT_S)
        assert early.metadata["from_cache"] is False
        assert late.metadata["from_cache"] is True
        assert client.mock.calls == 1
        await client.aclose()

    def test_the_late_caller_counts_as_a_hit(self, client: Client, store: FirstReadHeld) -> None:
        """stats() counts one miss (one provider call) and one hit."""
        thread = threading.Thread(target=client.chat, args=("mock", USER))
        thread.start()
        try:
            assert store.first_read_done.wait(WAIT_S)
            client.chat("mock", USER)
        finally:
            store.release_first_read.set()
            thread.join(WAIT_S)
        stats = client.cache_strategy.stats()
        assert (stats.misses, client.mock.calls) == (1, 1)


class RecheckFindsALandedAnswer(MemoryStore):
    """A store in which an answer lands while the leader re-reads it, and the test lets it go.

    Read 1 is the leader's (a miss), read 2 its re-check, held until the test
    releases it and then finding an answer stored meanwhile; reads in between
    (a follower's) miss.
    """

    def __init__(self) -> None:
        super().__init__(cleanup_interval=None)
        self.rechecking = threading.Event()
        self.land = threading.Event()
        self._reads = 0
        self._reads_lock = threading.Lock()

    def get(self, key: str) -> CacheEntry | None:
        with self._reads_lock:
            self._reads += 1
            read = self._reads
        if read == 2:
            self.rechecking.set()
            if not self.land.wait(WAIT_S):
                raise AssertionError("the held re-check was never released")
            landed = LLMResponse(content="Landed meanwhile.", model="m", provider="mock")
            self.set(key, make_entry(landed, key, self.clock(), None))
        return super().get(key)


class TestFollowersOfARecheckHit:
    """When the leader's re-check finds the answer, its followers get that same hit, unmarked."""

    def test_the_follower_gets_the_stored_hit_as_it_is(self) -> None:
        store = RecheckFindsALandedAnswer()
        strategy = ProductionStrategy(store)
        answers: dict[str, LLMResponse] = {}
        with Client(cache_strategy=strategy, mock=MockProvider("Computed.")) as client:
            leader = threading.Thread(
                target=lambda: answers.setdefault("leader", client.chat("mock", USER))
            )
            leader.start()
            follower: threading.Thread | None = None
            try:
                assert store.rechecking.wait(WAIT_S), "the leader never re-read the store"
                follower = threading.Thread(
                    target=lambda: answers.setdefault("follower", client.chat("mock", USER))
                )
                follower.start()
                eventually(lambda: strategy.waiting() == 1)
            finally:
                store.land.set()
                leader.join(WAIT_S)
                if follower is not None:
                    follower.join(WAIT_S)
            assert client.mock.calls == 0
        assert answers["leader"].content == answers["follower"].content == "Landed meanwhile."
        assert answers["follower"].metadata == answers["leader"].metadata
        assert "single_flight" not in answers["follower"].metadata
