"""RedisStore: layout, expiry, namespaces, value encoding, housekeeping, and calls through it."""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import structlog

import exllm_py
from exllm_py import telemetry
from exllm_py.cache.arguments import MAX_TTL
from exllm_py.cache.entry import CacheEntry, dump_entry, make_entry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.redis_admin import (
    SCAN_COUNT,
    NamespaceStats,
    clear_namespace,
    namespace_stats,
    scan_totals,
)
from exllm_py.cache.stores.redis_codec import decode_entry, decode_value, encode_value
from exllm_py.cache.stores.redis_connect import check_namespace, import_redis, redact_url_password
from exllm_py.errors import ConfigurationError, ValidationError
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock
from tests.fakes.payloads import openai_completion
from tests.fakes.provider_server import ProviderServer, json_reply
from tests.redis_server import RedisServer

HI = [{"role": "user", "content": "Hi"}]


def entry(clock: FakeClock, content: str = "answer", ttl: float | None = 900.0) -> CacheEntry:
    response = LLMResponse(content=content, model="m", provider="mock", raw={"text": content})
    return make_entry(response, "k", clock(), ttl)


def wordy(words: int) -> str:
    """Text that compresses like prose: varied words, some repetition."""
    vocabulary = [
        "the",
        "model",
        "answers",
        "questions",
        "about",
        "caching",
        "layers",
        "and",
        "their",
        "expiry",
        "rules",
    ]
    return " ".join(f"{vocabulary[i % len(vocabulary)]}{i % 97}" for i in range(words))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    with redis_server.client() as client:
        yield client


@pytest.fixture
def store(redis_url: str, clock: FakeClock) -> Iterator[RedisStore]:
    store = RedisStore(redis_url, namespace="app", clock=clock, timeout=2.0)
    yield store
    store.close()


class TestLayout:
    """Entries are plain Redis strings under ``<namespace>:<key>``, expired by Redis itself."""

    def test_keys_are_prefixed_by_the_namespace(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """The key in Redis is the namespace, a colon, and the cache key."""
        store.set("abc", entry(clock))
        assert raw.keys("*") == [b"app:abc"]

    def test_ttl_becomes_a_redis_expiry(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """The remaining lifetime is set with PX, to the millisecond."""
        stored = entry(clock, ttl=60)
        clock.tick(20)
        store.set("k", stored)
        assert 39_000 < raw.pttl("app:k") <= 40_000

    async def test_an_async_write_sets_the_same_expiry(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """aset sets the remaining lifetime with PX too, not an entry that never expires."""
        stored = entry(clock, ttl=60)
        clock.tick(20)
        await store.aset("k", stored)
        assert 39_000 < raw.pttl("app:k") <= 40_000
        await store.aclose()

    def test_the_default_namespace_is_exllm(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """A store made without a namespace keeps its entries under ``exllm:``."""
        store = RedisStore(redis_url, clock=clock, timeout=2.0)
        store.set("k", entry(clock))
        assert raw.keys("*") == [b"exllm:k"]
        store.close()

    def test_an_entry_due_now_is_not_sent(
        self,
        store: RedisStore,
        raw: redis.Redis,
        clock: FakeClock,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """Zero milliseconds left: no SET (Redis would refuse PX 0); the old answer goes."""
        errors: list[dict[str, Any]] = []
        telemetry.attach("test-due-now", [telemetry.CACHE_ERROR], lambda *e: errors.append(e[2]))
        try:
            store.set("k", entry(clock, "old"))
            due = entry(clock, "new", ttl=10)
            clock.tick(10)
            store.set("k", due)
        finally:
            telemetry.detach("test-due-now")
        assert errors == []
        assert raw.exists("app:k") == 0
        assert store.stats().puts == 1
        assert [metadata["key"] for _, metadata in evictions] == ["k"]

    def test_an_entry_with_a_millisecond_left_is_stored(
        self, store: RedisStore, clock: FakeClock
    ) -> None:
        """Half a millisecond left rounds up to PX 1: still written (and counted as a put)."""
        nearly_due = entry(clock, ttl=10)
        clock.tick(9.9995)
        store.set("k", nearly_due)
        assert store.stats().puts == 1

    def test_no_ttl_means_no_expiry(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """An entry without TTL is stored without expiry."""
        store.set("k", entry(clock, ttl=None))
        assert raw.pttl("app:k") == -1

    def test_the_default_ttl_applies_through_the_strategy(
        self, redis_url: str, raw: redis.Redis
    ) -> None:
        """A call without cache_ttl is stored for the store's default_ttl."""
        store = RedisStore(redis_url, namespace="app", default_ttl=120, timeout=2.0)
        with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            client.chat("mock", HI)
        (name,) = raw.keys("app:*")
        assert 119_000 < raw.pttl(name) <= 120_000
        store.close()


class TestNamespaces:
    """A namespace sees, counts and clears only its own entries."""

    def test_namespaces_do_not_see_each_other(self, redis_url: str, clock: FakeClock) -> None:
        """The same key in two namespaces holds two entries."""
        tenant_a = RedisStore(redis_url, namespace="tenant-a", clock=clock, timeout=2.0)
        tenant_b = RedisStore(redis_url, namespace="tenant-b", clock=clock, timeout=2.0)
        tenant_a.set("k", entry(clock, "for a"))
        assert tenant_b.get("k") is None
        tenant_b.set("k", entry(clock, "for b"))
        got = tenant_a.get("k")
        assert got is not None
        assert got.response.content == "for a"
        tenant_a.close()
        tenant_b.close()

    def test_clear_unlinks_batches_of_scan_count_keys(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """1,001 entries are removed in UNLINKs of at most SCAN_COUNT (500) keys: three calls."""
        store = RedisStore(private_redis.url, namespace="app", clock=clock, timeout=2.0)
        for index in range(2 * SCAN_COUNT + 1):
            store.set(f"k{index}", entry(clock))
        with private_redis.client() as admin:
            admin.config_resetstat()
            store.clear()
            assert admin.info("commandstats")["cmdstat_unlink"]["calls"] == 3
            assert admin.dbsize() == 0
        store.close()

    def test_clear_leaves_other_namespaces_and_foreign_keys(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """clear() removes its namespace only: not a longer namespace, locks or others' data."""
        mine = RedisStore(redis_url, namespace="app", clock=clock, timeout=2.0)
        longer = RedisStore(redis_url, namespace="app2", clock=clock, timeout=2.0)
        for index in range(1200):  # more than one SCAN batch
            mine.set(f"k{index}", entry(clock))
        longer.set("k", entry(clock))
        raw.set("app@lock:k", b"token")
        raw.set("someone-else", b"data")
        mine.clear()
        assert raw.keys("app:*") == []
        assert sorted(raw.keys("*")) == [b"app2:k", b"app@lock:k", b"someone-else"]
        mine.close()
        longer.close()

    @pytest.mark.parametrize("bad", ["", "a:b", "with space", "star*", "brace{x}", "ü"])
    def test_a_namespace_that_could_collide_is_refused(self, bad: str) -> None:
        """Namespaces are letters, digits and ``_ . / -``: ':' and glob characters are refused."""
        with pytest.raises(ValueError, match="namespace") as refused:
            check_namespace(bad)
        assert str(refused.value).endswith(
            "(':' is reserved as the separator between namespace and key)"
        )

    @pytest.mark.parametrize("good", ["exllm", "tenant-a", "app.v2", "team/x", "A_1"])
    def test_ordinary_namespaces_are_accepted(self, good: str) -> None:
        """Common namespace spellings pass."""
        assert check_namespace(good) == good


class TestEncoding:
    """Values are the entry's JSON, zlib-compressed above a threshold, and bounded in size."""

    def test_small_values_are_stored_as_plain_json(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Below the threshold the stored bytes are exactly dump_entry's."""
        stored = entry(clock, "short")
        store.set("k", stored)
        assert raw.get("app:k") == dump_entry(stored)

    def test_large_values_are_compressed_and_read_back(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Above the threshold the value is b'z' + zlib, much smaller, and still a hit."""
        stored = entry(clock, wordy(800))
        store.set("k", stored)
        value = raw.get("app:k")
        assert isinstance(value, bytes)
        assert value.startswith(b"z")
        assert len(value) < len(dump_entry(stored)) / 2
        got = store.get("k")
        assert got is not None
        assert got.response.content == stored.response.content

    def test_compression_can_be_turned_off(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """compress_threshold=None stores every value as JSON."""
        store = RedisStore(redis_url, namespace="app", clock=clock, compress_threshold=None)
        store.set("k", entry(clock, wordy(800)))
        assert raw.get("app:k")[:1] == b"{"  # type: ignore[index]
        store.close()

    def test_values_above_max_value_bytes_are_not_stored(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """An entry too large once encoded is declined; smaller ones still go in."""
        store = RedisStore(
            redis_url, namespace="app", clock=clock, max_value_bytes=600, compress_threshold=None
        )
        store.set("big", entry(clock, "x" * 1000))
        store.set("small", entry(clock, "x"))
        assert raw.exists("app:big") == 0
        assert raw.exists("app:small") == 1
        assert store.stats().puts == 1
        store.close()

    def test_the_bound_applies_to_the_compressed_size(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """A value that only fits once compressed is stored."""
        stored = entry(clock, wordy(800))
        assert len(dump_entry(stored)) > 4000
        store = RedisStore(redis_url, namespace="app", clock=clock, max_value_bytes=4000)
        store.set("k", stored)
        assert raw.exists("app:k") == 1
        store.close()

    def test_encode_compresses_only_when_it_pays(self) -> None:
        """Values at or below the threshold, or that zlib cannot shrink, stay plain."""
        payload = b'{"v":"' + wordy(300).encode() + b'"}'
        noise = b"{" + random.Random(0).randbytes(3000)
        assert encode_value(payload, len(payload)) == payload
        assert encode_value(payload, len(payload) - 1)[:1] == b"z"
        assert encode_value(noise, 10) == noise

    def test_compression_is_zlib_level_1(self) -> None:
        """The compressed form is b'z' and zlib's fastest level, which a reader can inflate."""
        payload = b'{"v":"' + wordy(300).encode() + b'"}'
        assert encode_value(payload, 10) == b"z" + zlib.compress(payload, 1)

    def test_a_payload_compression_does_not_shrink_stays_plain(self) -> None:
        """A compressed form exactly as long as the JSON is no gain: the JSON is stored."""
        noise = random.Random(0).randbytes(2000)
        tie = next(
            payload
            for payload in (b"{" + b"a" * repeat + noise for repeat in range(400))
            if len(b"z" + zlib.compress(payload, 1)) == len(payload)
        )
        assert encode_value(tie, 10) == tie

    def test_decode_refuses_what_is_not_a_value(self) -> None:
        """Unknown first bytes, broken or oversized zlib streams are ValueErrors."""
        with pytest.raises(ValueError, match="starts with"):
            decode_value(b"garbage", 1000)
        with pytest.raises(ValueError, match="zlib"):
            decode_value(b"z" + b"not zlib at all", 1000)
        with pytest.raises(ValueError, match="truncated or inflates"):
            decode_value(b"z" + zlib.compress(b"{" + b"0" * 5000)[:-4], 100_000)
        with pytest.raises(ValueError, match="truncated or inflates"):
            decode_value(b"z" + zlib.compress(b"{" + b"0" * 5000), 1000)

    def test_a_reply_that_is_not_bytes_is_refused_by_type(self) -> None:
        """decode_entry names the type Redis returned when it is not a stored value."""
        with pytest.raises(ValueError, match=r"^Redis returned str, not bytes$"):
            decode_entry("{}", 1000)
        with pytest.raises(ValueError, match=r"^Redis returned int, not bytes$"):
            decode_entry(7, 1000)

    def test_decode_round_trips_both_forms(self) -> None:
        """What encode_value writes, decode_value reads back."""
        for payload in (b'{"a":1}', b'{"t":"' + wordy(500).encode() + b'"}'):
            assert decode_value(encode_value(payload, 100), 1_000_000) == payload


class TestStats:
    """stats(): this process's counters, and the namespace's size from a SCAN."""

    def test_counters_and_size(self, store: RedisStore, clock: FakeClock) -> None:
        """Hits, misses, puts, evictions, expirations, entries and bytes add up."""
        store.set("a", entry(clock, ttl=10))
        store.set("b", entry(clock, ttl=100))
        store.get("a")
        store.get("nope")
        store.delete("b")
        clock.tick(10)
        store.get("a")
        stats = store.stats()
        assert (stats.hits, stats.misses, stats.puts) == (1, 2, 2)
        assert (stats.evictions, stats.expirations, stats.entries) == (1, 1, 1)
        assert stats.bytes == len(dump_entry(entry(clock, ttl=10)))

    def test_every_hit_and_expiration_is_counted(self, store: RedisStore, clock: FakeClock) -> None:
        """Two hits count two; two entries read after their deadline count two expirations."""
        store.set("a", entry(clock, ttl=10))
        store.set("b", entry(clock, ttl=10))
        assert store.get("a") is not None
        assert store.get("b") is not None
        # Read back under a later clock, before Redis itself expires them: the store's check.
        clock.tick(10)
        assert store.get("a") is None
        assert store.get("b") is None
        stats = store.stats()
        assert (stats.hits, stats.expirations, stats.misses) == (2, 2, 2)

    def test_every_miss_is_counted(self, store: RedisStore) -> None:
        """Three lookups of keys never stored count three misses."""
        for key in ("a", "b", "a"):
            assert store.get(key) is None
        assert store.stats().misses == 3

    def test_the_size_scan_is_bounded(self, redis_url: str, clock: FakeClock) -> None:
        """stats_max_scans caps the SCAN calls: one call sees part of 1,200 entries, 20 all."""
        bounded = RedisStore(redis_url, namespace="app", clock=clock, stats_max_scans=1)
        for index in range(1200):
            bounded.set(f"k{index}", entry(clock))
        assert 0 < bounded.stats().entries < 1200
        assert bounded.stats().puts == 1200
        whole = RedisStore(redis_url, namespace="app", clock=clock)
        assert whole.stats().entries == 1200
        bounded.close()
        whole.close()

    def test_stats_asks_redis_for_no_memory_accounting(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """stats() sends SCAN and STRLEN only: no MEMORY USAGE per key (the CLI's job)."""
        store = RedisStore(private_redis.url, namespace="app", clock=clock, timeout=2.0)
        for index in range(3):
            store.set(f"k{index}", entry(clock))
        with private_redis.client() as admin:
            admin.config_resetstat()
            assert store.stats().entries == 3
            called = set(admin.info("commandstats"))
        assert {"cmdstat_scan", "cmdstat_strlen"} <= called
        assert "cmdstat_memory|usage" not in called
        store.close()

    def test_stats_makes_at_most_stats_max_scans_scan_calls(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """stats_max_scans=2 over 1,500 keys (at least three SCANs of 500): exactly two calls."""
        store = RedisStore(
            private_redis.url, namespace="app", clock=clock, timeout=2.0, stats_max_scans=2
        )
        for index in range(1500):
            store.set(f"k{index}", entry(clock))
        with private_redis.client() as admin:
            admin.config_resetstat()
            assert 0 < store.stats().entries < 1500
            scans = admin.info("commandstats")["cmdstat_scan"]["calls"]
        assert scans == 2
        store.close()

    def test_by_default_stats_stops_after_twenty_scans(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """Over 11,000 keys (more than 20 SCANs of 500), stats() makes exactly 20 calls."""
        with private_redis.client() as admin:
            for start in range(0, 11_000, 1000):
                admin.mset({f"app:k{index}": b"{}" for index in range(start, start + 1000)})
            admin.config_resetstat()
            store = RedisStore(private_redis.url, namespace="app", clock=clock, timeout=2.0)
            assert 0 < store.stats().entries < 11_000
            assert admin.info("commandstats")["cmdstat_scan"]["calls"] == 20
        store.close()

    @pytest.mark.parametrize("bad", [-1, -20])
    def test_a_negative_bound_is_refused(self, bad: int) -> None:
        """stats_max_scans is 0 (never scan) or more."""
        with pytest.raises(ValueError, match="stats_max_scans"):
            RedisStore("redis://localhost:6379/0", stats_max_scans=bad)


class TestEvictEvents:
    """A delete reports ("exllm", "cache", "evict") with the bytes the value took in Redis."""

    @pytest.mark.parametrize("words", [3, 800], ids=["plain", "compressed"])
    def test_delete_reports_the_stored_size(
        self,
        store: RedisStore,
        raw: redis.Redis,
        clock: FakeClock,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
        words: int,
    ) -> None:
        """size_bytes is the value's length as stored (compressed where compressed)."""
        store.set("k", entry(clock, wordy(words)))
        stored = raw.strlen("app:k")
        assert store.delete("k") is True
        assert evictions == [
            ({"size_bytes": stored}, {"key": "k", "reason": "explicit", "store": "redis"})
        ]
        assert stored > 0

    async def test_adelete_reports_the_stored_size(
        self,
        store: RedisStore,
        raw: redis.Redis,
        clock: FakeClock,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """The async twin reports the same event."""
        await store.aset("k", entry(clock))
        stored = raw.strlen("app:k")
        assert await store.adelete("k") is True
        assert evictions == [
            ({"size_bytes": stored}, {"key": "k", "reason": "explicit", "store": "redis"})
        ]
        await store.aclose()

    def test_every_delete_counts_one_eviction(self, store: RedisStore, clock: FakeClock) -> None:
        """Three entries deleted: three evictions in stats()."""
        for key in ("a", "b", "c"):
            store.set(key, entry(clock))
            assert store.delete(key) is True
        assert store.stats().evictions == 3

    def test_the_event_reaches_a_handler_with_debug_logging_off(
        self,
        store: RedisStore,
        clock: FakeClock,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """A handler attached for evict gets it even when the log would drop the event."""
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        telemetry.refresh_logging()
        try:
            store.set("k", entry(clock))
            assert store.delete("k") is True
        finally:
            structlog.reset_defaults()
            telemetry.refresh_logging()
        assert [metadata["key"] for _, metadata in evictions] == ["k"]

    def test_deleting_nothing_reports_nothing(
        self, store: RedisStore, evictions: list[tuple[dict[str, Any], dict[str, Any]]]
    ) -> None:
        """A missing key: False, no event, no eviction counted."""
        assert store.delete("missing") is False
        assert evictions == []
        assert store.stats().evictions == 0

    def test_a_key_of_another_type_is_deleted_with_size_zero(
        self,
        store: RedisStore,
        raw: redis.Redis,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """A list under the key has no string length: it goes, reported with size 0."""
        raw.rpush("app:k", b"not an entry")
        assert store.delete("k") is True
        assert raw.exists("app:k") == 0
        assert evictions[0][0] == {"size_bytes": 0}

    async def test_adelete_of_a_key_of_another_type_reports_size_zero(
        self,
        store: RedisStore,
        raw: redis.Redis,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """The async twin: the list goes, True, reported with size 0."""
        raw.rpush("app:k", b"not an entry")
        assert await store.adelete("k") is True
        assert raw.exists("app:k") == 0
        assert evictions == [
            ({"size_bytes": 0}, {"key": "k", "reason": "explicit", "store": "redis"})
        ]
        await store.aclose()

    def test_a_delete_redis_refuses_removes_nothing_and_reports_nothing(
        self,
        private_redis: RedisServer,
        clock: FakeClock,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """A user whose ACL forbids DEL: delete is False, no event, no eviction counted."""
        with private_redis.client() as admin:
            admin.execute_command("ACL", "SETUSER", "nodel", "on", ">pw", "~*", "+@all", "-del")
        url = f"redis://nodel:pw@127.0.0.1:{private_redis.port}/0"
        store = RedisStore(url, namespace="app", clock=clock, timeout=2.0)
        store.set("k", entry(clock))
        assert store.delete("k") is False
        assert store.get("k") is not None
        assert evictions == []
        assert store.stats().evictions == 0
        store.close()


class TestHousekeeping:
    """namespace_stats and clear_namespace serve ``exllm-cache stats|clear --redis``."""

    def test_namespace_stats_counts_entries_and_bytes(
        self, store: RedisStore, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Entries and stored bytes of the namespace, and Redis's memory accounting."""
        for index in range(3):
            store.set(f"k{index}", entry(clock, f"answer {index}"))
        raw.set("other:k", b"x" * 100)
        stats = namespace_stats(redis_url, "app")
        expected = sum(len(raw.get(f"app:k{i}") or b"") for i in range(3))
        assert stats == NamespaceStats("app", 3, expected, stats.memory_bytes)
        assert stats.memory_bytes is not None
        assert stats.memory_bytes > expected

    def test_the_default_namespace_is_exllm(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Without a namespace, both work on ``exllm``, the store's own default."""
        store = RedisStore(redis_url, clock=clock, timeout=2.0)
        store.set("a", entry(clock))
        store.set("b", entry(clock))
        raw.set("app:k", b"x")
        assert namespace_stats(redis_url).entries == 2
        assert clear_namespace(redis_url) == 2
        assert raw.keys("*") == [b"app:k"]
        store.close()

    def test_namespace_stats_adds_up_every_batch(
        self, store: RedisStore, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """1,200 entries take three batches of STRLEN: the bytes are those of all of them."""
        for index in range(1200):
            store.set(f"k{index}", entry(clock, f"answer {index}"))
        stats = namespace_stats(redis_url, "app")
        expected = sum(raw.strlen(name) for name in raw.scan_iter(match="app:*"))
        assert (stats.entries, stats.bytes) == (1200, expected)

    def test_namespace_stats_needs_only_read_commands(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """A read-only ACL user (``+@read``, no MULTI) gets the full figures, memory included."""
        store = RedisStore(private_redis.url, namespace="app", clock=clock, timeout=2.0)
        for index in range(3):
            store.set(f"k{index}", entry(clock, f"answer {index}"))
        with private_redis.client() as admin:
            admin.execute_command("ACL", "SETUSER", "watcher", "on", ">pw", "~*", "+@read")
            expected = sum(admin.strlen(f"app:k{index}") for index in range(3))
        url = f"redis://watcher:pw@127.0.0.1:{private_redis.port}/0"
        stats = namespace_stats(url, "app")
        assert (stats.entries, stats.bytes) == (3, expected)
        assert stats.memory_bytes is not None
        assert stats.memory_bytes > expected
        store.close()

    def test_scan_totals_without_memory_reports_none(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """memory=False (what RedisStore.stats asks): entries and bytes, memory_bytes None."""
        store.set("k", entry(clock))
        totals = scan_totals(raw, "app", memory=False)
        assert totals == NamespaceStats("app", 1, raw.strlen("app:k"), None)

    def test_an_empty_namespace(self, redis_url: str) -> None:
        """A namespace with nothing in it reports zeros."""
        assert namespace_stats(redis_url, "nothing-here") == NamespaceStats("nothing-here", 0, 0, 0)

    def test_clear_namespace_counts_what_it_removed(
        self, store: RedisStore, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Only that namespace's entries go, with SCAN and UNLINK."""
        for index in range(700):
            store.set(f"k{index}", entry(clock))
        raw.set("app2:k", b"x")
        assert clear_namespace(redis_url, "app") == 700
        assert clear_namespace(redis_url, "app") == 0
        assert raw.keys("*") == [b"app2:k"]

    def test_an_unreachable_server_is_a_configuration_error(self) -> None:
        """The message names the URL, without its password, and what to check."""
        url = "redis://user:s3cret@127.0.0.1:1/0"
        with pytest.raises(ConfigurationError, match="could not use Redis") as caught:
            namespace_stats(url, "app", timeout=0.5)
        assert str(caught.value).endswith(
            "; check the URL and that the server is running and reachable"
        )
        assert "s3cret" not in str(caught.value)
        assert "user:***@127.0.0.1:1" in str(caught.value)
        with pytest.raises(ConfigurationError):
            clear_namespace(url, "app", timeout=0.5)

    def test_redact_hides_only_the_password(self) -> None:
        """URLs without a password are unchanged."""
        assert redact_url_password("redis://localhost:6379/0") == "redis://localhost:6379/0"
        assert redact_url_password("rediss://:pw@h:1/2") == "rediss://:***@h:1/2"


class TestModules:
    """The store's modules import without redis-py (the CLI imports them at start-up)."""

    def test_importing_the_store_modules_needs_no_redis_package(self) -> None:
        """Only building a client imports redis, so the CLI works without the extra."""
        modules = [
            "redis",
            "redis_admin",
            "redis_codec",
            "redis_connect",
            "redis_faults",
            "redis_invalidation",
            "redis_tags",
        ]
        imports = "; ".join(f"import exllm_py.cache.stores.{name}" for name in modules)
        script = f"import sys; sys.modules['redis'] = None; {imports}"
        subprocess.run([sys.executable, "-c", script], check=True)


class TestConstruction:
    """Bad settings fail at once, with what to do; a missing package names the extra."""

    def test_a_bad_url_is_a_configuration_error(self) -> None:
        """A URL redis-py cannot parse names the accepted forms."""
        with pytest.raises(ConfigurationError, match="not a Redis URL"):
            RedisStore("http://localhost:6379")

    @pytest.mark.parametrize(
        "options", [{"timeout": 0}, {"max_value_bytes": 0}, {"namespace": "a:b"}]
    )
    def test_bad_settings_are_refused(self, options: dict[str, object]) -> None:
        """Zero timeouts and sizes, and colliding namespaces, are ValueErrors."""
        with pytest.raises(ValueError, match=next(iter(options))):
            RedisStore("redis://localhost:6379/0", **options)  # type: ignore[arg-type]

    def test_without_redis_installed_the_error_names_the_extra(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """ImportError says exactly what to pip install."""
        monkeypatch.setitem(sys.modules, "redis", None)
        with pytest.raises(ImportError, match=r"pip install 'exllm_py\[redis\]'"):
            import_redis()
        with pytest.raises(ImportError, match=r"exllm_py\[redis\]"):
            RedisStore()

    def test_the_repr_hides_the_password(self) -> None:
        """repr shows URL, namespace and breaker state, never the password."""
        store = RedisStore("redis://:hunter2@localhost:6379/0", namespace="ns")
        assert repr(store) == "<RedisStore redis://:***@localhost:6379/0 namespace='ns' closed>"
        store.close()


class TestThroughTheClient:
    """exllm_py calls hit entries stored in Redis, by this process or another."""

    def test_a_repeated_call_is_served_from_redis(self, redis_url: str) -> None:
        """The second identical call makes no provider call and is marked from_cache."""
        store = RedisStore(redis_url, namespace="app", timeout=2.0)
        with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            first = client.chat("mock", HI)
            second = client.chat("mock", HI)
            assert client.mock.calls == 1
        assert first.metadata["from_cache"] is False
        assert second.metadata["from_cache"] is True
        assert second.content == first.content
        store.close()

    def test_another_client_with_its_own_store_shares_the_entries(self, redis_url: str) -> None:
        """A second store object on the same URL and namespace (as in another process) hits."""
        writer, reader = (RedisStore(redis_url, namespace="app", timeout=2.0) for _ in range(2))
        with exllm_py.Client(cache_strategy=ProductionStrategy(writer)) as client:
            client.chat("mock", HI, cache_ttl=30)
        with exllm_py.Client(cache_strategy=ProductionStrategy(reader)) as client:
            answer = client.chat("mock", HI, cache_ttl=30)
            assert client.mock.calls == 0
        assert answer.metadata["from_cache"] is True
        writer.close()
        reader.close()

    async def test_achat_is_served_from_redis(self, redis_url: str) -> None:
        """The async path reads and writes Redis through redis.asyncio."""
        store = RedisStore(redis_url, namespace="app", timeout=2.0)
        async with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            await client.achat("mock", HI)
            again = await client.achat("mock", HI)
            assert client.mock.calls == 1
        assert again.metadata["from_cache"] is True
        await store.aclose()
        store.close()


class TestArguments:
    """Every constructor argument is checked at construction, before any connection."""

    @pytest.mark.parametrize(
        ("argument", "value"),
        [
            ("url", 6379),
            ("namespace", "a:b"),
            ("default_ttl", 0),
            ("default_ttl", -5),
            ("default_ttl", float("nan")),
            ("default_ttl", "900"),
            ("default_ttl", float("inf")),
            ("default_ttl", 1e308),
            ("default_ttl", 10**20),
            ("default_ttl", True),
            ("timeout", 0),
            ("timeout", float("nan")),
            ("timeout", float("inf")),
            ("timeout", "0.05"),
            ("max_value_bytes", "10"),
            ("max_value_bytes", True),
            ("compress_threshold", -1),
            ("compress_threshold", "1k"),
            ("breaker", "closed"),
            ("clock", 1_700_000_000.0),
            ("stats_max_scans", "20"),
        ],
    )
    def test_a_bad_argument_is_refused_by_name(self, argument: str, value: object) -> None:
        with pytest.raises(ValidationError, match=rf"^RedisStore {argument}\b"):
            RedisStore(**{"url": "redis://localhost:6379/0", argument: value})  # type: ignore[arg-type]

    def test_the_longest_ttl_reaches_redis(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """A default_ttl of MAX_TTL is a PX Redis accepts; so is cache_ttl=MAX_TTL."""
        store = RedisStore(redis_url, namespace="app", default_ttl=MAX_TTL, timeout=2.0)
        with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            client.chat("mock", HI)
            client.chat("mock", [{"role": "user", "content": "Ho"}], cache_ttl=MAX_TTL)
            assert client.chat("mock", HI).metadata["from_cache"] is True
        assert [raw.pttl(name) > (MAX_TTL - 60) * 1000 for name in raw.keys("app:*")] == [
            True,
            True,
        ]
        store.close()


class TestWhatIsNotStored:
    """A write that stores nothing leaves no older answer behind (a refresh must not)."""

    def test_a_value_too_large_drops_the_previous_one(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        store = RedisStore(
            redis_url, namespace="app", clock=clock, max_value_bytes=600, compress_threshold=None
        )
        store.set("k", entry(clock, "old"))
        store.set("k", entry(clock, "x" * 1000))
        assert raw.exists("app:k") == 0
        assert store.get("k") is None
        store.close()

    async def test_a_value_too_large_drops_the_previous_one_async(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        store = RedisStore(
            redis_url, namespace="app", clock=clock, max_value_bytes=600, compress_threshold=None
        )
        await store.aset("k", entry(clock, "old"))
        await store.aset("k", entry(clock, "x" * 1000))
        assert raw.exists("app:k") == 0
        await store.aclose()
        store.close()

    async def test_a_dropped_previous_answer_is_an_explicit_eviction(
        self,
        redis_url: str,
        clock: FakeClock,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """aset of a value too large removes the old one and reports it, under its key."""
        store = RedisStore(
            redis_url, namespace="app", clock=clock, max_value_bytes=600, compress_threshold=None
        )
        await store.aset("k", entry(clock, "old"))
        await store.aset("k", entry(clock, "x" * 1000))
        assert [metadata for _, metadata in evictions] == [
            {"key": "k", "reason": "explicit", "store": "redis"}
        ]
        assert store.stats().evictions == 1
        await store.aclose()
        store.close()

    def test_a_dropped_previous_answer_is_an_explicit_eviction_sync(
        self,
        redis_url: str,
        clock: FakeClock,
        evictions: list[tuple[dict[str, Any], dict[str, Any]]],
    ) -> None:
        """set of a value too large removes the old one and reports it, under its key."""
        store = RedisStore(
            redis_url, namespace="app", clock=clock, max_value_bytes=600, compress_threshold=None
        )
        store.set("k", entry(clock, "old"))
        store.set("k", entry(clock, "x" * 1000))
        assert [metadata for _, metadata in evictions] == [
            {"key": "k", "reason": "explicit", "store": "redis"}
        ]
        assert store.stats().evictions == 1
        store.close()

    def test_a_write_redis_refuses_drops_the_previous_one(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """Out of memory, Redis refuses SET but still takes DEL."""
        store = RedisStore(private_redis.url, namespace="app", clock=clock, timeout=2.0)
        store.set("k", entry(clock, "old"))
        store.set("other", entry(clock, "other"))
        with private_redis.client() as admin:
            admin.config_set("maxmemory-policy", "noeviction")
            admin.config_set("maxmemory", "1")
            store.set("k", entry(clock, "new"))
            deleted = store.delete("other")  # an explicit delete works on a full Redis too
            admin.config_set("maxmemory", "0")
            assert admin.exists("app:k", "app:other") == 0
        assert deleted is True
        store.close()

    async def test_an_async_write_redis_refuses_drops_the_previous_one(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """The async twin: at maxmemory, aset's refused write still removes the old answer."""
        store = RedisStore(private_redis.url, namespace="app", clock=clock, timeout=2.0)
        await store.aset("k", entry(clock, "old"))
        await store.aset("other", entry(clock, "other"))
        with private_redis.client() as admin:
            admin.config_set("maxmemory-policy", "noeviction")
            admin.config_set("maxmemory", "1")
            await store.aset("k", entry(clock, "new"))
            deleted = await store.adelete("other")
            admin.config_set("maxmemory", "0")
            assert admin.exists("app:k", "app:other") == 0
        assert deleted is True
        await store.aclose()
        store.close()

    def test_a_refresh_too_large_for_redis_removes_the_old_answer(self, redis_url: str) -> None:
        store = RedisStore(
            redis_url, namespace="app", max_value_bytes=4000, compress_threshold=None, timeout=2.0
        )
        options: dict[str, Any] = {"api_key": "k"}
        with (
            ProviderServer() as server,
            exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client,
        ):
            options["base_url"] = server.url
            server.enqueue(
                json_reply(openai_completion("Paris.")),
                json_reply(openai_completion("Paris. " * 1000)),
                json_reply(openai_completion("Paris.")),
            )
            client.chat("openai", HI, **options)
            client.chat("openai", HI, cache="refresh", **options)
            after = client.chat("openai", HI, **options)
        assert after.metadata["from_cache"] is False
        assert len(server.requests) == 3
        store.close()
