"""TieredStore: L1 before L2, promotion with the remaining TTL, writes to both, tier reporting."""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import exllm_py
from exllm_py import telemetry
from exllm_py.cache.entry import CacheEntry, make_entry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.tiered import TIER_KEY, TieredStore
from exllm_py.errors import ValidationError
from exllm_py.types import LLMResponse, ToolCall
from tests.clocks import FakeClock

HI = [{"role": "user", "content": "Hi"}]


def entry(clock: FakeClock, content: str = "answer", ttl: float | None = 100.0) -> CacheEntry:
    return make_entry(LLMResponse(content=content, model="m", provider="mock"), "k", clock(), ttl)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def l1(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock, cleanup_interval=None)


@pytest.fixture
def l2(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock, cleanup_interval=None, default_ttl=3600)


@pytest.fixture
def tiered(l1: MemoryStore, l2: MemoryStore) -> TieredStore:
    return TieredStore(l1, l2)


@pytest.fixture
def hits() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    telemetry.attach(
        "test-tiered-hits", [telemetry.CACHE_HIT], lambda _e, _m, metadata: seen.append(metadata)
    )
    yield seen
    telemetry.detach("test-tiered-hits")


class TestReads:
    """L1 answers first; L2 answers what L1 lacks, and says so."""

    def test_an_l1_hit_never_reads_l2(
        self, tiered: TieredStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """An entry in L1 is served from L1, tagged ``l1``, with no L2 lookup."""
        tiered.set("k", entry(clock))
        got = tiered.get("k")
        assert got is not None
        assert got.response.metadata[TIER_KEY] == "l1"
        assert l2.stats().hits == l2.stats().misses == 0

    def test_an_l2_hit_is_tagged_l2_and_promoted(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """An entry only in L2 is served tagged ``l2`` and lands in L1 tagged ``l1``."""
        l2.set("k", entry(clock, "from l2"))
        got = tiered.get("k")
        assert got is not None
        assert got.response.content == "from l2"
        assert got.response.metadata[TIER_KEY] == "l2"
        assert got.response.metadata["from_cache"] is True
        promoted = l1.get("k")
        assert promoted is not None
        assert promoted.response.metadata[TIER_KEY] == "l1"
        again = tiered.get("k")
        assert again is not None
        assert again.response.metadata[TIER_KEY] == "l1"

    def test_an_l2_hit_and_its_promotion_are_read_only(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """Editing an L2 hit fails, and never reaches the copy promoted into L1."""
        response = LLMResponse(
            "from l2",
            "m",
            "mock",
            tool_calls=(ToolCall("c", "pay", {"amount": 10}),),
            raw={"n": [1]},
        )
        l2.set("k", make_entry(response, "k", clock(), 100.0))
        got = tiered.get("k")
        assert got is not None
        for edit in (
            lambda: operator.setitem(got.response.metadata, "from_cache", False),
            lambda: operator.setitem(got.response.metadata, TIER_KEY, "l1"),
            lambda: operator.setitem(got.response.tool_calls[0].arguments, "amount", 0),
            lambda: got.response.raw["n"].append(2),
        ):
            with pytest.raises(TypeError):
                edit()
        promoted = tiered.get("k")
        assert promoted is not None
        assert promoted.response.metadata[TIER_KEY] == "l1"
        assert promoted.response.metadata["from_cache"] is True
        assert promoted.response.tool_calls[0].arguments == {"amount": 10}
        assert promoted.response.raw == {"n": [1]}

    def test_an_l2_hit_from_redis_is_read_only(
        self, l1: MemoryStore, redis_url: str, clock: FakeClock
    ) -> None:
        """A hit decoded from Redis is as read-only as one from memory."""
        l2 = RedisStore(redis_url, namespace="tiered", clock=clock, timeout=2.0)
        tiered = TieredStore(l1, l2)
        l2.set("k", entry(clock, "from redis"))
        got = tiered.get("k")
        assert got is not None
        assert got.response.metadata[TIER_KEY] == "l2"
        with pytest.raises(TypeError):
            operator.setitem(got.response.metadata, "cache_key", "another")
        l2.close()

    def test_a_miss_in_both_tiers_is_a_miss(self, tiered: TieredStore) -> None:
        """Nothing anywhere reads as None and counts one miss."""
        assert tiered.get("k") is None
        assert tiered.stats().misses == 1

    def test_every_miss_is_counted(self, tiered: TieredStore) -> None:
        """Three lookups that no tier answers count three misses, not one."""
        for key in ("a", "b", "a"):
            assert tiered.get(key) is None
        assert tiered.stats().misses == 3

    def test_an_l2_hit_keeps_its_deadline(
        self, tiered: TieredStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """The entry served from L2 still says when it expires, as L2 stored it."""
        original = entry(clock, ttl=100)
        l2.set("k", original)
        clock.tick(30)
        got = tiered.get("k")
        assert got is not None
        assert got.response.metadata[TIER_KEY] == "l2"
        assert got.expires_at == original.expires_at

    def test_every_l2_hit_is_counted(
        self, tiered: TieredStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """Two keys first found in L2 count two L2 hits."""
        l2.set("a", entry(clock))
        l2.set("b", entry(clock))
        tiered.get("a")
        tiered.get("b")
        assert tiered.tier_hits() == {"l1": 0, "l2": 2}
        assert tiered.stats().hits == 2

    def test_tier_hits_split_the_hits(
        self, tiered: TieredStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """One L2 hit then two L1 hits."""
        l2.set("k", entry(clock))
        for _ in range(3):
            tiered.get("k")
        assert tiered.tier_hits() == {"l1": 2, "l2": 1}
        assert tiered.stats().hits == 3


class TestPromotion:
    """A promoted entry lives in L1 exactly as long as it has left in L2 (or less, if capped)."""

    def test_promotion_keeps_the_remaining_ttl(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """Stored for 100 s, promoted at 60 s: L1 serves it until 100 s, not 160 s."""
        original = entry(clock, ttl=100)
        l2.set("k", original)
        clock.tick(60)
        got = tiered.get("k")
        assert got is not None
        assert got.response.metadata[TIER_KEY] == "l2"
        promoted = l1.get("k")
        assert promoted is not None
        assert promoted.expires_at == original.expires_at
        clock.tick(39.9)
        again = tiered.get("k")
        assert again is not None
        assert again.response.metadata[TIER_KEY] == "l1"
        clock.tick(0.1)
        assert l1.get("k") is None
        assert tiered.get("k") is None

    def test_l1_ttl_caps_the_local_lifetime(
        self, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """With l1_ttl=5, L1 forgets after 5 s and L2 answers again."""
        tiered = TieredStore(l1, l2, l1_ttl=5)
        tiered.set("k", entry(clock, ttl=100))
        clock.tick(5)
        got = tiered.get("k")
        assert got is not None
        assert got.response.metadata[TIER_KEY] == "l2"
        promoted = l1.get("k")
        assert promoted is not None
        assert promoted.expires_at == clock() + 5

    def test_l1_ttl_never_lengthens_a_shorter_lifetime(
        self, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """With l1_ttl=50, an entry that has 10 s left leaves L1 after 10 s, not 50 s."""
        original = entry(clock, ttl=10)
        l2.set("k", original)
        tiered = TieredStore(l1, l2, l1_ttl=50)
        assert tiered.get("k") is not None
        promoted = l1.get("k")
        assert promoted is not None
        assert promoted.expires_at == original.expires_at
        clock.tick(10)
        assert tiered.get("k") is None

    def test_l1_ttl_caps_entries_that_never_expire(
        self, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """An entry without TTL still leaves L1 after l1_ttl."""
        TieredStore(l1, l2, l1_ttl=5).set("k", entry(clock, ttl=None))
        cached = l1.get("k")
        assert cached is not None
        assert cached.expires_at == clock() + 5
        stored = l2.get("k")
        assert stored is not None
        assert stored.expires_at is None

    def test_promotion_from_redis_keeps_the_remaining_ttl(
        self, redis_url: str, clock: FakeClock, l1: MemoryStore
    ) -> None:
        """The same holds with Redis as L2: the deadline travels with the entry."""
        l2 = RedisStore(redis_url, namespace="tiered", clock=clock, timeout=2.0)
        original = entry(clock, ttl=100)
        l2.set("k", original)
        clock.tick(60)
        got = TieredStore(l1, l2).get("k")
        assert got is not None
        assert got.response.metadata[TIER_KEY] == "l2"
        promoted = l1.get("k")
        assert promoted is not None
        assert promoted.expires_at == pytest.approx(original.expires_at)
        l2.close()


class TestWrites:
    """Writes, deletes and clears reach both tiers."""

    def test_set_writes_both_tiers(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """After set, each tier holds the entry; L2's copy carries no tier tag."""
        tiered.set("k", entry(clock))
        in_l1, in_l2 = l1.get("k"), l2.get("k")
        assert in_l1 is not None
        assert in_l2 is not None
        assert TIER_KEY not in in_l2.response.metadata
        assert tiered.stats().puts == 1

    def test_delete_removes_from_both(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """delete is True if either tier had it, and leaves neither with it."""
        l2.set("k", entry(clock))
        assert tiered.delete("k") is True
        assert l1.get("k") is None
        assert l2.get("k") is None
        assert tiered.delete("k") is False

    def test_stats_add_up_the_evictions_and_expirations_of_both_tiers(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """A delete evicts from each tier and an expired entry expires in each: both counted."""
        tiered.set("gone", entry(clock, ttl=100))
        tiered.set("old", entry(clock, ttl=10))
        l2.set("only-in-l2", entry(clock, ttl=10))
        tiered.delete("gone")
        clock.tick(10)
        assert tiered.get("old") is None
        assert tiered.get("only-in-l2") is None
        l1_stats, l2_stats = l1.stats(), l2.stats()
        assert (l1_stats.evictions, l2_stats.evictions) == (1, 1)
        assert (l1_stats.expirations, l2_stats.expirations) == (1, 2)
        stats = tiered.stats()
        assert (stats.evictions, stats.expirations) == (2, 3)

    def test_clear_empties_both(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """clear leaves no entry in either tier."""
        tiered.set("a", entry(clock))
        l2.set("b", entry(clock))
        tiered.clear()
        assert len(l1) == len(l2) == 0

    def test_defaults_come_from_the_tiers(self, tiered: TieredStore, clock: FakeClock) -> None:
        """default_ttl is L2's and clock is L1's."""
        assert tiered.default_ttl == 3600
        assert tiered.clock() == clock()

    @pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 10**20, "60", True])
    def test_a_bad_l1_ttl_is_refused(self, l1: MemoryStore, l2: MemoryStore, bad: object) -> None:
        """l1_ttl must be positive seconds (at most ten years) or None."""
        with pytest.raises(ValidationError, match="TieredStore l1_ttl must be") as refused:
            TieredStore(l1, l2, l1_ttl=bad)  # type: ignore[arg-type]
        assert str(refused.value).endswith("(or None: no cap)")

    @pytest.mark.parametrize("argument", ["l1", "l2"])
    def test_a_tier_that_is_not_a_store_is_refused(
        self, l1: MemoryStore, l2: MemoryStore, argument: str
    ) -> None:
        """Each tier must be a CacheStore (an instance, not its class)."""
        tiers: dict[str, object] = {"l1": l1, "l2": l2}
        for bad in ("redis://localhost:6379", MemoryStore, None):
            with pytest.raises(ValidationError, match=f"TieredStore {argument} must be a cache"):
                TieredStore(**{**tiers, argument: bad})  # type: ignore[arg-type]


class TestAsync:
    """The async twins read, promote and write the same way."""

    async def test_aget_promotes_and_tags(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """aget: L2 hit tagged l2 and promoted, then an L1 hit tagged l1."""
        await l2.aset("k", entry(clock))
        first = await tiered.aget("k")
        second = await tiered.aget("k")
        assert first is not None
        assert first.response.metadata[TIER_KEY] == "l2"
        assert second is not None
        assert second.response.metadata[TIER_KEY] == "l1"
        assert await tiered.aget("missing") is None

    async def test_aset_and_adelete_reach_both(
        self, tiered: TieredStore, l1: MemoryStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """aset writes both tiers; adelete removes from both."""
        await tiered.aset("k", entry(clock))
        assert l1.get("k") is not None
        assert l2.get("k") is not None
        assert await tiered.adelete("k") is True
        assert l1.get("k") is None
        assert l2.get("k") is None

    async def test_adelete_of_an_entry_only_in_l2_is_true(
        self, tiered: TieredStore, l2: MemoryStore, clock: FakeClock
    ) -> None:
        """adelete is True when L2 alone held the entry, and False once it is gone."""
        await l2.aset("k", entry(clock))
        assert await tiered.adelete("k") is True
        assert l2.get("k") is None
        assert await tiered.adelete("k") is False


class TestTelemetry:
    """The hit event of a call served by a TieredStore names the tier."""

    def test_hit_events_say_which_tier_answered(
        self, redis_url: str, hits: list[dict[str, Any]]
    ) -> None:
        """A fresh process-local L1 over a warm Redis: an l2 hit, then l1 hits."""
        l2 = RedisStore(redis_url, namespace="tiered", timeout=2.0)
        warm = TieredStore(MemoryStore(cleanup_interval=None), l2)
        with exllm_py.Client(cache_strategy=ProductionStrategy(warm)) as client:
            client.chat("mock", HI)
            client.chat("mock", HI)
        cold = TieredStore(MemoryStore(cleanup_interval=None), l2)
        with exllm_py.Client(cache_strategy=ProductionStrategy(cold)) as client:
            from_l2 = client.chat("mock", HI)
            from_l1 = client.chat("mock", HI)
            assert client.mock.calls == 0
        assert [event[TIER_KEY] for event in hits] == ["l1", "l2", "l1"]
        assert from_l2.metadata[TIER_KEY] == "l2"
        assert from_l1.metadata[TIER_KEY] == "l1"
        l2.close()


class SlowL2(MemoryStore):
    """An L2 whose reads let something else happen between the read and its return.

    ``meanwhile`` runs once, right after the next read found its entry: as
    another thread's change would land while the read's answer travels back.
    An async read also awaits what it returns, as another task's ``aset`` or
    ``adelete`` would run while the read's ``await`` yields.
    """

    meanwhile: Any = None

    def get(self, key: str) -> CacheEntry | None:
        found = super().get(key)
        self._change()
        return found

    async def aget(self, key: str) -> CacheEntry | None:
        found = super().get(key)
        done = self._change()
        if inspect.isawaitable(done):
            await done
        return found

    def _change(self) -> object:
        change, self.meanwhile = self.meanwhile, None
        return None if change is None else change()


class TestChangesDuringAnL2Read:
    """A read that found an entry in L2 never copies it into L1 after a change reached L1."""

    @pytest.fixture
    def slow(self, clock: FakeClock) -> SlowL2:
        return SlowL2(clock=clock, cleanup_interval=None)

    @pytest.fixture
    def store(self, l1: MemoryStore, slow: SlowL2) -> TieredStore:
        return TieredStore(l1, slow)

    def old_entry_in_l2_only(self, store: TieredStore, slow: SlowL2, clock: FakeClock) -> None:
        store.set("k", entry(clock, "old"))
        store.l1.delete("k")  # as if L1 had evicted it: the next read goes to L2

    def test_an_invalidation_during_the_read_is_not_undone(
        self, store: TieredStore, slow: SlowL2, clock: FakeClock
    ) -> None:
        self.old_entry_in_l2_only(store, slow, clock)
        slow.meanwhile = lambda: store.invalidate(Invalidation(key="k"))
        store.get("k")  # this read's answer predates the invalidation
        assert store.get("k") is None

    def test_a_newer_write_during_the_read_is_what_l1_keeps(
        self, store: TieredStore, slow: SlowL2, clock: FakeClock
    ) -> None:
        self.old_entry_in_l2_only(store, slow, clock)
        slow.meanwhile = lambda: store.set("k", entry(clock, "new"))
        store.get("k")
        served = store.get("k")
        assert served is not None
        assert served.response.content == "new"

    def test_a_delete_during_the_read_is_not_undone(
        self, store: TieredStore, slow: SlowL2, clock: FakeClock
    ) -> None:
        self.old_entry_in_l2_only(store, slow, clock)
        slow.meanwhile = lambda: store.delete("k")
        store.get("k")
        assert store.get("k") is None

    def test_a_clear_during_the_read_is_not_undone(
        self, store: TieredStore, slow: SlowL2, clock: FakeClock
    ) -> None:
        self.old_entry_in_l2_only(store, slow, clock)
        slow.meanwhile = store.clear
        store.get("k")
        assert store.get("k") is None

    async def test_async_reads_follow_the_same_rule(
        self, store: TieredStore, slow: SlowL2, clock: FakeClock
    ) -> None:
        self.old_entry_in_l2_only(store, slow, clock)
        slow.meanwhile = lambda: store.invalidate(Invalidation(key="k"))
        await store.aget("k")
        assert await store.aget("k") is None

    @pytest.mark.parametrize(
        "remove",
        [
            lambda store: store.delete("k"),
            lambda store: store.clear(),
            lambda store: store.invalidate(Invalidation(key="k")),
        ],
        ids=["delete", "clear", "invalidate"],
    )
    def test_a_write_then_a_removal_during_the_read_are_not_undone(
        self,
        store: TieredStore,
        slow: SlowL2,
        clock: FakeClock,
        remove: Callable[[TieredStore], object],
    ) -> None:
        """Two changes during one read: the second never hides the first from it."""
        self.old_entry_in_l2_only(store, slow, clock)

        def write_then_remove() -> None:
            store.set("k", entry(clock, "new"))
            remove(store)

        slow.meanwhile = write_then_remove
        store.get("k")
        assert store.get("k") is None

    async def test_a_newer_aset_during_an_async_read_is_what_l1_keeps(
        self, store: TieredStore, slow: SlowL2, clock: FakeClock
    ) -> None:
        """Another task's aset that lands during the read is what later reads are served."""
        self.old_entry_in_l2_only(store, slow, clock)
        slow.meanwhile = lambda: store.aset("k", entry(clock, "new"))
        await store.aget("k")
        served = await store.aget("k")
        assert served is not None
        assert served.response.content == "new"

    async def test_an_aset_then_an_adelete_during_an_async_read_are_not_undone(
        self, store: TieredStore, slow: SlowL2, clock: FakeClock
    ) -> None:
        """Another task writes then deletes the key during the read: the key stays gone."""
        self.old_entry_in_l2_only(store, slow, clock)

        async def write_then_delete() -> None:
            await store.aset("k", entry(clock, "new"))
            await store.adelete("k")

        slow.meanwhile = write_then_delete
        await store.aget("k")
        assert await store.aget("k") is None

    def test_a_quiet_read_is_still_promoted(
        self, store: TieredStore, slow: SlowL2, clock: FakeClock
    ) -> None:
        """With no change meanwhile, an L2 hit lands in L1 as before."""
        self.old_entry_in_l2_only(store, slow, clock)
        store.get("k")
        assert "k" in store.l1  # type: ignore[operator]
