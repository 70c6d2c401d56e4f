"""MemoryStore: TTL + an eviction policy (LRU by default), bounded by entries and bytes."""

from __future__ import annotations

import gc
import os
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from exllm_py import telemetry
from exllm_py.cache.arguments import MAX_TTL
from exllm_py.cache.entry import CacheEntry, make_entry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.lfu import LFU
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.policies import FIFO, LRU
from exllm_py.cache.stores.policy import EvictionPolicy
from exllm_py.errors import ValidationError
from exllm_py.types import LLMResponse
from tests.cache.policy_models import FIFOModel, LFUModel, LRUModel, PolicyModel
from tests.clocks import FakeClock


def entry(clock: FakeClock, content: str = "answer", ttl: float | None = 900.0) -> CacheEntry:
    response = LLMResponse(content=content, model="m", provider="mock", cost=0.5)
    return make_entry(response, "key", clock(), ttl)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestTTL:
    """Entries expire at their deadline, lazily on read and by the sweep."""

    def test_a_live_entry_is_returned(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        stored = entry(clock, ttl=10)
        store.set("k", stored)
        clock.tick(9.9)
        assert store.get("k") is stored

    def test_an_expired_entry_is_a_miss_and_is_dropped(
        self, clock: FakeClock, evictions: Any
    ) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("k", entry(clock, ttl=10))
        clock.tick(10)
        assert store.get("k") is None
        assert len(store) == 0
        assert store.stats().expirations == 1
        assert evictions[-1][1]["reason"] == "ttl"

    def test_no_ttl_never_expires(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("k", entry(clock, ttl=None))
        clock.tick(10 * 365 * 86400)
        assert store.get("k") is not None

    def test_sweep_drops_expired_entries_without_reads(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("short", entry(clock, ttl=5))
        store.set("long", entry(clock, ttl=50))
        clock.tick(6)
        assert store.sweep() == 1
        assert "short" not in store
        assert "long" in store
        assert store.stats().bytes == store.get("long").size  # type: ignore[union-attr]

    def test_the_background_sweeper_runs_on_its_interval(self) -> None:
        store = MemoryStore(cleanup_interval=0.05)
        store.set("k", make_entry(LLMResponse("a", "m", "p"), "k", time.time(), 0.01))
        deadline = time.monotonic() + 5
        while "k" in store and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "k" not in store, "the sweeper should have dropped the expired entry"
        assert store.stats().expirations == 1

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_a_forked_child_keeps_sweeping(self) -> None:
        store = MemoryStore(cleanup_interval=0.05)
        read, write = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a threaded process: that is the point here.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: a worker of a pre-forking server
            store.set("k", make_entry(LLMResponse("a", "m", "p"), "k", time.time(), 0.01))
            deadline = time.monotonic() + 5
            while "k" in store and time.monotonic() < deadline:
                time.sleep(0.02)
            os.write(write, b"swept" if "k" not in store else b"kept")
            os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as verdict:
            assert verdict.read() == b"swept"
        os.waitpid(pid, 0)

    def test_the_sweeper_does_not_keep_a_store_alive(self) -> None:
        store = MemoryStore(cleanup_interval=0.05)
        ref = weakref.ref(store)
        del store
        gc.collect()
        assert ref() is None


class TestBounds:
    """Least recently used entries go first when a bound is crossed."""

    def test_max_entries_evicts_the_least_recently_used(
        self, clock: FakeClock, evictions: Any
    ) -> None:
        store = MemoryStore(max_entries=2, clock=clock, cleanup_interval=None)
        store.set("a", entry(clock))
        store.set("b", entry(clock))
        store.get("a")  # a is now more recent than b
        store.set("c", entry(clock))
        assert "b" not in store
        assert "a" in store
        assert "c" in store
        assert evictions[-1][1] == {
            "key": "b",
            "reason": "lru",
            "store": "memory",
            "policy": "lru",
        }

    def test_expired_entries_go_before_live_ones(self, clock: FakeClock, evictions: Any) -> None:
        store = MemoryStore(max_entries=2, clock=clock, cleanup_interval=None)
        store.set("live", entry(clock, ttl=None))
        store.set("stale", entry(clock, ttl=5))
        clock.tick(10)
        store.set("new", entry(clock, ttl=None))
        assert "live" in store
        assert "stale" not in store
        assert evictions[-1][1]["reason"] == "ttl"
        assert store.stats().expirations == 1
        assert store.stats().evictions == 0

    def test_max_bytes_evicts_until_the_total_fits(self, clock: FakeClock, evictions: Any) -> None:
        one = entry(clock, "x" * 500)
        store = MemoryStore(max_bytes=one.size * 2 + 10, clock=clock, cleanup_interval=None)
        for key in "abc":
            store.set(key, entry(clock, "x" * 500))
        assert list(store._entries) == ["b", "c"]
        assert store.stats().bytes == 2 * one.size <= store.max_bytes
        assert evictions[-1][1]["reason"] == "bytes"
        assert evictions[-1][0]["size_bytes"] == one.size

    def test_an_entry_larger_than_max_bytes_is_not_kept(self, clock: FakeClock) -> None:
        store = MemoryStore(max_bytes=100, clock=clock, cleanup_interval=None)
        store.set("big", entry(clock, "x" * 1000))
        assert len(store) == 0
        assert store.stats().bytes == 0

    def test_replacing_a_key_accounts_its_bytes_once(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("k", entry(clock, "short"))
        replacement = entry(clock, "a much longer answer than before")
        store.set("k", replacement)
        assert store.stats().bytes == replacement.size
        assert len(store) == 1

    def test_delete_is_an_explicit_eviction(self, clock: FakeClock, evictions: Any) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("k", entry(clock))
        assert store.delete("k") is True
        assert store.delete("k") is False
        assert evictions[-1][1]["reason"] == "explicit"
        assert store.stats().evictions == 1


class TestStats:
    """``stats()`` counts the store's lookups, writes and removals, and what it holds now."""

    def test_every_counter_and_the_holdings_in_one_snapshot(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        kept, short, gone = entry(clock, "kept"), entry(clock, "short", ttl=5), entry(clock)
        store.set("kept", kept)
        store.set("short", short)
        store.set("gone", gone)
        store.delete("gone")
        clock.tick(5)
        for key in ("kept", "kept", "short", "absent"):
            store.get(key)
        assert store.stats() == CacheStats(
            hits=2, misses=2, puts=3, evictions=1, expirations=1, entries=1, bytes=kept.size
        )


class TestDelete:
    """``delete`` removes an entry and its bytes; it counts an eviction, or an expiry if due."""

    def test_deleting_one_entry_keeps_the_bytes_of_the_others(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        kept = entry(clock, "kept answer")
        store.set("kept", kept)
        store.set("gone", entry(clock, "an answer about to be deleted"))
        store.delete("gone")
        assert store.stats().bytes == kept.size

    def test_each_delete_counts_one_eviction(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        for key in "abc":
            store.set(key, entry(clock))
        for key in "abc":
            store.delete(key)
        assert (store.stats().evictions, store.stats().expirations) == (3, 0)

    def test_deleting_at_the_deadline_is_an_expiry_not_an_eviction(
        self, clock: FakeClock, evictions: Any
    ) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("a", entry(clock, ttl=10))
        store.set("b", entry(clock, ttl=10))
        clock.tick(10)  # exactly the deadline: already gone for readers
        assert store.delete("a") is False
        assert store.delete("b") is False
        assert (store.stats().evictions, store.stats().expirations) == (0, 2)
        assert [metadata for _, metadata in evictions] == [
            {"key": "a", "reason": "ttl", "store": "memory"},
            {"key": "b", "reason": "ttl", "store": "memory"},
        ]

    def test_an_explicit_delete_reports_the_key_and_size(
        self, clock: FakeClock, evictions: Any
    ) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        stored = entry(clock)
        store.set("k", stored)
        store.delete("k")
        assert evictions == [
            ({"size_bytes": stored.size}, {"key": "k", "reason": "explicit", "store": "memory"})
        ]

    def test_clear_empties_the_byte_count(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("k", entry(clock))
        store.clear()
        assert (store.stats().entries, store.stats().bytes) == (0, 0)
        small = entry(clock, "s")
        store.set("k", small)
        assert store.stats().bytes == small.size


class TestSweep:
    """A sweep drops what is due at its deadline, counts it, reports it, and trims the heap."""

    def test_a_sweep_at_the_exact_deadline_drops_the_entry(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("k", entry(clock, ttl=5))
        clock.tick(5)
        assert store.sweep() == 1
        assert "k" not in store

    def test_expirations_add_up_over_sweeps(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("first", entry(clock, ttl=5))
        store.set("second", entry(clock, ttl=10))
        clock.tick(5)
        store.sweep()
        clock.tick(5)
        store.sweep()
        assert store.stats().expirations == 2

    def test_a_sweep_reports_each_expired_key(self, clock: FakeClock, evictions: Any) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        stored = entry(clock, ttl=5)
        store.set("k", stored)
        clock.tick(6)
        store.sweep()
        assert evictions == [
            ({"size_bytes": stored.size}, {"key": "k", "reason": "ttl", "store": "memory"})
        ]

    def test_sweeping_an_empty_store_finds_nothing(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        assert store.sweep() == 0
        store.set("k", entry(clock, ttl=5))
        clock.tick(5)
        assert store.sweep() == 1
        assert store.sweep() == 0  # nothing left, nothing to trim

    def test_a_sweep_leaves_the_heap_at_most_twice_the_entries_plus_64(
        self, clock: FakeClock
    ) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("short", entry(clock, ttl=5))
        for _ in range(67):  # 67 deadlines for one key: too few for set to trim them
            clock.tick(0.001)
            store.set("live", entry(clock, ttl=1000))
        clock.tick(5)
        store.sweep()  # drops "short": 67 deadlines are left for one live entry
        assert len(store._deadlines) <= 2 * len(store) + 64

    def test_entries_stored_before_a_compaction_still_expire_on_time(
        self, clock: FakeClock
    ) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("forever", entry(clock, ttl=None))
        store.set("short", entry(clock, ttl=5))
        for _ in range(200):  # enough replaced deadlines to compact the heap
            store.set("busy", entry(clock, ttl=50))
        clock.tick(5)
        assert store.sweep() == 1
        assert set(store._entries) == {"forever", "busy"}


class TestArguments:
    """Every constructor argument is checked at construction, by a message that names it."""

    @pytest.mark.parametrize(
        ("argument", "value"),
        [
            ("max_entries", 0),
            ("max_entries", "10"),
            ("max_entries", 1.5),
            ("max_entries", True),
            ("max_bytes", -1),
            ("max_bytes", "1MB"),
            ("default_ttl", 0),
            ("default_ttl", -5),
            ("default_ttl", float("nan")),
            ("default_ttl", "900"),
            ("default_ttl", True),
            ("default_ttl", float("inf")),
            ("default_ttl", 1e308),
            ("default_ttl", 10**20),
            ("cleanup_interval", 0),
            ("cleanup_interval", float("nan")),
            ("cleanup_interval", float("inf")),
            ("cleanup_interval", "300"),
            ("clock", 1_700_000_000.0),
        ],
    )
    def test_a_bad_argument_is_refused_by_name(self, argument: str, value: object) -> None:
        with pytest.raises(ValidationError, match=f"MemoryStore {argument} must be"):
            MemoryStore(**{argument: value})  # type: ignore[arg-type]

    def test_the_limits_themselves_are_accepted(self) -> None:
        store = MemoryStore(max_entries=1, max_bytes=1, default_ttl=MAX_TTL, cleanup_interval=None)
        assert store.default_ttl == MAX_TTL
        assert MemoryStore(default_ttl=None, cleanup_interval=None).default_ttl is None
        assert MemoryStore(default_ttl=0.001, cleanup_interval=None).default_ttl == 0.001


class TestBookkeeping:
    """The deadline heap stays O(live entries), with no sweeper running."""

    def test_one_key_set_again_and_again_keeps_the_heap_small(self, clock: FakeClock) -> None:
        store = MemoryStore(cleanup_interval=None, clock=clock)
        largest = 0
        for round_ in range(5_000):
            clock.tick(0.001 * (round_ % 2))  # deadlines that differ, and that repeat
            store.set("k", entry(clock))
            largest = max(largest, len(store._deadlines))  # the heap's own size
        assert len(store) == 1
        assert largest <= 2 * len(store) + 64 + 1

    def test_many_keys_replaced_keep_the_heap_in_proportion(self, clock: FakeClock) -> None:
        store = MemoryStore(cleanup_interval=None, clock=clock)
        for round_ in range(50):
            clock.tick(1)
            this_round = entry(clock)
            for index in range(500):
                store.set(f"k{index}", this_round)
            assert len(store._deadlines) <= 2 * len(store) + 64 + 1, round_
        assert len(store) == 500

    def test_compaction_keeps_every_live_deadline(self, clock: FakeClock) -> None:
        """After compactions, entries still expire at their own deadlines, by size bound."""
        store = MemoryStore(max_entries=3, cleanup_interval=None, clock=clock)
        for _ in range(200):
            store.set("kept", entry(clock, ttl=50))
        store.set("short", entry(clock, ttl=5))
        clock.tick(6)
        store.set("x", entry(clock, ttl=50))
        store.set("y", entry(clock, ttl=50))  # over the bound: the expired one goes first
        assert "short" not in store
        assert {"kept", "x", "y"} <= set(store._entries)

    def test_the_queue_is_not_rebuilt_before_stale_items_outnumber_live_ones(
        self, clock: FakeClock
    ) -> None:
        """A rebuild costs O(n): a set rebuilds only past twice the live entries plus 64 items."""
        store = MemoryStore(cleanup_interval=None, clock=clock)
        for index in range(200):
            store.set(f"k{index}", entry(clock))
        for _ in range(100):
            store.set("k0", entry(clock))  # each leaves its previous deadline behind
        assert len(store._deadlines) == 300


class TestConcurrency:
    """Concurrent threads never corrupt the store's accounting."""

    def test_threads_doing_mixed_gets_and_puts(self, clock: FakeClock) -> None:
        store = MemoryStore(max_entries=50, clock=clock, cleanup_interval=None)
        sizes = {f"k{i}": entry(clock, "x" * i) for i in range(100)}
        errors: list[BaseException] = []

        def work(offset: int) -> None:
            try:
                for round_ in range(2000):
                    key = f"k{(round_ * 7 + offset) % 100}"
                    if round_ % 3:
                        store.set(key, sizes[key])
                    else:
                        store.get(key)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        stats = store.stats()
        assert stats.entries <= 50
        assert stats.bytes == sum(store.get(k).size for k in list(store._entries))  # type: ignore[union-attr]


class StoreAgainstModel(RuleBasedStateMachine):
    """The store behaves like a dict with deadlines and its policy's order, under any sequence.

    Run once per policy (the subclasses below): the model evicts what the
    policy's reference model names, and the store must evict, and report,
    exactly those keys.
    """

    make_policy: Callable[[], EvictionPolicy] = LRU
    make_model: Callable[[], PolicyModel] = LRUModel

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.policy = type(self).make_policy()
        self.store = MemoryStore(
            max_entries=4,
            max_bytes=10_000,
            clock=self.clock,
            cleanup_interval=None,
            policy=self.policy,
        )
        self.model: dict[str, tuple[CacheEntry, float | None]] = {}
        self.order = type(self).make_model()
        self.reported: list[dict[str, Any]] = []
        self.handler_id = f"store-against-model-{id(self)}"
        telemetry.attach(
            self.handler_id,
            [telemetry.CACHE_EVICT],
            lambda _event, _measurements, metadata: self.reported.append(metadata),
        )

    def teardown(self) -> None:
        telemetry.detach(self.handler_id)

    def _forget(self, key: str) -> None:
        del self.model[key]
        self.order.remove(key)

    def _expire(self) -> None:
        for key, (_, deadline) in list(self.model.items()):
            if deadline is not None and deadline <= self.clock.now:
                self._forget(key)

    def _make_room(self, size: int) -> list[tuple[str, str]]:
        """The (key, reason) the policy should evict for one more entry of ``size`` bytes."""
        victims = []
        while len(self.model) >= 4:
            victims.append((self.order.victim(), self.policy.name))
            self._forget(victims[-1][0])
        while sum(e.size for e, _ in self.model.values()) + size > 10_000:
            victims.append((self.order.victim(), "bytes"))
            self._forget(victims[-1][0])
        return victims

    @rule(
        key=st.sampled_from("abcdef"),
        size=st.integers(0, 3000),
        ttl=st.sampled_from([None, 5.0, 50.0]),
    )
    def put(self, key: str, size: int, ttl: float | None) -> None:
        new = entry(self.clock, "x" * size, ttl)
        self.reported.clear()
        self.store.set(key, new)
        self._expire()
        if key in self.model:
            self._forget(key)
        victims = self._make_room(new.size)
        self.model[key] = (new, new.expires_at)
        self.order.insert(key)
        chosen = [m for m in self.reported if m["reason"] != "ttl"]
        assert [(m["key"], m["reason"]) for m in chosen] == victims
        assert all(m["policy"] == self.policy.name for m in chosen)
        assert all("policy" not in m for m in self.reported if m["reason"] == "ttl")

    @rule(key=st.sampled_from("abcdef"))
    def get(self, key: str) -> None:
        self._expire()
        got = self.store.get(key)
        expected = self.model.get(key)
        assert got is (expected[0] if expected else None)
        if expected:
            self.order.hit(key)

    @precondition(lambda self: bool(self.model))
    @rule(key=st.sampled_from("abcdef"))
    def delete(self, key: str) -> None:
        self._expire()
        assert self.store.delete(key) == (key in self.model)
        if key in self.model:
            self._forget(key)

    @rule(seconds=st.sampled_from([1.0, 10.0, 100.0]))
    def tick(self, seconds: float) -> None:
        self.clock.tick(seconds)

    @invariant()
    def bounded(self) -> None:
        stats = self.store.stats()
        assert stats.entries <= 4
        assert stats.bytes <= 10_000

    @invariant()
    def keeps_every_entry_the_model_keeps(self) -> None:
        assert set(self.model) <= {key for key in "abcdef" if key in self.store}


class LFUStoreAgainstModel(StoreAgainstModel):
    """The same, with an LFU policy: least used first, the least recent among equals."""

    make_policy = LFU
    make_model = LFUModel


class FIFOStoreAgainstModel(StoreAgainstModel):
    """The same, with a FIFO policy: first stored first, whatever is read."""

    make_policy = FIFO
    make_model = FIFOModel


_MODEL_SETTINGS = settings(max_examples=60, stateful_step_count=30, deadline=None)
StoreAgainstModel.TestCase.settings = _MODEL_SETTINGS
LFUStoreAgainstModel.TestCase.settings = _MODEL_SETTINGS
FIFOStoreAgainstModel.TestCase.settings = _MODEL_SETTINGS
TestStoreAgainstModel = StoreAgainstModel.TestCase
TestLFUStoreAgainstModel = LFUStoreAgainstModel.TestCase
TestFIFOStoreAgainstModel = FIFOStoreAgainstModel.TestCase


class TestInvalidateCounts:
    """Invalidation removes live entries only, each one more eviction on top of those before."""

    def test_each_entry_invalidated_adds_an_eviction(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        for key in ("a", "b", "c"):
            store.set(key, entry(clock))
        store.delete("a")  # an explicit eviction before the invalidation
        assert store.invalidate(Invalidation(key="b")) == 1
        assert store.stats().evictions == 2
        assert "c" in store

    def test_an_entry_at_its_deadline_is_not_invalidated(self, clock: FakeClock) -> None:
        """At its deadline an entry is gone for readers; an invalidation does not count it."""
        store = MemoryStore(clock=clock, cleanup_interval=None)
        store.set("k", entry(clock, ttl=5))
        clock.tick(5)
        assert store.invalidate(Invalidation(key="k"), dry_run=True) == 0
        assert store.invalidate(Invalidation(key="k")) == 0
        assert store.stats().evictions == 0
