"""MemoryStore's byte bound is inclusive: exactly ``max_bytes`` fits, one byte more does not."""

from __future__ import annotations

from typing import Any

import pytest

from exllm_py.cache.entry import CacheEntry, make_entry
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock


def _entry(clock: FakeClock, content: str, key: str = "key") -> CacheEntry:
    response = LLMResponse(content=content, model="m", provider="mock")
    return make_entry(response, key, clock(), 900.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestOneEntryAgainstTheBound:
    """An entry as large as max_bytes is kept; an entry one byte larger is not."""

    def test_an_entry_of_exactly_max_bytes_is_kept(self, clock: FakeClock) -> None:
        entry = _entry(clock, "an answer of some length")
        store = MemoryStore(max_bytes=entry.size, clock=clock, cleanup_interval=None)
        store.set("key", entry)
        assert store.get("key") is entry
        assert store.stats().bytes == entry.size == store.max_bytes

    def test_an_entry_of_max_bytes_plus_one_is_not_kept(self, clock: FakeClock) -> None:
        entry = _entry(clock, "an answer of some length")
        store = MemoryStore(max_bytes=entry.size - 1, clock=clock, cleanup_interval=None)
        store.set("key", entry)
        assert store.get("key") is None
        assert store.stats().bytes == 0

    def test_max_bytes_plus_one_also_drops_the_previous_answer(self, clock: FakeClock) -> None:
        small = _entry(clock, "short")
        large = _entry(clock, "a much longer answer than the first one")
        store = MemoryStore(max_bytes=large.size - 1, clock=clock, cleanup_interval=None)
        store.set("key", small)
        store.set("key", large)
        assert store.get("key") is None


class TestEntriesTogetherAgainstTheBound:
    """Entries totalling exactly max_bytes all stay; one byte over evicts the oldest."""

    def test_a_total_of_exactly_max_bytes_keeps_every_entry(
        self, clock: FakeClock, evictions: list[Any]
    ) -> None:
        first, second = _entry(clock, "first", "a"), _entry(clock, "second", "b")
        store = MemoryStore(max_bytes=first.size + second.size, clock=clock, cleanup_interval=None)
        store.set("a", first)
        store.set("b", second)
        assert (store.get("a"), store.get("b")) == (first, second)
        assert evictions == []

    def test_filling_exactly_max_bytes_makes_no_room(
        self, clock: FakeClock, evictions: list[Any]
    ) -> None:
        """No room is made: even an expired entry stays until a read or a sweep drops it."""
        stale = make_entry(
            LLMResponse(content="first", model="m", provider="mock"), "a", clock(), 5
        )
        clock.tick(10)
        fresh = _entry(clock, "second", "b")
        store = MemoryStore(max_bytes=stale.size + fresh.size, clock=clock, cleanup_interval=None)
        store.set("a", stale)
        store.set("b", fresh)
        stats = store.stats()
        assert (len(store), stats.bytes, stats.expirations) == (2, store.max_bytes, 0)
        assert evictions == []

    def test_one_byte_over_evicts_the_least_recently_used(
        self, clock: FakeClock, evictions: list[Any]
    ) -> None:
        first, second = _entry(clock, "first", "a"), _entry(clock, "second", "b")
        store = MemoryStore(
            max_bytes=first.size + second.size - 1, clock=clock, cleanup_interval=None
        )
        store.set("a", first)
        store.set("b", second)
        assert (store.get("a"), store.get("b")) == (None, second)
        assert [metadata["reason"] for _, metadata in evictions] == ["bytes"]
