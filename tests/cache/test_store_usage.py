"""What a shared store counts of its use, and keeps in itself: ``exllm_py.cache.stores.usage``.

The batch is driven by hand with a fake monotonic clock. The stores that
keep the counts, ``DiskStore`` (in ``tmp_path``) and ``RedisStore`` (on the
real redis-server the tests start), are read through ``usage()``; the CLI
that shows them is tested in ``tests/cli/test_stats.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exllm_py.cache.entry import make_entry
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_faults import DiskStoreUnavailable
from exllm_py.cache.stores.disk_schema import DATABASE_NAME
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.usage import SAME_CALL, StoreUsage, UsageBatch, saved_cost_of
from exllm_py.errors import ConfigurationError
from exllm_py.types import LLMResponse
from tests.cache.test_fork_safety import run_in_child_while_held
from tests.clocks import FakeClock
from tests.redis_server import RedisServer

#: What the stored answer cost when it was paid for: what each hit on it saves.
COST = 0.0125


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(0.0)


@pytest.fixture
def batch(clock: FakeClock) -> UsageBatch:
    return UsageBatch(1.0, clock=clock)


class TestStoreUsage:
    """Hits, misses and the saved cost, with the hit rate they give."""

    def test_the_hit_rate_is_hits_over_lookups(self) -> None:
        usage = StoreUsage(hits=3, misses=1, saved_cost_usd=0.25)
        assert (usage.lookups, usage.hit_rate) == (4, 0.75)
        assert usage.as_dict() == {
            "hits": 3,
            "misses": 1,
            "hit_rate": 0.75,
            "saved_cost_usd": 0.25,
        }

    def test_without_a_lookup_there_is_no_hit_rate(self) -> None:
        assert StoreUsage().hit_rate is None
        assert not StoreUsage()


class TestSavedCost:
    """A hit saves what its answer cost when it was paid for; unknown costs save nothing."""

    @pytest.mark.parametrize(
        ("metadata", "saved"),
        [
            ({"saved_cost": 0.0125}, 0.0125),
            ({"saved_cost": 2}, 2.0),
            ({"saved_cost": None}, 0.0),
            ({}, 0.0),
            ({"saved_cost": "0.5"}, 0.0),
            ({"saved_cost": True}, 0.0),
        ],
    )
    def test_saved_cost_of(self, metadata: dict[str, object], saved: float) -> None:
        assert saved_cost_of(metadata) == saved


class TestCounting:
    """A batch counts hits with their savings, and each call's misses once."""

    def test_hits_add_up_their_savings(self, batch: UsageBatch) -> None:
        batch.hit(0.5)
        batch.hit(0.25)
        assert batch.take() == StoreUsage(hits=2, misses=0, saved_cost_usd=0.75)

    def test_a_calls_second_look_is_not_a_second_miss(self, batch: UsageBatch) -> None:
        batch.miss("k")
        batch.miss("k")  # the flight leader's look before it calls the provider
        assert batch.take().misses == 1

    def test_the_next_call_that_misses_counts_again(self, batch: UsageBatch) -> None:
        for _ in range(3):  # three calls whose answer was not stored (an empty one)
            batch.miss("k")
            batch.miss("k")
        assert batch.take().misses == 3

    def test_a_miss_after_the_pairing_horizon_counts(
        self, batch: UsageBatch, clock: FakeClock
    ) -> None:
        batch.miss("k")  # a caller that then waited on a flight: no second look
        clock.tick(SAME_CALL)
        batch.miss("k")
        assert batch.take().misses == 2

    def test_misses_of_different_keys_all_count(self, batch: UsageBatch) -> None:
        batch.miss("a")
        batch.miss("b")
        assert batch.take().misses == 2


class TestTaking:
    """``take`` hands over the counts and starts anew; ``due`` says when a take is wanted."""

    def test_a_take_empties_the_batch(self, batch: UsageBatch) -> None:
        batch.hit(1.0)
        batch.miss("k")
        assert batch.take() == StoreUsage(1, 1, 1.0)
        assert batch.take() == StoreUsage()

    def test_it_is_due_an_interval_after_the_last_take(
        self, batch: UsageBatch, clock: FakeClock
    ) -> None:
        assert not batch.due()
        clock.tick(1.0)
        assert batch.due()
        batch.take()
        assert not batch.due()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestAfterFork:
    """A forked child counts on, even if a parent thread held the batch's lock at the fork."""

    def test_the_child_counts_and_takes_with_the_lock_held_in_the_parent(
        self, batch: UsageBatch
    ) -> None:
        batch.hit(0.5)

        def action() -> None:
            batch.hit(0.25)
            batch.miss("k")
            assert batch.take() == StoreUsage(hits=2, misses=1, saved_cost_usd=0.75)

        run_in_child_while_held(batch, "_lock", action)


SharedStore = DiskStore | RedisStore


@pytest.fixture(params=["disk", "redis"])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], SharedStore]]:
    """Opens a store object on one shared disk directory or Redis namespace, as a process would."""
    made: list[SharedStore] = []

    def open_one() -> SharedStore:
        if request.param == "disk":
            store: SharedStore = DiskStore(tmp_path / "cache")
        else:
            store = RedisStore(request.getfixturevalue("redis_url"), "usage", timeout=5.0)
        made.append(store)
        return store

    yield open_one
    for store in made:
        store.close()


def counts(usage: StoreUsage) -> tuple[int, int, float]:
    return usage.hits, usage.misses, usage.saved_cost_usd


def _use(store: SharedStore, hits: int, misses: int) -> None:
    """``hits`` hits on a priced answer, and ``misses`` calls that missed (each looks twice)."""
    response = LLMResponse("Paris.", "gpt-4o-mini", "openai", cost=COST)
    store.set("known", make_entry(response, "known", time.time(), 900))
    for _ in range(hits):
        assert store.get("known") is not None
    for call in range(misses):
        assert store.get(f"unknown-{call}") is None
        assert store.get(f"unknown-{call}") is None


class TestKeptInTheStore:
    """Disk and Redis stores keep every store object's counts, as long as the store."""

    def test_a_store_reads_its_own_counts_not_yet_written(
        self, opened: Callable[[], SharedStore]
    ) -> None:
        store = opened()
        _use(store, hits=3, misses=2)
        assert counts(store.usage()) == (3, 2, pytest.approx(3 * COST))

    def test_the_counts_of_every_store_object_add_up(
        self, opened: Callable[[], SharedStore]
    ) -> None:
        first, second = opened(), opened()
        _use(first, hits=2, misses=1)
        _use(second, hits=1, misses=3)
        first.close()  # a process that ends writes what it counted
        assert counts(second.usage()) == (3, 4, pytest.approx(3 * COST))
        assert counts(opened().usage()) == (3, 4, pytest.approx(3 * COST))

    def test_the_counts_outlive_the_entries(self, opened: Callable[[], SharedStore]) -> None:
        store = opened()
        _use(store, hits=2, misses=0)
        store.clear()
        assert store.stats().entries == 0
        assert counts(store.usage()) == (2, 0, pytest.approx(2 * COST))


class TestUnreadable:
    """A store that cannot be read says so when asked for its counts, naming it."""

    def test_a_redis_that_is_down(self, private_redis: RedisServer) -> None:
        url = private_redis.url.replace("redis://", "redis://default:s3cret-pass@")
        store = RedisStore(url, "usage")
        private_redis.kill()
        with pytest.raises(ConfigurationError, match="namespace 'usage'") as raised:
            store.usage()
        store.close()
        assert f"127.0.0.1:{private_redis.port}" in str(raised.value)
        assert "s3cret-pass" not in str(raised.value)

    def test_a_damaged_database(self, tmp_path: Path) -> None:
        (tmp_path / DATABASE_NAME).write_bytes(b"not a database, a grocery list" * 100)
        store = DiskStore(tmp_path)
        with pytest.raises(DiskStoreUnavailable, match=DATABASE_NAME):
            store.usage()
        store.close()
