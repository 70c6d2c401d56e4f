"""ProductionStrategy with a cross-process flight lock, sync and async (``cache.production``).

Another process is played by a plain redis-py client that holds the lock
of the call's key and never lets go. Time is a fake monotonic clock that
the lock's injected sleeps advance, so no test waits for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from exllm_py import Client, MockProvider
from exllm_py.cache.distributed_lock import RedisFlightLock, lock_name
from exllm_py.cache.keys import cache_key
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.stores.redis import RedisStore
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.clocks import FakeClock

NAMESPACE = "prodlock"
USER = [{"role": "user", "content": "What is the capital of France?"}]
LOCK_MAX_WAIT = 20.0


class Timeline:
    """A fake monotonic clock and the sleeps that advance it."""

    def __init__(self) -> None:
        self.clock = FakeClock(0.0)

    def sleep(self, seconds: float) -> None:
        self.clock.tick(seconds)

    async def asleep(self, seconds: float) -> None:
        self.clock.tick(seconds)


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    store = RedisStore(redis_url, namespace=NAMESPACE, timeout=5.0)
    yield store
    store.close()


@pytest.fixture
def timeline() -> Timeline:
    return Timeline()


@pytest.fixture
def strategy(store: RedisStore, timeline: Timeline) -> ProductionStrategy:
    lock = RedisFlightLock(
        store,
        max_wait=LOCK_MAX_WAIT,
        poll_interval=0.5,
        clock=timeline.clock,
        sleep=timeline.sleep,
        asleep=timeline.asleep,
    )
    return ProductionStrategy(store, lock=lock)


class TestSyncCallsUnderTheLock:
    """A sync read-through miss computes under its key's lock; a refresh computes without it."""

    @pytest.mark.parametrize(("cache", "held"), [(True, 1), ("refresh", 0)])
    def test_only_a_read_through_miss_holds_the_calls_lock_while_computing(
        self,
        strategy: ProductionStrategy,
        other_process: redis.Redis,
        cache: bool | str,
        held: int,
    ) -> None:
        key = cache_key("mock", USER, {})
        held_during: list[int] = []

        def answer(_messages: Any) -> str:
            held_during.append(other_process.exists(lock_name(NAMESPACE, key)))
            return "Paris."

        with Client(cache_strategy=strategy, mock=MockProvider(answer)) as client:
            response = client.chat("mock", USER, cache=cache)
            hit = client.chat("mock", USER)
        assert (response.content, hit.content) == ("Paris.", "Paris.")
        assert hit.metadata["from_cache"] is True
        assert held_during == [held]
        assert other_process.exists(lock_name(NAMESPACE, key)) == 0


class TestAsyncCallsUnderTheLock:
    """An async miss computes under its key's lock, and waits for another at most its timeout."""

    async def test_the_lock_held_while_computing_is_the_calls_keys(
        self, strategy: ProductionStrategy, other_process: redis.Redis
    ) -> None:
        key = cache_key("mock", USER, {})
        held_during: list[int] = []

        def answer(_messages: Any) -> str:
            held_during.append(other_process.exists(lock_name(NAMESPACE, key)))
            return "Paris."

        with Client(cache_strategy=strategy, mock=MockProvider(answer)) as client:
            response = await client.achat("mock", USER)
        assert response.content == "Paris."
        assert held_during == [1]
        assert other_process.exists(lock_name(NAMESPACE, key)) == 0
        await strategy.store.aclose()

    @pytest.mark.parametrize("allowed", [3.0, None])
    async def test_a_lock_held_elsewhere_is_waited_for_at_most_the_calls_timeout(
        self,
        strategy: ProductionStrategy,
        other_process: redis.Redis,
        timeline: Timeline,
        allowed: float | None,
    ) -> None:
        key = cache_key("mock", USER, {})
        other_process.set(lock_name(NAMESPACE, key), b"another-process", px=3_600_000)
        mock = MockProvider("Paris.")
        with Client(cache_strategy=strategy, mock=mock) as client:
            options = {} if allowed is None else {"timeout": allowed}
            response = await client.achat("mock", USER, **options)
        assert response.content == "Paris."
        assert mock.calls == 1
        assert timeline.clock() == pytest.approx(LOCK_MAX_WAIT if allowed is None else allowed)
        await strategy.store.aclose()


class TestSemanticUnderTheLock:
    """An answer computed under the lock is filed by meaning too, sync or async."""

    @pytest.mark.parametrize("asynchronous", [False, True])
    async def test_a_reworded_question_is_served_the_locked_miss_answer(
        self, store: RedisStore, timeline: Timeline, asynchronous: bool
    ) -> None:
        lock = RedisFlightLock(store, clock=timeline.clock, sleep=timeline.sleep)
        semantic = SemanticCache(WordsEmbedder(), threshold=0.8)
        strategy = ProductionStrategy(store, lock=lock, semantic=semantic)
        mock = MockProvider(lambda messages: f"answer to: {messages[-1]['content']}")
        asked, reworded = "What is the capital of France?", "what is the capital of france"
        with Client(cache_strategy=strategy, mock=mock) as client:
            if asynchronous:
                await client.achat("mock", [user(asked)], cache="semantic")
            else:
                client.chat("mock", [user(asked)], cache="semantic")
            served = client.chat("mock", [user(reworded)], cache="semantic")
        assert served.content == f"answer to: {asked}"
        assert served.metadata["cache_match"] == "semantic"
        assert mock.calls == 1
        await store.aclose()


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}
