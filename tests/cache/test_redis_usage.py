"""The counts a ``RedisStore`` keeps in Redis, read from async code: ``ausage``.

``exllm_py.cache.stores.redis_usage`` holds one hash per namespace; the sync
``usage()`` and the counting itself are specified in
``tests/cache/test_store_usage.py``. Here the async twin is held to the same
contract, on the real redis-server the tests start.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from exllm_py.cache.entry import make_entry
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.redis_usage import aread_usage, read_usage, usage_key
from exllm_py.cache.stores.usage import StoreUsage
from exllm_py.errors import ConfigurationError
from exllm_py.types import LLMResponse
from tests.redis_server import RedisServer

#: What the stored answer cost when it was paid for: what each hit on it saves.
COST = 0.0125
NAMESPACE = "async-usage"
#: The commands whose calls an add of counts is held to.
COMMANDS = ("hincrby", "hincrbyfloat", "multi", "exec")


@pytest.fixture
async def opened(redis_url: str) -> AsyncIterator[Callable[[], RedisStore]]:
    """Opens a store object on one shared Redis namespace, as a process would."""
    made: list[RedisStore] = []

    def open_one() -> RedisStore:
        store = RedisStore(redis_url, NAMESPACE, timeout=5.0)
        made.append(store)
        return store

    yield open_one
    for store in made:
        await store.aclose()
        store.close()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    with redis_server.client() as client:
        yield client


def counts(usage: StoreUsage) -> tuple[int, int, float]:
    return usage.hits, usage.misses, usage.saved_cost_usd


async def _ause(store: RedisStore, hits: int, misses: int) -> None:
    """``hits`` async hits on a priced answer, and ``misses`` async calls that missed."""
    response = LLMResponse("Paris.", "gpt-4o-mini", "openai", cost=COST)
    await store.aset("known", make_entry(response, "known", time.time(), 900))
    for _ in range(hits):
        assert await store.aget("known") is not None
    for call in range(misses):
        assert await store.aget(f"unknown-{call}") is None


class TestAsyncUsage:
    """``ausage`` reads what every store object counted in the namespace, its own included."""

    async def test_it_adds_its_own_counts_not_yet_written(
        self, opened: Callable[[], RedisStore]
    ) -> None:
        """Counts of async calls not yet sent are added before the read, and stay added."""
        store = opened()
        await _ause(store, hits=3, misses=2)
        expected = (3, 2, pytest.approx(3 * COST))
        assert counts(await store.ausage()) == expected
        assert counts(opened().usage()) == expected  # in Redis, where every process reads them

    async def test_it_reads_what_other_store_objects_wrote(
        self, opened: Callable[[], RedisStore]
    ) -> None:
        """A store object that counted nothing itself reads the others' counts."""
        first, second = opened(), opened()
        await _ause(first, hits=2, misses=1)
        await first.aclose()  # a process that ends writes what it counted
        await _ause(second, hits=1, misses=3)
        expected = (3, 4, pytest.approx(3 * COST))
        assert counts(await second.ausage()) == expected
        assert counts(await opened().ausage()) == expected

    async def test_without_any_count_it_reads_zero(self, opened: Callable[[], RedisStore]) -> None:
        """A namespace nobody counted in reads as no hits, no misses, nothing saved."""
        assert await opened().ausage() == StoreUsage(hits=0, misses=0, saved_cost_usd=0.0)


class TestAsyncUnreadable:
    """An async read of the counts from a Redis that is down says so, naming the store."""

    async def test_a_redis_that_is_down(self, private_redis: RedisServer) -> None:
        """The error names the namespace and the server, never the password."""
        url = private_redis.url.replace("redis://", "redis://default:s3cret-pass@")
        store = RedisStore(url, NAMESPACE)
        private_redis.kill()
        with pytest.raises(ConfigurationError) as raised:
            await store.ausage()
        message = str(raised.value)
        assert message.startswith(
            f"RedisStore could not read its counts in namespace {NAMESPACE!r} at "
            f"redis://default:***@127.0.0.1:{private_redis.port}"
        )
        assert "s3cret-pass" not in message
        await store.aclose()
        store.close()


class TestWhereTheCountsLive:
    """One hash per namespace, ``<namespace>@usage``, beside the entries and outliving them."""

    async def test_the_hash_holds_the_three_counts(
        self, opened: Callable[[], RedisStore], raw: redis.Redis
    ) -> None:
        """Its fields are hits, misses and saved_cost_usd; clearing the namespace leaves it."""
        store = opened()
        await _ause(store, hits=2, misses=1)
        await store.ausage()
        await store.aclose()
        store.clear()
        fields = raw.hgetall(f"{NAMESPACE}@usage")
        assert sorted(fields) == [b"hits", b"misses", b"saved_cost_usd"]
        assert (int(fields[b"hits"]), int(fields[b"misses"])) == (2, 1)
        assert float(fields[b"saved_cost_usd"]) == pytest.approx(2 * COST)

    async def test_a_client_that_decodes_replies_reads_the_same_counts(
        self, opened: Callable[[], RedisStore], redis_url: str
    ) -> None:
        """read_usage and aread_usage take field names as bytes or as text."""
        store = opened()
        await _ause(store, hits=1, misses=2)
        expected = counts(await store.ausage())
        name = usage_key(NAMESPACE)
        with redis.Redis.from_url(redis_url, decode_responses=True) as decoding:
            assert counts(read_usage(decoding, name)) == expected
        adecoding = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        assert counts(await aread_usage(adecoding, name)) == expected
        await adecoding.aclose()
        assert expected == (1, 2, pytest.approx(COST))


def calls(admin: redis.Redis, command: str) -> int:
    """How many times ``command`` ran since the last ``CONFIG RESETSTAT``."""
    stats: dict[str, Any] = admin.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


class TestOneRoundTrip:
    """A batch of counts is added in one plain pipeline of increments, never a ``MULTI``."""

    async def test_sync_and_async_add_only_the_counts_that_changed(
        self, private_redis: RedisServer
    ) -> None:
        """HINCRBY for hits and for misses, HINCRBYFLOAT for the cost: each only if not zero."""
        store = RedisStore(private_redis.url, NAMESPACE, timeout=5.0)
        await _ause(store, hits=1, misses=1)
        with private_redis.client() as admin:
            admin.config_resetstat()
            store.usage()  # hits, misses and cost
            await _ause(store, hits=2, misses=0)
            await store.ausage()  # hits and cost
            sent = {command: calls(admin, command) for command in COMMANDS}
        await store.aclose()
        store.close()
        assert sent == {"hincrby": 3, "hincrbyfloat": 2, "multi": 0, "exec": 0}
