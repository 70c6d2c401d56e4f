"""Cross-process single-flight waits at most 20 s by default, and never longer than the call allows.

The README: waiters "poll for the leader's entry, at most the call's timeout
(and ``max_wait``, 20 s by default)". The lock here is built without
``max_wait``, so its default is what is tested. Another process's lock is
a plain key set with redis-py that never goes away; time is a fake
monotonic clock that the lock's injected ``sleep`` advances, so no test
sleeps for real.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from exllm_py.cache.distributed_lock import RedisFlightLock, lock_name
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock

NAMESPACE = "maxwait"
KEY = "k"
DEFAULT_MAX_WAIT = 20.0
POLL_S = 0.5  # fewer Redis round trips than the default; the bound does not depend on it


class Timeline:
    """A fake monotonic clock, the ``sleep`` that advances it, and when ``produce`` ran."""

    def __init__(self) -> None:
        self.clock = FakeClock(0.0)
        self.produced_at: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.clock.tick(seconds)

    async def asleep(self, seconds: float) -> None:
        self.clock.tick(seconds)

    def produce(self) -> LLMResponse:
        self.produced_at.append(self.clock())
        return LLMResponse(content="computed", model="m", provider="mock")

    async def aproduce(self) -> LLMResponse:
        return self.produce()


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    store = RedisStore(redis_url, namespace=NAMESPACE, timeout=5.0)
    yield store
    store.close()


@pytest.fixture
def held_elsewhere(redis_url: str) -> Iterator[redis.Redis]:
    """The key's lock, held by another process that never finishes."""
    client = redis.Redis.from_url(redis_url)
    client.set(lock_name(NAMESPACE, KEY), b"another-process", px=3_600_000)
    yield client
    client.close()


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


def default_lock(store: RedisStore, timeline: Timeline) -> RedisFlightLock:
    """A lock with the default max_wait (and lock_ttl), on the fake timeline."""
    return RedisFlightLock(
        store,
        poll_interval=POLL_S,
        clock=timeline.clock,
        sleep=timeline.sleep,
        asleep=timeline.asleep,
    )


@pytest.mark.usefixtures("held_elsewhere")
class TestDefaultMaxWait:
    """A waiter whose call sets no bound of its own computes after exactly 20 s, not before."""

    def test_the_default_is_20_seconds(self, store: RedisStore, timeline: Timeline) -> None:
        assert default_lock(store, timeline).max_wait == DEFAULT_MAX_WAIT

    def test_no_timeout_waits_20_seconds(self, store: RedisStore, timeline: Timeline) -> None:
        default_lock(store, timeline).run(KEY, store, timeline.produce, None)
        assert timeline.produced_at == [pytest.approx(DEFAULT_MAX_WAIT)]

    def test_a_longer_timeout_still_waits_only_20_seconds(
        self, store: RedisStore, timeline: Timeline
    ) -> None:
        default_lock(store, timeline).run(KEY, store, timeline.produce, 60.0)
        assert timeline.produced_at == [pytest.approx(DEFAULT_MAX_WAIT)]

    async def test_the_async_twin_waits_20_seconds(
        self, store: RedisStore, timeline: Timeline
    ) -> None:
        await default_lock(store, timeline).arun(KEY, store, timeline.aproduce, None)
        assert timeline.produced_at == [pytest.approx(DEFAULT_MAX_WAIT)]
        await store.aclose()


@pytest.mark.usefixtures("held_elsewhere")
class TestTheCallsTimeout:
    """A call that allows less than 20 s waits only that long."""

    def test_a_shorter_timeout_bounds_the_wait(self, store: RedisStore, timeline: Timeline) -> None:
        default_lock(store, timeline).run(KEY, store, timeline.produce, 3.0)
        assert timeline.produced_at == [pytest.approx(3.0)]

    def test_just_under_20_seconds_is_not_cut_short(
        self, store: RedisStore, timeline: Timeline
    ) -> None:
        default_lock(store, timeline).run(KEY, store, timeline.produce, 19.5)
        assert timeline.produced_at == [pytest.approx(19.5)]

    async def test_the_async_twin_waits_only_the_calls_timeout(
        self, store: RedisStore, timeline: Timeline
    ) -> None:
        await default_lock(store, timeline).arun(KEY, store, timeline.aproduce, 3.0)
        assert timeline.produced_at == [pytest.approx(3.0)]
        await store.aclose()
