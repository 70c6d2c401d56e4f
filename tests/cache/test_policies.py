"""Eviction policies: LRU, LFU and FIFO on their own, and in a MemoryStore that takes one."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exllm_py.cache
import exllm_py.cache.stores
from exllm_py.cache.entry import CacheEntry, make_entry
from exllm_py.cache.stores.lfu import LFU
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.policies import FIFO, LRU
from exllm_py.cache.stores.policy import EvictionPolicy
from exllm_py.errors import ValidationError
from exllm_py.types import LLMResponse
from tests.cache.policy_models import PolicyModel, paired
from tests.clocks import FakeClock

POLICIES: list[Callable[[], EvictionPolicy]] = [LRU, LFU, FIFO]
#: (action, key) pairs: "i" inserts, "h" reads, "r" removes (each only where it applies).
STEPS = st.lists(st.tuples(st.sampled_from("ihr"), st.sampled_from("abcdefg")), max_size=80)


def tracking(policy: EvictionPolicy, *keys: str) -> EvictionPolicy:
    for key in keys:
        policy.on_insert(key)
    return policy


def entry(clock: FakeClock, content: str = "answer", ttl: float | None = 900.0) -> CacheEntry:
    return make_entry(LLMResponse(content, "m", "mock"), "key", clock(), ttl)


def store_of(policy: EvictionPolicy, clock: FakeClock, **bounds: int) -> MemoryStore:
    return MemoryStore(clock=clock, cleanup_interval=None, policy=policy, **bounds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestLRU:
    """LRU names the key least recently stored or read."""

    def test_the_first_stored_goes_first_when_nothing_is_read(self) -> None:
        assert tracking(LRU(), "a", "b", "c").victim() == "a"

    def test_a_read_makes_a_key_the_newest(self) -> None:
        policy = tracking(LRU(), "a", "b", "c")
        policy.on_hit("a")
        assert policy.victim() == "b"

    def test_a_removed_key_is_never_named(self) -> None:
        policy = tracking(LRU(), "a", "b")
        policy.on_remove("a")
        assert policy.victim() == "b"


class TestFIFO:
    """FIFO names the key stored first, however often it is read."""

    def test_reads_do_not_change_the_order(self) -> None:
        policy = tracking(FIFO(), "a", "b", "c")
        for _ in range(3):
            policy.on_hit("a")
        assert policy.victim() == "a"

    def test_a_key_stored_again_goes_to_the_back(self) -> None:
        policy = tracking(FIFO(), "a", "b")
        policy.on_remove("a")
        policy.on_insert("a")
        assert policy.victim() == "b"


class TestLFU:
    """LFU names the least used key, and the least recently used among equals."""

    def test_the_least_read_key_goes_first(self) -> None:
        policy = tracking(LFU(), "a", "b", "c")
        for key in ("a", "a", "c", "b", "b"):
            policy.on_hit(key)
        assert policy.victim() == "c"

    def test_ties_go_to_the_least_recently_used(self) -> None:
        policy = tracking(LFU(), "a", "b", "c")
        for key in ("b", "a", "c"):
            policy.on_hit(key)  # all used twice, b longest ago
        assert policy.victim() == "b"

    def test_removing_the_last_least_used_key_moves_on_to_the_next_count(self) -> None:
        policy = tracking(LFU(), "a", "b")
        for _ in range(5):
            policy.on_hit("b")
        policy.on_remove("a")
        assert policy.victim() == "b"
        policy.on_insert("c")
        assert policy.victim() == "c"

    def test_a_count_bucket_emptied_in_the_middle_keeps_the_chain(self) -> None:
        policy = tracking(LFU(), "a", "b", "c")
        policy.on_hit("b")
        policy.on_hit("c")
        policy.on_hit("c")  # counts: a 1, b 2, c 3
        policy.on_remove("b")
        policy.on_remove("a")
        assert policy.victim() == "c"

    def test_a_key_stored_again_starts_over_at_one_use(self) -> None:
        policy = tracking(LFU(), "hot", "cold")
        for _ in range(3):
            policy.on_hit("hot")
        policy.on_hit("cold")
        policy.on_remove("hot")
        policy.on_insert("hot")
        assert policy.victim() == "hot"

    def test_asking_an_empty_lfu_for_a_victim_says_so(self) -> None:
        with pytest.raises(LookupError, match="no key tracked"):
            LFU().victim()


class TestLFUChain:
    """Count buckets emptied or made in any order never lose a key still tracked."""

    def test_two_neighbouring_buckets_emptied_in_turn(self) -> None:
        policy = tracking(LFU(), "a", "b", "c")
        policy.on_hit("b")
        policy.on_hit("c")
        policy.on_hit("c")  # counts: a 1, b 2, c 3
        policy.on_remove("b")
        policy.on_remove("c")
        assert policy.victim() == "a"

    def test_a_newcomer_below_a_bucket_that_then_empties(self) -> None:
        policy = tracking(LFU(), "a")
        policy.on_hit("a")  # a alone, at 2
        policy.on_insert("b")  # a bucket for 1 made below it
        policy.on_remove("a")
        assert policy.victim() == "b"

    def test_a_bucket_made_in_a_gap_between_counts(self) -> None:
        policy = tracking(LFU(), "c")
        policy.on_hit("c")
        policy.on_hit("c")  # c alone, at 3
        policy.on_insert("a")
        policy.on_insert("b")
        policy.on_hit("b")  # b at 2: between a's bucket and c's
        policy.on_remove("b")
        policy.on_remove("a")
        assert policy.victim() == "c"


class TestWhatPoliciesSay:
    """A policy shows as the expression that makes it; an empty LFU says what to do."""

    def test_each_repr_is_its_constructor(self) -> None:
        assert [repr(make()) for make in POLICIES] == ["LRU()", "LFU()", "FIFO()"]

    def test_the_empty_lfu_message(self) -> None:
        message = "LFU.victim() was asked with no key tracked: store one first"
        with pytest.raises(LookupError, match=f"^{re.escape(message)}$"):
            LFU().victim()


class TestAgainstModels:
    """Under any sequence of inserts, reads and removals, each policy names its model's victim."""

    @pytest.mark.parametrize(("make_policy", "make_model"), paired())
    @settings(max_examples=150, deadline=None)
    @given(steps=STEPS)
    def test_the_victim_matches_the_model(
        self,
        make_policy: Callable[[], EvictionPolicy],
        make_model: Callable[[], PolicyModel],
        steps: list[tuple[str, str]],
    ) -> None:
        policy, model, tracked = make_policy(), make_model(), set[str]()
        for action, key in steps:
            if action == "i" and key not in tracked:
                policy.on_insert(key)
                model.insert(key)
                tracked.add(key)
            elif action == "h" and key in tracked:
                policy.on_hit(key)
                model.hit(key)
            elif action == "r" and key in tracked:
                policy.on_remove(key)
                model.remove(key)
                tracked.discard(key)
            if tracked:
                assert policy.victim() == model.victim()


class TestStoreWithPolicy:
    """A MemoryStore evicts in its policy's order, within the same bounds."""

    def test_lru_is_the_default(self, clock: FakeClock) -> None:
        store = MemoryStore(clock=clock, cleanup_interval=None)
        assert isinstance(store.policy, LRU)
        assert MemoryStore(cleanup_interval=None).policy is not store.policy

    def test_lfu_keeps_the_most_read_entry(self, clock: FakeClock) -> None:
        store = store_of(LFU(), clock, max_entries=2)
        store.set("hot", entry(clock))
        store.set("cold", entry(clock))
        store.get("hot")
        store.get("cold")
        store.get("hot")
        store.set("new", entry(clock))
        assert "hot" in store
        assert "cold" not in store

    def test_lfu_admits_a_newcomer_into_a_full_store_of_popular_entries(
        self, clock: FakeClock
    ) -> None:
        store = store_of(LFU(), clock, max_entries=2)
        for key in ("a", "b"):
            store.set(key, entry(clock))
            store.get(key)
        store.set("new", entry(clock))
        assert "new" in store
        assert ("a" in store, "b" in store) == (False, True)

    def test_fifo_evicts_the_first_stored_even_when_read(self, clock: FakeClock) -> None:
        store = store_of(FIFO(), clock, max_entries=2)
        store.set("first", entry(clock))
        store.set("second", entry(clock))
        store.get("first")
        store.set("third", entry(clock))
        assert [key for key in ("first", "second", "third") if key in store] == ["second", "third"]

    @pytest.mark.parametrize("make_policy", POLICIES)
    def test_the_byte_bound_holds_under_every_policy(
        self, make_policy: Callable[[], EvictionPolicy], clock: FakeClock
    ) -> None:
        one = entry(clock, "x" * 400)
        store = store_of(make_policy(), clock, max_bytes=one.size * 3)
        for index in range(10):
            store.set(f"k{index}", entry(clock, "x" * 400))
            store.get(f"k{index // 2}")
        assert store.stats().bytes <= store.max_bytes
        assert store.stats().entries == 3

    @pytest.mark.parametrize("make_policy", POLICIES)
    def test_expired_entries_go_before_the_policy_is_asked(
        self, make_policy: Callable[[], EvictionPolicy], clock: FakeClock, evictions: Any
    ) -> None:
        store = store_of(make_policy(), clock, max_entries=2)
        store.set("stale", entry(clock, ttl=5))
        store.set("live", entry(clock, ttl=None))
        clock.tick(10)
        store.set("new", entry(clock))
        assert "live" in store
        assert [m["reason"] for _, m in evictions] == ["ttl"]
        assert store.stats().evictions == 0

    @pytest.mark.parametrize("make_policy", POLICIES)
    def test_a_cleared_store_evicts_in_order_again(
        self, make_policy: Callable[[], EvictionPolicy], clock: FakeClock
    ) -> None:
        store = store_of(make_policy(), clock, max_entries=2)
        store.set("gone", entry(clock))
        store.clear()
        for key in ("a", "b", "c"):
            store.set(key, entry(clock))
        assert [key for key in ("a", "b", "c") if key in store] == ["b", "c"]


class TestEvictTelemetry:
    """An eviction the policy chose names the policy; one the clock or a caller chose does not."""

    @pytest.mark.parametrize("make_policy", POLICIES)
    def test_an_entry_bound_eviction_names_the_policy_as_reason_and_policy(
        self, make_policy: Callable[[], EvictionPolicy], clock: FakeClock, evictions: Any
    ) -> None:
        policy = make_policy()
        store = store_of(policy, clock, max_entries=1)
        store.set("a", entry(clock))
        store.set("b", entry(clock))
        assert evictions[-1][1] == {
            "key": "a",
            "reason": policy.name,
            "store": "memory",
            "policy": policy.name,
        }

    @pytest.mark.parametrize("make_policy", POLICIES)
    def test_a_byte_bound_eviction_names_the_policy(
        self, make_policy: Callable[[], EvictionPolicy], clock: FakeClock, evictions: Any
    ) -> None:
        policy = make_policy()
        first = entry(clock, "x" * 300)
        store = store_of(policy, clock, max_bytes=first.size + 10)
        store.set("a", first)
        store.set("b", entry(clock, "x" * 300))
        assert evictions[-1] == (
            {"size_bytes": first.size},
            {"key": "a", "reason": "bytes", "store": "memory", "policy": policy.name},
        )

    def test_the_policy_names_are_lru_lfu_and_fifo(self) -> None:
        assert [make().name for make in POLICIES] == ["lru", "lfu", "fifo"]

    def test_expiries_and_deletes_name_no_policy(self, clock: FakeClock, evictions: Any) -> None:
        store = store_of(LFU(), clock)
        store.set("old", entry(clock, ttl=5))
        store.set("k", entry(clock))
        store.delete("k")
        clock.tick(5)
        store.get("old")
        assert [m for _, m in evictions] == [
            {"key": "k", "reason": "explicit", "store": "memory"},
            {"key": "old", "reason": "ttl", "store": "memory"},
        ]


class TestPolicyArgument:
    """``policy`` must be an eviction policy of the store's own, refused by name otherwise."""

    @pytest.mark.parametrize("value", ["lfu", LFU, object(), 3])
    def test_a_non_policy_is_refused_by_name(self, value: object) -> None:
        with pytest.raises(ValidationError, match="MemoryStore policy must be an eviction policy"):
            MemoryStore(cleanup_interval=None, policy=value)  # type: ignore[arg-type]

    def test_the_message_says_what_a_non_policy_lacks(self) -> None:
        with pytest.raises(ValidationError, match="it has no name, on_insert, on_hit"):
            MemoryStore(cleanup_interval=None, policy=object())  # type: ignore[arg-type]

    def test_a_policy_another_store_uses_is_refused(self) -> None:
        """The message shows the policy and says to give each store its own."""
        shared = LFU()
        MemoryStore(cleanup_interval=None, policy=shared)
        with pytest.raises(ValidationError) as raised:
            MemoryStore(cleanup_interval=None, policy=shared)
        assert str(raised.value) == (
            f"MemoryStore policy must be a policy no other store uses, got {shared!r} "
            "already in use: give each store its own, e.g. policy=LFU()"
        )

    def test_a_policy_of_the_callers_own_is_taken(self, clock: FakeClock) -> None:
        class NewestFirst:
            """Evicts the most recently stored key: a policy written outside the library."""

            __slots__ = ("keys",)  # no __weakref__: the store cannot mark it, and trusts it
            name = "newest"

            def __init__(self) -> None:
                self.keys: list[str] = []

            def on_insert(self, key: str) -> None:
                self.keys.append(key)

            def on_hit(self, key: str) -> None:
                pass

            def on_remove(self, key: str) -> None:
                self.keys.remove(key)

            def victim(self) -> str:
                return self.keys[-1]

        store = store_of(NewestFirst(), clock, max_entries=2)
        for key in ("a", "b", "c"):
            store.set(key, entry(clock))
        assert [key for key in ("a", "b", "c") if key in store] == ["a", "c"]


class TestExports:
    """The policies and their protocol are public names of the cache package."""

    @pytest.mark.parametrize("module", [exllm_py.cache, exllm_py.cache.stores])
    def test_each_policy_is_exported(self, module: Any) -> None:
        assert (module.LRU, module.LFU, module.FIFO) == (LRU, LFU, FIFO)
        assert module.EvictionPolicy is EvictionPolicy
        assert {"LRU", "LFU", "FIFO", "EvictionPolicy"} <= set(module.__all__)
