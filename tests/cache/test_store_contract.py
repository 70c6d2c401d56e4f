"""The CacheStore contract, run against every store: MemoryStore, RedisStore and TieredStore."""

from __future__ import annotations

import json
import operator
import pickle
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest

from exllm_py.cache.entry import CacheEntry, EntryLabels, entry_labels, make_entry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.types import LLMResponse, ToolCall, Usage
from tests.cache.conftest import invalidation_case_id
from tests.clocks import FakeClock


def entry(
    clock: FakeClock,
    content: str = "answer",
    ttl: float | None = 900.0,
    key: str = "k",
    labels: EntryLabels | None = None,
) -> CacheEntry:
    response = LLMResponse(
        content=content,
        model="m",
        provider="mock",
        id="resp-1",
        finish_reason="stop",
        tool_calls=(ToolCall(id="call-1", name="lookup", arguments={"q": content}),),
        usage=Usage(3, 5, 8),
        cost=0.25,
        raw={"choices": [{"message": {"content": content}}]},
    )
    if labels is None:
        return make_entry(response, key, clock(), ttl)
    return make_entry(response, key, clock(), ttl, labels)


def labelled(
    clock: FakeClock,
    provider: str = "openai",
    model: str = "gpt-4o",
    namespace: str | None = None,
    tags: tuple[str, ...] = (),
    ttl: float | None = 900.0,
) -> CacheEntry:
    """An entry stored by a call with these labels."""
    return entry(clock, ttl=ttl, labels=entry_labels(provider, model, namespace, tags))


async def close_async(store: CacheStore) -> None:
    """Close the async Redis connections a store opened in the running loop."""
    for part in (getattr(store, "l1", None), getattr(store, "l2", None), store):
        if isinstance(part, RedisStore):
            await part.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class StoreContract:
    """What every CacheStore does; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self, clock: FakeClock) -> Iterator[CacheStore]:
        raise NotImplementedError

    @pytest.fixture
    async def astore(self, store: CacheStore) -> AsyncIterator[CacheStore]:
        yield store
        await close_async(store)

    def test_an_unknown_key_is_a_miss(self, store: CacheStore) -> None:
        """A key never stored reads as None."""
        assert store.get("never-stored") is None

    def test_a_stored_entry_is_served_as_a_cache_hit(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """The response comes back equal, every field included, marked as from the cache."""
        stored = entry(clock)
        store.set("k", stored)
        got = store.get("k")
        assert got is not None
        assert got.response == stored.response
        assert got.response.tool_calls == stored.response.tool_calls
        assert got.response.raw == stored.response.raw
        assert got.response.metadata["from_cache"] is True
        assert got.response.metadata["cache_key"] == "k"
        assert got.response.metadata["saved_cost"] == 0.25
        assert got.response.cost == 0.0

    #: Whether every hit shares one stored object (then it is read-only all the way
    #: down), rather than decoding a fresh one per hit (RedisStore).
    shares_hits = True

    def test_a_hit_is_read_only_all_the_way_down(self, store: CacheStore, clock: FakeClock) -> None:
        """Hit metadata refuses edits on every store; nothing a caller edits reaches later hits.

        A store that serves one shared object per entry refuses edits of raw and
        tool call arguments too; one that decodes a fresh object per hit lets its
        caller edit that copy, which no later hit sees.
        """
        store.set("k", entry(clock))
        got = store.get("k")
        assert got is not None
        response = got.response
        for edit in (
            lambda: operator.setitem(response.metadata, "from_cache", False),
            lambda: operator.setitem(response.metadata, "cache_key", "another"),
        ):
            with pytest.raises(TypeError):
                edit()
        for edit in (
            lambda: operator.setitem(response.tool_calls[0].arguments, "q", "poisoned"),
            lambda: response.raw["choices"][0]["message"].update(content="poisoned"),
            lambda: response.raw["choices"].append({}),
        ):
            if self.shares_hits:
                with pytest.raises(TypeError):
                    edit()
            else:
                edit()
        again = store.get("k")
        assert again is not None
        assert again.response.metadata["cache_key"] == "k"
        assert again.response.tool_calls[0].arguments == {"q": "answer"}
        assert again.response.raw == {"choices": [{"message": {"content": "answer"}}]}

    def test_a_hit_pickles_and_serializes_like_plain_json(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """Read-only is all a hit changes: json, orjson and pickle take it as before."""
        store.set("k", entry(clock))
        got = store.get("k")
        assert got is not None
        response = got.response
        assert json.loads(json.dumps(response.metadata))["cache_key"] == "k"
        assert orjson.loads(orjson.dumps(response.raw)) == response.raw
        assert pickle.loads(pickle.dumps(response)) == response

    def test_the_stored_response_is_not_shared_with_its_maker(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """Editing the response an entry was made from changes nothing stored."""
        arguments: dict[str, Any] = {"q": "answer"}
        raw: dict[str, Any] = {"choices": [{"message": {"content": "answer"}}]}
        response = LLMResponse(
            "answer", "m", "mock", tool_calls=(ToolCall("c", "lookup", arguments),), raw=raw
        )
        store.set("k", make_entry(response, "k", clock(), 900.0))
        arguments["q"] = "poisoned"
        raw["choices"][0]["message"]["content"] = "poisoned"
        got = store.get("k")
        assert got is not None
        assert got.response.tool_calls[0].arguments == {"q": "answer"}
        assert got.response.raw["choices"][0]["message"]["content"] == "answer"

    def test_an_entry_that_is_not_kept_drops_the_previous_one(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """A set that stores nothing (here: born expired) leaves no older answer behind."""
        store.set("k", entry(clock, "old"))
        stale = entry(clock, "new", ttl=10)
        clock.tick(11)
        store.set("k", stale)
        assert store.get("k") is None

    def test_set_replaces_the_previous_entry(self, store: CacheStore, clock: FakeClock) -> None:
        """A second set under the same key wins."""
        store.set("k", entry(clock, "first"))
        store.set("k", entry(clock, "second"))
        got = store.get("k")
        assert got is not None
        assert got.response.content == "second"

    def test_keys_are_independent(self, store: CacheStore, clock: FakeClock) -> None:
        """Each key holds its own entry."""
        store.set("a", entry(clock, "for a"))
        store.set("b", entry(clock, "for b"))
        got_a, got_b = store.get("a"), store.get("b")
        assert got_a is not None
        assert got_a.response.content == "for a"
        assert got_b is not None
        assert got_b.response.content == "for b"

    def test_an_entry_expires_at_its_deadline(self, store: CacheStore, clock: FakeClock) -> None:
        """Live until ``expires_at`` by the store's clock, a miss from then on."""
        store.set("k", entry(clock, ttl=10))
        clock.tick(9.9)
        assert store.get("k") is not None
        clock.tick(0.1)
        assert store.get("k") is None

    def test_the_deadline_survives_the_round_trip(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """A served entry keeps its stored_at and expires_at."""
        stored = entry(clock, ttl=30)
        store.set("k", stored)
        got = store.get("k")
        assert got is not None
        assert got.stored_at == pytest.approx(stored.stored_at)
        assert got.expires_at == pytest.approx(clock() + 30)

    def test_no_ttl_never_expires(self, store: CacheStore, clock: FakeClock) -> None:
        """An entry without a TTL is still there years later."""
        store.set("k", entry(clock, ttl=None))
        clock.tick(10 * 365 * 86400)
        got = store.get("k")
        assert got is not None
        assert got.expires_at is None

    def test_an_entry_born_expired_is_never_returned(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """An entry whose deadline has already passed is not served."""
        stale = entry(clock, ttl=10)
        clock.tick(11)
        store.set("k", stale)
        assert store.get("k") is None

    def test_delete_removes_and_says_whether_there_was_an_entry(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """delete answers True once, then False; the entry is gone."""
        store.set("k", entry(clock))
        assert store.delete("k") is True
        assert store.get("k") is None
        assert store.delete("k") is False

    def test_clear_removes_every_entry(self, store: CacheStore, clock: FakeClock) -> None:
        """After clear, no key hits."""
        for key in ("a", "b", "c"):
            store.set(key, entry(clock, key))
        store.clear()
        assert [store.get(key) for key in ("a", "b", "c")] == [None, None, None]
        assert store.stats().entries == 0

    def test_stats_count_hits_misses_puts_and_entries(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """stats() reflects one put, one hit and one miss, and the entry held."""
        store.set("k", entry(clock))
        store.get("k")
        store.get("missing")
        stats = store.stats()
        assert (stats.hits, stats.misses, stats.puts, stats.entries) == (1, 1, 1, 1)
        assert stats.bytes > 0
        assert stats.hit_rate == 0.5

    def test_default_ttl_and_clock_are_exposed(self, store: CacheStore, clock: FakeClock) -> None:
        """The strategy reads ``default_ttl`` and ``clock`` from the store."""
        assert store.default_ttl == 900.0
        assert store.clock() == clock()

    def test_many_threads_at_once(self, store: CacheStore, clock: FakeClock) -> None:
        """Concurrent writers and readers on distinct keys all see their own entries."""
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                for round_ in range(20):
                    key = f"w{worker}-{round_}"
                    store.set(key, entry(clock, key, key=key))
                    got = store.get(key)
                    assert got is not None
                    assert got.response.content == key
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert store.stats().puts == 160

    async def test_async_twins_store_serve_and_delete(
        self, astore: CacheStore, clock: FakeClock
    ) -> None:
        """aset, aget and adelete behave as their sync twins."""
        assert await astore.aget("k") is None
        await astore.aset("k", entry(clock, "async"))
        got = await astore.aget("k")
        assert got is not None
        assert got.response.content == "async"
        assert await astore.adelete("k") is True
        assert await astore.adelete("k") is False
        assert await astore.aget("k") is None

    async def test_sync_and_async_share_entries(self, astore: CacheStore, clock: FakeClock) -> None:
        """What one flavour writes, the other reads."""
        astore.set("sync", entry(clock, "from sync"))
        await astore.aset("async", entry(clock, "from async"))
        from_sync = await astore.aget("sync")
        from_async = astore.get("async")
        assert from_sync is not None
        assert from_sync.response.content == "from sync"
        assert from_async is not None
        assert from_async.response.content == "from async"

    async def test_async_reads_respect_expiry(self, astore: CacheStore, clock: FakeClock) -> None:
        """aget never returns an expired entry."""
        await astore.aset("k", entry(clock, ttl=5))
        clock.tick(5)
        assert await astore.aget("k") is None

    # Invalidation: by the labels each entry was stored with, every filter given (AND).

    def fill(self, store: CacheStore, clock: FakeClock) -> None:
        """Five entries, told apart by their labels."""
        store.set("docs-a", labelled(clock, tags=("docs-v3", "tenant-a")))
        store.set("docs-b", labelled(clock, tags=("docs-v3", "tenant-b"), namespace="b"))
        store.set("claude", labelled(clock, provider="anthropic", model="claude-x"))
        store.set("mini", labelled(clock, model="gpt-4o-mini", namespace="b"))
        store.set("plain", entry(clock))

    def remaining(self, store: CacheStore) -> set[str]:
        keys = ("docs-a", "docs-b", "claude", "mini", "plain")
        return {key for key in keys if store.get(key) is not None}

    def test_labels_come_back_with_the_entry(self, store: CacheStore, clock: FakeClock) -> None:
        """What a call labelled its entry with is read back with it."""
        store.set("k", labelled(clock, "anthropic", "claude-x", "ns", ("t1", "t2")))
        got = store.get("k")
        assert got is not None
        assert got.labels == EntryLabels("anthropic", "claude-x", "ns", ("t1", "t2"))

    @pytest.mark.parametrize(
        ("selector", "gone"),
        [
            (Invalidation(tag="docs-v3"), {"docs-a", "docs-b"}),
            (Invalidation(tag="tenant-b"), {"docs-b"}),
            (Invalidation(provider="anthropic"), {"claude"}),
            (Invalidation(provider="openai", model="gpt-4o"), {"docs-a", "docs-b"}),
            (Invalidation(namespace="b"), {"docs-b", "mini"}),
            (Invalidation(namespace="b", tag="docs-v3"), {"docs-b"}),
            (Invalidation(key="plain"), {"plain"}),
            (Invalidation(key="plain", provider="openai"), set()),
            (Invalidation(tag="no-such-tag"), set()),
        ],
        ids=invalidation_case_id,
    )
    def test_invalidate_removes_exactly_the_matching_entries(
        self, store: CacheStore, clock: FakeClock, selector: Invalidation, gone: set[str]
    ) -> None:
        """Every filter given must match; the count is how many went."""
        self.fill(store, clock)
        assert store.invalidate(selector) == len(gone)
        assert self.remaining(store) == {"docs-a", "docs-b", "claude", "mini", "plain"} - gone

    async def test_a_dry_run_counts_what_would_go_and_removes_nothing(
        self, astore: CacheStore, clock: FakeClock, evictions: list[tuple[dict[str, Any], Any]]
    ) -> None:
        """Sync and async: the same count as the real run, no entry removed, no event."""
        self.fill(astore, clock)
        assert astore.invalidate(Invalidation(tag="docs-v3"), dry_run=True) == 2
        assert await astore.ainvalidate(Invalidation(namespace="b"), dry_run=True) == 2
        assert self.remaining(astore) == {"docs-a", "docs-b", "claude", "mini", "plain"}
        assert not [meta for _, meta in evictions if meta["reason"] == "explicit"]

    def test_invalidate_older_than_goes_by_when_entries_were_stored(
        self, store: CacheStore, clock: FakeClock
    ) -> None:
        """Entries stored more than ``older_than`` seconds ago go; newer ones stay."""
        store.set("old", labelled(clock))
        clock.tick(60)
        store.set("new", labelled(clock))
        clock.tick(1)
        assert store.invalidate(Invalidation(older_than=30)) == 1
        assert store.get("old") is None
        assert store.get("new") is not None

    def test_expired_entries_are_not_counted(self, store: CacheStore, clock: FakeClock) -> None:
        """An entry past its TTL was gone already: invalidating its tag counts only live ones."""
        store.set("short", labelled(clock, tags=("t",), ttl=5))
        store.set("long", labelled(clock, tags=("t",), ttl=500))
        clock.tick(10)
        assert store.invalidate(Invalidation(tag="t")) == 1
        assert store.get("long") is None

    def test_each_invalidated_entry_is_an_explicit_eviction(
        self, store: CacheStore, clock: FakeClock, evictions: list[tuple[dict[str, Any], Any]]
    ) -> None:
        """One evict event per entry removed, with reason explicit, and the store counts them."""
        self.fill(store, clock)
        before = store.stats().evictions
        assert store.invalidate(Invalidation(tag="docs-v3")) == 2
        explicit = {meta["key"] for _, meta in evictions if meta["reason"] == "explicit"}
        assert {"docs-a", "docs-b"} <= explicit
        assert store.stats().evictions - before >= 2

    async def test_ainvalidate_is_the_same_for_async_callers(
        self, astore: CacheStore, clock: FakeClock
    ) -> None:
        """The async twin removes the same entries and returns the same count."""
        self.fill(astore, clock)
        assert await astore.ainvalidate(Invalidation(namespace="b")) == 2
        assert self.remaining(astore) == {"docs-a", "claude", "plain"}


class TestMemoryStore(StoreContract):
    """MemoryStore meets the contract."""

    @pytest.fixture
    def store(self, clock: FakeClock) -> CacheStore:
        return MemoryStore(clock=clock, cleanup_interval=None)


class TestRedisStore(StoreContract):
    """RedisStore meets the contract against a real redis-server."""

    shares_hits = False  # each hit is a fresh decode

    @pytest.fixture
    def store(self, clock: FakeClock, redis_url: str) -> Iterator[CacheStore]:
        store = RedisStore(redis_url, namespace="contract", clock=clock, timeout=2.0)
        yield store
        store.close()


class TestTieredStore(StoreContract):
    """TieredStore (MemoryStore over RedisStore) meets the contract."""

    @pytest.fixture
    def store(self, clock: FakeClock, redis_url: str) -> Iterator[CacheStore]:
        l2 = RedisStore(redis_url, namespace="contract", clock=clock, timeout=2.0)
        yield TieredStore(MemoryStore(clock=clock, cleanup_interval=None), l2)
        l2.close()
