"""The cross-process lock's decisions, over a real redis-server (``cache.distributed_lock``).

Another process is played by a plain redis-py client that sets or deletes
the lock key. Time is a fake monotonic clock advanced by the lock's
injected ``sleep``, so no test waits for real.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis

from exllm_py.cache.distributed_lock import RedisFlightLock, lock_name
from exllm_py.cache.entry import CacheEntry, make_entry
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.errors import ValidationError
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock
from tests.redis_server import RedisServer

NAMESPACE = "lockflow"
KEY = "k"
LOCK = lock_name(NAMESPACE, KEY)


def _answer(content: str) -> LLMResponse:
    return LLMResponse(content=content, model="m", provider="mock")


class Timeline:
    """A fake monotonic clock, the sleeps that advance it, and what ``produce`` was asked."""

    def __init__(self) -> None:
        self.clock = FakeClock(0.0)
        self.pauses: list[float] = []
        self.produced = 0

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.tick(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def produce(self) -> LLMResponse:
        self.produced += 1
        return _answer("computed here")

    async def aproduce(self) -> LLMResponse:
        return self.produce()

    def lock(self, store: RedisStore) -> RedisFlightLock:
        return RedisFlightLock(
            store,
            max_wait=10.0,
            poll_interval=1.0,
            clock=self.clock,
            sleep=self.sleep,
            asleep=self.asleep,
        )


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    store = RedisStore(redis_url, namespace=NAMESPACE, timeout=5.0)
    yield store
    store.close()


class HolderLandsAfterTheRead(MemoryStore):
    """A store the other process writes to just after this process's first read of it.

    Between the waiter's look (nothing yet) and its check of the lock, the
    holder stores its answer and releases its lock: the narrow race the
    waiter must still get right.
    """

    def __init__(self, other_process: redis.Redis, answer: LLMResponse) -> None:
        super().__init__(cleanup_interval=None)
        self.other_process = other_process
        self.answer = answer
        self.landed = False

    def get(self, key: str) -> CacheEntry | None:
        found = super().get(key)
        if not self.landed:
            self.landed = True
            self.set(key, make_entry(self.answer, key, self.clock(), None))
            self.other_process.delete(LOCK)
        return found


class TestAFreeLock:
    """A lock that is free is taken, the answer computed and the lock released, without reads."""

    def test_taking_a_free_lock_reads_nothing_from_the_store(
        self, store: RedisStore, timeline: Timeline
    ) -> None:
        looked_in = MemoryStore(cleanup_interval=None)
        answer = timeline.lock(store).run(KEY, looked_in, timeline.produce, None)
        assert answer.content == "computed here"
        stats = looked_in.stats()
        assert stats.hits + stats.misses == 0
        assert timeline.pauses == []

    def test_the_lock_is_released_afterwards(
        self, store: RedisStore, timeline: Timeline, other_process: redis.Redis
    ) -> None:
        seen_during: list[int] = []

        def produce() -> LLMResponse:
            seen_during.append(other_process.exists(LOCK))
            return timeline.produce()

        timeline.lock(store).run(KEY, MemoryStore(cleanup_interval=None), produce, None)
        assert seen_during == [1]
        assert other_process.exists(LOCK) == 0


class TestTakingOver:
    """A waiter that takes the lock over still returns the answer its holder stored just before."""

    def test_an_answer_that_landed_as_the_lock_went_away_is_returned(
        self, store: RedisStore, timeline: Timeline, other_process: redis.Redis
    ) -> None:
        other_process.set(LOCK, b"another-process", px=3_600_000)
        looked_in = HolderLandsAfterTheRead(other_process, _answer("computed elsewhere"))
        answer = timeline.lock(store).run(KEY, looked_in, timeline.produce, None)
        assert answer.content == "computed elsewhere"
        assert timeline.produced == 0
        assert other_process.exists(LOCK) == 0  # the lock taken over was released again

    async def test_the_async_twin_returns_it_too(
        self, store: RedisStore, timeline: Timeline, other_process: redis.Redis
    ) -> None:
        other_process.set(LOCK, b"another-process", px=3_600_000)
        looked_in = HolderLandsAfterTheRead(other_process, _answer("computed elsewhere"))
        answer = await timeline.lock(store).arun(KEY, looked_in, timeline.aproduce, None)
        assert answer.content == "computed elsewhere"
        assert timeline.produced == 0
        assert other_process.exists(LOCK) == 0
        await store.aclose()


class TestOnTheHoldersThread:
    """A call for a key whose lock this very thread holds computes at once, without waiting."""

    def test_a_nested_call_for_the_same_key_does_not_wait(
        self, store: RedisStore, timeline: Timeline
    ) -> None:
        inner = Timeline()

        def produce_outer() -> LLMResponse:
            # Another strategy on the same namespace, called from inside the holder.
            return inner.lock(store).run(
                KEY, MemoryStore(cleanup_interval=None), inner.produce, None
            )

        answer = timeline.lock(store).run(
            KEY, MemoryStore(cleanup_interval=None), produce_outer, None
        )
        assert answer.content == "computed here"
        assert (inner.produced, inner.pauses) == (1, [])


def _unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unreachable_store() -> Iterator[RedisStore]:
    """A RedisStore pointed at a loopback port nobody listens on."""
    store = RedisStore(f"redis://127.0.0.1:{_unused_port()}/0", namespace=NAMESPACE, timeout=0.5)
    yield store
    store.close()


class TestRedisFailing:
    """When a lock command fails, the call computes, and the rest of that key's call skips Redis."""

    def test_a_failed_take_computes_and_spares_the_key(
        self, unreachable_store: RedisStore, timeline: Timeline
    ) -> None:
        lock = timeline.lock(unreachable_store)
        answer = lock.run(KEY, MemoryStore(cleanup_interval=None), timeline.produce, None)
        assert answer.content == "computed here"
        assert unreachable_store.guard.spared(KEY) is True
        assert unreachable_store.guard.spared("another key") is False

    async def test_the_async_twin_spares_the_key_too(
        self, unreachable_store: RedisStore, timeline: Timeline
    ) -> None:
        lock = timeline.lock(unreachable_store)
        answer = await lock.arun(KEY, MemoryStore(cleanup_interval=None), timeline.aproduce, None)
        assert answer.content == "computed here"
        assert unreachable_store.guard.spared(KEY) is True
        await unreachable_store.aclose()

    def test_a_failed_release_spares_the_key(
        self, private_redis: RedisServer, timeline: Timeline
    ) -> None:
        store = RedisStore(private_redis.url, namespace=NAMESPACE, timeout=0.5)
        try:

            def produce() -> LLMResponse:
                private_redis.kill()  # Redis goes down while the answer is computed
                return timeline.produce()

            answer = timeline.lock(store).run(KEY, MemoryStore(cleanup_interval=None), produce, 5.0)
            assert answer.content == "computed here"
            assert store.guard.spared(KEY) is True
        finally:
            store.close()

    async def test_a_failed_async_release_spares_the_key(
        self, private_redis: RedisServer, timeline: Timeline
    ) -> None:
        store = RedisStore(private_redis.url, namespace=NAMESPACE, timeout=0.5)
        try:

            async def produce() -> LLMResponse:
                private_redis.kill()
                return timeline.produce()

            lock = timeline.lock(store)
            answer = await lock.arun(KEY, MemoryStore(cleanup_interval=None), produce, 5.0)
            assert answer.content == "computed here"
            assert store.guard.spared(KEY) is True
        finally:
            await store.aclose()
            store.close()


class TestWaitingCostsReadsOnly:
    """While another process holds the lock, a waiter polls with reads, not more takes."""

    def test_one_take_then_only_exists_per_poll(
        self, store: RedisStore, timeline: Timeline, other_process: redis.Redis
    ) -> None:
        other_process.set(LOCK, b"another-process", px=3_600_000)
        before = _command_calls(other_process)
        timeline.lock(store).run(KEY, MemoryStore(cleanup_interval=None), timeline.produce, 5.0)
        after = _command_calls(other_process)
        polls = len(timeline.pauses)
        assert polls == 5
        assert after.get("set", 0) - before.get("set", 0) == 1
        assert after.get("exists", 0) - before.get("exists", 0) == polls


def _command_calls(client: redis.Redis) -> dict[str, int]:
    """How many times the server ran each command so far (``INFO commandstats``)."""
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


class TestDefaults:
    """A lock built with no settings lives 20 s in Redis and polls every 25 ms."""

    def test_the_lock_lives_20_seconds(self, store: RedisStore, other_process: redis.Redis) -> None:
        lives: list[int] = []

        def produce() -> LLMResponse:
            lives.append(other_process.pttl(LOCK))
            return _answer("computed here")

        RedisFlightLock(store).run(KEY, MemoryStore(cleanup_interval=None), produce, None)
        assert 19_000 < lives[0] <= 20_000

    def test_a_waiter_polls_every_25_ms(
        self, store: RedisStore, timeline: Timeline, other_process: redis.Redis
    ) -> None:
        other_process.set(LOCK, b"another-process", px=3_600_000)
        lock = RedisFlightLock(store, clock=timeline.clock, sleep=timeline.sleep)
        lock.run(KEY, MemoryStore(cleanup_interval=None), timeline.produce, 0.1)
        assert timeline.pauses[:3] == [0.025, 0.025, 0.025]
        assert sum(timeline.pauses) == pytest.approx(0.1)


class TestArguments:
    """The injected clock and sleeps are refused by name, saying what they should be."""

    @pytest.mark.parametrize(
        ("argument", "message"),
        [
            (
                "clock",
                "RedisFlightLock clock must be a function returning monotonic seconds, got 3",
            ),
            ("sleep", "RedisFlightLock sleep must be a function such as time.sleep, got 3"),
            (
                "asleep",
                "RedisFlightLock asleep must be a coroutine function such as asyncio.sleep, got 3",
            ),
        ],
    )
    def test_a_value_that_cannot_be_called_is_refused(
        self, store: RedisStore, argument: str, message: str
    ) -> None:
        with pytest.raises(ValidationError) as raised:
            RedisFlightLock(store, **{argument: 3})  # type: ignore[arg-type]
        assert str(raised.value) == message
