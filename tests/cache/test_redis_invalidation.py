"""RedisStore invalidation: the tag index, the namespace walk, races, failures, housekeeping."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from exllm_py import Client, MockProvider
from exllm_py.cache.arguments import MAX_TTL
from exllm_py.cache.entry import CacheEntry, dump_entry, entry_labels, make_entry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.redis_admin import clear_namespace, namespace_stats
from exllm_py.cache.stores.redis_codec import EntrySummary, decode_summary, encode_value
from exllm_py.cache.stores.redis_invalidation import BATCH, SCAN_COUNT, Removed, Scope, plan
from exllm_py.cache.stores.redis_tags import PRUNE_GRACE_S, Command
from exllm_py.cli import main
from exllm_py.errors import ConfigurationError
from exllm_py.types import LLMResponse
from tests.cache.conftest import invalidation_case_id
from tests.clocks import FakeClock
from tests.redis_server import RedisServer

Evictions = list[tuple[dict[str, Any], dict[str, Any]]]


def labelled(
    clock: FakeClock,
    *,
    tags: tuple[str, ...] = (),
    provider: str = "openai",
    model: str = "gpt-4o",
    namespace: str | None = None,
    ttl: float | None = 900.0,
    content: str = "answer",
) -> CacheEntry:
    """An entry as a call with these labels stores it, now."""
    response = LLMResponse(content=content, model=model, provider=provider, raw={"text": content})
    labels = entry_labels(provider, model, namespace, tags)
    return make_entry(response, "k", clock(), ttl, labels)


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def members(raw: redis.Redis, tag: str, namespace: str = "app") -> list[bytes]:
    return sorted(
        name for name in raw.zrange(f"{namespace}@tag:{tag}", 0, -1) if isinstance(name, bytes)
    )


def keys(raw: redis.Redis, pattern: str = "*") -> list[bytes]:
    """The names matching ``pattern`` (the test's own look: tests may use KEYS)."""
    return sorted(name for name in raw.keys(pattern) if isinstance(name, bytes))


def calls(admin: redis.Redis, command: str) -> int:
    """How many times ``command`` ran since the last ``CONFIG RESETSTAT``."""
    stats: dict[str, Any] = admin.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


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


@pytest.fixture
def admin(private_redis: RedisServer) -> Iterator[redis.Redis]:
    """A client of the test's own server, whose command statistics only the test moves."""
    with private_redis.client() as client:
        yield client


@pytest.fixture
def counted(private_redis: RedisServer, clock: FakeClock) -> Iterator[RedisStore]:
    """A store on the test's own server (see ``admin``)."""
    store = RedisStore(private_redis.url, namespace="app", clock=clock, timeout=2.0)
    yield store
    store.close()


class TestTagIndex:
    """A tagged entry joins one sorted set per tag, written with it, expiring no sooner than it."""

    def test_each_tag_indexes_the_key_scored_by_its_expiry(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """``app@tag:<tag>`` holds the cache key, scored by the entry's expires_at."""
        stored = labelled(clock, tags=("docs-v3", "tenant-a"), ttl=60)
        store.set("k", stored)
        assert members(raw, "docs-v3") == members(raw, "tenant-a") == [b"k"]
        assert raw.zscore("app@tag:docs-v3", "k") == stored.expires_at
        assert raw.type("app@tag:docs-v3") == b"zset"

    def test_an_untagged_entry_is_a_plain_set_with_no_index(
        self, counted: RedisStore, admin: redis.Redis, clock: FakeClock
    ) -> None:
        """No tags: one SET, no transaction, no index key."""
        admin.config_resetstat()
        counted.set("k", labelled(clock))
        assert (calls(admin, "set"), calls(admin, "multi"), calls(admin, "zadd")) == (1, 0, 0)
        assert admin.keys("*") == [b"app:k"]

    def test_a_tagged_entry_and_its_index_go_in_one_transaction(
        self, counted: RedisStore, admin: redis.Redis, clock: FakeClock
    ) -> None:
        """SET and the index commands of both tags run inside one MULTI/EXEC."""
        admin.config_resetstat()
        counted.set("k", labelled(clock, tags=("a", "b")))
        assert (calls(admin, "multi"), calls(admin, "exec")) == (1, 1)
        assert (calls(admin, "set"), calls(admin, "zadd")) == (1, 2)

    async def test_an_async_write_indexes_the_same_way(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """aset writes the entry and its index, with the same expiry."""
        await store.aset("k", labelled(clock, tags=("t",), ttl=60))
        await store.aclose()
        assert members(raw, "t") == [b"k"]
        assert 59_000 < raw.pttl("app:k") <= 60_000
        assert 59_000 < raw.pttl("app@tag:t") <= 60_000

    def test_a_tag_set_expires_no_sooner_than_its_longest_lived_member(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """A longer-lived member extends the set's expiry; a shorter one never cuts it."""
        store.set("a", labelled(clock, tags=("t",), ttl=60))
        assert 59_000 < raw.pttl("app@tag:t") <= 60_000
        store.set("b", labelled(clock, tags=("t",), ttl=600))
        assert 599_000 < raw.pttl("app@tag:t") <= 600_000
        store.set("c", labelled(clock, tags=("t",), ttl=10))
        assert 599_000 < raw.pttl("app@tag:t") <= 600_000

    def test_a_member_that_never_expires_keeps_its_set_for_ten_years(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """An entry without a TTL gives its tag set the longest TTL there is, not a shorter one."""
        store.set("short", labelled(clock, tags=("t",), ttl=60))
        store.set("forever", labelled(clock, tags=("t",), ttl=None))
        assert MAX_TTL * 1000 - 5_000 < raw.pttl("app@tag:t") <= MAX_TTL * 1000
        assert raw.zscore("app@tag:t", "forever") == float("inf")

    def test_a_re_set_with_a_shorter_life_keeps_the_higher_score(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """A member's score only rises, so it never falls below a live tagged entry's expiry."""
        long = labelled(clock, tags=("t",), ttl=600)
        store.set("k", long)
        store.set("k", labelled(clock, tags=("t",), ttl=60))
        assert raw.zscore("app@tag:t", "k") == long.expires_at

    def test_tagged_writes_prune_members_long_expired(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Members past their score by more than the grace go; those within it stay."""
        store.set("old", labelled(clock, tags=("t",), ttl=5))
        clock.tick(5 + PRUNE_GRACE_S + 1)
        store.set("recent", labelled(clock, tags=("t",), ttl=5))
        clock.tick(10)
        store.set("new", labelled(clock, tags=("t",)))
        assert members(raw, "t") == [b"new", b"recent"]

    def test_the_index_is_not_counted_as_entries(
        self, store: RedisStore, redis_url: str, clock: FakeClock
    ) -> None:
        """stats() and namespace_stats count entries only, however many tags they carry."""
        store.set("k", labelled(clock, tags=("a", "b", "c")))
        assert store.stats().entries == 1
        assert namespace_stats(redis_url, "app").entries == 1

    def test_a_tag_key_of_another_type_keeps_the_entry_out(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """If the index cannot be written, neither is the entry: none is served outside it."""
        raw.set("app@tag:t", b"not a sorted set")
        store.set("k", labelled(clock, tags=("t",)))
        assert raw.exists("app:k") == 0


class TestByTag:
    """``invalidate(tag=)`` reads the tag's index and confirms each entry before removing it."""

    def test_every_entry_with_the_tag_goes_and_only_those(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Three tagged, two not: three go, and the count says so."""
        for key in ("a", "b", "c"):
            store.set(key, labelled(clock, tags=("docs-v3",)))
        store.set("other", labelled(clock, tags=("other",)))
        store.set("plain", labelled(clock))
        assert store.invalidate(Invalidation(tag="docs-v3")) == 3
        assert keys(raw, "app:*") == [b"app:other", b"app:plain"]

    def test_an_entry_re_set_without_the_tag_survives(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """The index still lists the key; its labels, read before unlinking, say no."""
        store.set("k", labelled(clock, tags=("t",)))
        store.set("k", labelled(clock, content="refreshed"))
        assert members(raw, "t") == [b"k"]
        assert store.invalidate(Invalidation(tag="t")) == 0
        got = store.get("k")
        assert got is not None
        assert got.response.content == "refreshed"

    def test_an_entry_re_set_with_other_tags_keeps_them(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Re-set under tag u only: invalidating t spares it, invalidating u removes it."""
        store.set("k", labelled(clock, tags=("t",)))
        store.set("k", labelled(clock, tags=("u",)))
        assert store.invalidate(Invalidation(tag="t")) == 0
        assert store.invalidate(Invalidation(tag="u")) == 1
        assert raw.exists("app:k") == 0

    def test_removed_entries_leave_the_index_of_each_of_their_tags(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """The member goes from every tag set the entry carried, not only the one asked for."""
        store.set("k", labelled(clock, tags=("t", "u")))
        store.set("kept", labelled(clock, tags=("u",)))
        assert store.invalidate(Invalidation(tag="t")) == 1
        assert members(raw, "t") == []
        assert members(raw, "u") == [b"kept"]

    def test_other_filters_narrow_the_tag(self, store: RedisStore, clock: FakeClock) -> None:
        """tag AND provider AND namespace: only entries matching all three go."""
        store.set("a", labelled(clock, tags=("t",), provider="anthropic", namespace="x"))
        store.set("b", labelled(clock, tags=("t",), provider="anthropic"))
        store.set("c", labelled(clock, tags=("t",), namespace="x"))
        selector = Invalidation(tag="t", provider="anthropic", namespace="x")
        assert store.invalidate(selector) == 1
        assert [key for key in "abc" if store.get(key) is not None] == ["b", "c"]

    @pytest.mark.parametrize("ttl", [5, 10], ids=["expired-before-now", "expiring-exactly-now"])
    def test_members_scored_up_to_now_are_not_read(
        self, counted: RedisStore, admin: redis.Redis, clock: FakeClock, ttl: int
    ) -> None:
        """An expired member's score says so, one expiring this very instant included:
        one GET for the live one, none for the other."""
        counted.set("expired", labelled(clock, tags=("t",), ttl=ttl))
        counted.set("live", labelled(clock, tags=("t",), ttl=500))
        clock.tick(10)
        admin.config_resetstat()
        assert counted.invalidate(Invalidation(tag="t")) == 1
        assert calls(admin, "get") == 1

    def test_a_large_index_is_walked_in_batches(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """More members than one ZSCAN page and one read batch: every one is found."""
        count = SCAN_COUNT + BATCH + 1
        for index in range(count):
            store.set(f"k{index}", labelled(clock, tags=("t",)))
        assert store.invalidate(Invalidation(tag="t")) == count
        assert keys(raw, "app:*") == []

    def test_an_unknown_tag_removes_nothing(self, store: RedisStore, clock: FakeClock) -> None:
        """No index, nothing to read: zero."""
        store.set("k", labelled(clock, tags=("t",)))
        assert store.invalidate(Invalidation(tag="nope")) == 0
        assert store.get("k") is not None

    def test_an_index_key_of_another_type_is_an_error(
        self, store: RedisStore, raw: redis.Redis
    ) -> None:
        """Not a silent zero: the error reply is raised, naming the namespace."""
        raw.set("app@tag:t", b"not a sorted set")
        with pytest.raises(ConfigurationError, match="WRONGTYPE") as caught:
            store.invalidate(Invalidation(tag="t"))
        assert "namespace 'app'" in str(caught.value)


class TestByWalkingTheNamespace:
    """Provider, model, namespace and age: SCAN the namespace, read, confirm, UNLINK."""

    @pytest.fixture
    def filled(self, store: RedisStore, clock: FakeClock) -> RedisStore:
        store.set("gpt", labelled(clock))
        store.set("mini", labelled(clock, model="gpt-4o-mini", namespace="b"))
        store.set("claude", labelled(clock, provider="anthropic", model="claude-x", namespace="b"))
        clock.tick(100)
        store.set("new-gpt", labelled(clock))
        clock.tick(1)
        return store

    @pytest.mark.parametrize(
        ("selector", "gone"),
        [
            (Invalidation(provider="openai"), {"gpt", "mini", "new-gpt"}),
            (Invalidation(model="gpt-4o"), {"gpt", "new-gpt"}),
            (Invalidation(namespace="b"), {"mini", "claude"}),
            (Invalidation(older_than=50), {"gpt", "mini", "claude"}),
            (Invalidation(provider="openai", older_than=50), {"gpt", "mini"}),
            (Invalidation(provider="openai", model="gpt-4o", older_than=50), {"gpt"}),
            (Invalidation(namespace="b", provider="anthropic"), {"claude"}),
            (Invalidation(provider="gemini"), set()),
        ],
        ids=invalidation_case_id,
    )
    def test_each_filter_and_their_conjunction(
        self, filled: RedisStore, raw: redis.Redis, selector: Invalidation, gone: set[str]
    ) -> None:
        """Exactly the entries every given filter matches go; the count is theirs."""
        everything = {"gpt", "mini", "claude", "new-gpt"}
        assert filled.invalidate(selector) == len(gone)
        left = {name.decode().removeprefix("app:") for name in keys(raw, "app:*")}
        assert left == everything - gone

    def test_compressed_entries_are_read(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Values above the compression threshold are inflated to find their labels."""
        store.set("big", labelled(clock, provider="anthropic", content="words " * 2000))
        raw_value = raw.get("app:big")
        assert isinstance(raw_value, bytes)
        assert raw_value.startswith(b"z")
        assert store.invalidate(Invalidation(provider="anthropic")) == 1
        assert raw.exists("app:big") == 0

    def test_a_namespace_larger_than_a_batch_is_walked_whole(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Several SCAN pages and read batches: every match is found, no other entry goes."""
        for index in range(2 * SCAN_COUNT + 1):
            provider = "anthropic" if index % 2 else "openai"
            store.set(f"k{index}", labelled(clock, provider=provider))
        assert store.invalidate(Invalidation(provider="anthropic")) == SCAN_COUNT
        assert len(keys(raw, "app:*")) == SCAN_COUNT + 1

    def test_other_namespaces_locks_and_foreign_keys_are_untouched(
        self, store: RedisStore, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """A longer namespace, locks, tag sets of others, non-entries in the namespace: all stay."""
        neighbour = RedisStore(redis_url, namespace="app2", clock=clock, timeout=2.0)
        neighbour.set("k", labelled(clock, tags=("t",)))
        neighbour.close()
        store.set("k", labelled(clock, tags=("t",)))
        raw.set("app@lock:k", b"token")
        raw.set("app:junk", b"not an entry")
        raw.hset("app:hash", "field", "value")
        raw.set("someone-else", b"data")
        assert store.invalidate(Invalidation(provider="openai")) == 1
        assert keys(raw) == [
            b"app2:k",
            b"app2@tag:t",
            b"app:hash",
            b"app:junk",
            b"app@lock:k",
            b"someone-else",
        ]

    def test_a_key_is_read_directly_without_a_scan(
        self, counted: RedisStore, admin: redis.Redis, clock: FakeClock
    ) -> None:
        """``key=``: one GET, one UNLINK, no SCAN; with another filter, both must match."""
        counted.set("k", labelled(clock, provider="anthropic"))
        counted.set("other", labelled(clock, provider="anthropic"))
        admin.config_resetstat()
        assert counted.invalidate(Invalidation(key="k", provider="openai")) == 0
        assert counted.invalidate(Invalidation(key="k")) == 1
        assert (calls(admin, "scan"), calls(admin, "get"), calls(admin, "unlink")) == (0, 2, 1)
        assert admin.exists("app:other") == 1

    def test_entries_expired_by_the_stores_clock_are_neither_counted_nor_removed(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """Redis has not dropped it yet, but the entry is past its TTL: it was gone already."""
        store.set("short", labelled(clock, ttl=5))
        clock.tick(10)
        assert store.invalidate(Invalidation(provider="openai")) == 0
        assert raw.exists("app:short") == 1


class TestCountsAndEvents:
    """Each entry removed is one ``explicit`` evict event and one eviction; a dry run is neither."""

    def test_each_removed_entry_reports_its_stored_size(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock, evictions: Evictions
    ) -> None:
        """Key, reason, store, and the bytes it held in Redis; evictions counted."""
        store.set("a", labelled(clock, tags=("t",)))
        store.set("b", labelled(clock, tags=("t",), content="longer answer " * 200))
        sizes = {key: raw.strlen(f"app:{key}") for key in ("a", "b")}
        assert store.invalidate(Invalidation(tag="t")) == 2
        reported = {meta["key"]: (measured, meta) for measured, meta in evictions}
        assert reported.keys() == {"a", "b"}
        for key, (measured, meta) in reported.items():
            assert measured == {"size_bytes": sizes[key]}
            assert meta == {"key": key, "reason": "explicit", "store": "redis"}
        assert store.stats().evictions == 2

    def test_a_dry_run_counts_and_removes_nothing(
        self, counted: RedisStore, admin: redis.Redis, clock: FakeClock, evictions: Evictions
    ) -> None:
        """The count of a real run, no UNLINK or ZREM sent, no event, no eviction."""
        counted.set("a", labelled(clock, tags=("t",)))
        counted.set("b", labelled(clock, tags=("t",), provider="anthropic"))
        admin.config_resetstat()
        assert counted.invalidate(Invalidation(tag="t"), dry_run=True) == 2
        assert counted.invalidate(Invalidation(provider="anthropic"), dry_run=True) == 1
        assert (calls(admin, "unlink"), calls(admin, "zrem")) == (0, 0)
        assert (evictions, counted.stats().evictions) == ([], 0)
        assert counted.invalidate(Invalidation(tag="t")) == 2

    def test_only_keys_unlink_found_are_counted(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock, evictions: Evictions
    ) -> None:
        """An entry another process removed between the read and the UNLINK is not counted."""
        store.set("k", labelled(clock, tags=("t",)))
        steps = plan(Scope(Invalidation(tag="t"), "app", clock(), store.max_value_bytes))
        removal = steps.send(round_trip(raw, steps.send(round_trip(raw, next(steps)))))
        raw.delete("app:k")
        with pytest.raises(StopIteration) as done:
            steps.send(round_trip(raw, removal))
        assert done.value.value == []


def round_trip(raw: redis.Redis, commands: list[Command]) -> list[Any]:
    """Send one step of a plan as RedisStore does: one pipeline, error replies returned."""
    pipe = raw.pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)  # type: ignore[no-untyped-call]  # unannotated in redis-py
    return pipe.execute(raise_on_error=False)


class TestRaces:
    """Writes that land while an invalidation runs are at worst removed, never left out."""

    def test_the_index_entry_goes_before_the_entry(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """ZREM then UNLINK in one pipeline: a writer between them leaves an extra member only."""
        store.set("k", labelled(clock, tags=("t", "u")))
        steps = plan(Scope(Invalidation(tag="t"), "app", clock(), store.max_value_bytes))
        reads = steps.send(round_trip(raw, next(steps)))
        removal = steps.send(round_trip(raw, reads))
        assert [command[0] for command in removal] == ["ZREM", "ZREM", "UNLINK"]

    @pytest.mark.parametrize("tags", [(), ("t",)], ids=["untagged", "tagged"])
    def test_an_entry_re_set_between_check_and_unlink_is_removed(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock, tags: tuple[str, ...]
    ) -> None:
        """The new value goes with the old (over-invalidation), counted at the size read."""
        store.set("k", labelled(clock, tags=("t",)))
        size = raw.strlen("app:k")
        steps = plan(Scope(Invalidation(tag="t"), "app", clock(), store.max_value_bytes))
        removal = steps.send(round_trip(raw, steps.send(round_trip(raw, next(steps)))))
        store.set("k", labelled(clock, tags=tags, content="written meanwhile"))
        with pytest.raises(StopIteration) as done:
            steps.send(round_trip(raw, removal))
        assert done.value.value == [Removed("k", size)]
        assert raw.exists("app:k") == 0

    def test_an_entry_tagged_after_the_removal_is_indexed_for_the_next(
        self, store: RedisStore, clock: FakeClock
    ) -> None:
        """A tagged write landing after the UNLINK is found by the next invalidation."""
        store.set("k", labelled(clock, tags=("t",)))
        assert store.invalidate(Invalidation(tag="t")) == 1
        store.set("k", labelled(clock, tags=("t",)))
        assert store.invalidate(Invalidation(tag="t")) == 1


class TestAsync:
    """``ainvalidate`` makes the same decisions on the running loop's client."""

    async def test_by_tag_and_by_walk(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock, evictions: Evictions
    ) -> None:
        """Tag, walk and key, each with its count and its events; a re-set entry survives."""
        await store.aset("a", labelled(clock, tags=("t",)))
        await store.aset("b", labelled(clock, tags=("t",)))
        await store.aset("b", labelled(clock, content="untagged now"))
        await store.aset("c", labelled(clock, provider="anthropic"))
        await store.aset("d", labelled(clock))
        assert await store.ainvalidate(Invalidation(tag="t")) == 1
        assert await store.ainvalidate(Invalidation(provider="anthropic"), dry_run=True) == 1
        assert await store.ainvalidate(Invalidation(provider="anthropic")) == 1
        assert await store.ainvalidate(Invalidation(key="d")) == 1
        await store.aclose()
        assert keys(raw, "app:*") == [b"app:b"]
        assert [meta["key"] for _, meta in evictions] == ["a", "c", "d"]
        assert store.stats().evictions == 3

    async def test_non_entries_in_the_namespace_are_left_alone(
        self, store: RedisStore, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """A hash or a foreign string under the prefix is neither an error nor removed."""
        raw.hset("app:hash", "field", "value")
        raw.set("app:junk", b"not an entry")
        await store.aset("k", labelled(clock))
        assert await store.ainvalidate(Invalidation(provider="openai")) == 1
        await store.aclose()
        assert keys(raw, "app:*") == [b"app:hash", b"app:junk"]

    async def test_an_unreachable_server_raises(self, clock: FakeClock) -> None:
        """The async twin raises the same error as the sync one."""
        url = f"redis://:s3cret@127.0.0.1:{closed_port()}/0"
        store = RedisStore(url, namespace="app", clock=clock, timeout=0.5)
        with pytest.raises(ConfigurationError, match="could not invalidate") as caught:
            await store.ainvalidate(Invalidation(provider="openai"))
        await store.aclose()
        assert "s3cret" not in str(caught.value)
        assert isinstance(caught.value.__cause__, redis.ConnectionError)


class TestWhenRedisFails:
    """An invalidation that did not happen raises; it neither consults nor feeds the breaker."""

    def test_the_error_names_the_url_without_its_password_and_the_namespace(
        self, clock: FakeClock
    ) -> None:
        """ConfigurationError from the redis-py error, saying what failed where."""
        url = f"redis://user:s3cret@127.0.0.1:{closed_port()}/0"
        store = RedisStore(url, namespace="app", clock=clock, timeout=0.5)
        with pytest.raises(ConfigurationError) as caught:
            store.invalidate(Invalidation(tag="docs-v3"))
        store.close()
        message = str(caught.value)
        assert "s3cret" not in message
        assert message.startswith(
            "RedisStore could not invalidate (tag='docs-v3') in namespace 'app' at "
            "redis://user:***@127.0.0.1:"
        )
        assert message.endswith("; check that the server is running and reachable")
        assert isinstance(caught.value.__cause__, redis.ConnectionError)

    def test_an_open_breaker_does_not_stop_it_and_failures_do_not_open_one(
        self, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """Down: it raises and the breaker stays closed; up again, it runs with the breaker open."""
        breaker = CircuitBreaker(failure_threshold=1, cooldown=3600, name="redis:app")
        store = RedisStore(private_redis.url, "app", clock=clock, timeout=0.5, breaker=breaker)
        private_redis.kill()
        with pytest.raises(ConfigurationError):
            store.invalidate(Invalidation(tag="t"))
        assert str(breaker.state) == "closed"
        assert store.get("k") is None  # the hit path's fault opens it
        assert str(breaker.state) == "open"
        private_redis.start()
        writer = RedisStore(private_redis.url, "app", clock=clock, timeout=2.0)
        writer.set("k", labelled(clock, tags=("t",)))
        writer.close()
        assert store.invalidate(Invalidation(tag="t")) == 1
        assert str(breaker.state) == "open"
        store.close()


class TestNeverKeysOrFlush:
    """No invalidation or clearing ever sends KEYS, FLUSHDB or FLUSHALL."""

    async def test_the_command_statistics_show_scan_and_unlink_only(
        self, counted: RedisStore, admin: redis.Redis, private_redis: RedisServer, clock: FakeClock
    ) -> None:
        """Every way in, sync and async, then both clears: SCAN, ZSCAN and UNLINK do the work."""
        for index in range(20):
            counted.set(f"k{index}", labelled(clock, tags=("t",), provider=f"p{index % 3}"))
        admin.config_resetstat()
        counted.invalidate(Invalidation(tag="t", provider="p0"))
        await counted.ainvalidate(Invalidation(provider="p1"))
        counted.invalidate(Invalidation(older_than=0))
        await counted.ainvalidate(Invalidation(key="k2"))
        await counted.aclose()
        counted.clear()
        clear_namespace(private_redis.url, "app")
        stats = admin.info("commandstats")
        assert not {"cmdstat_keys", "cmdstat_flushdb", "cmdstat_flushall"} & stats.keys()
        assert {"cmdstat_scan", "cmdstat_zscan", "cmdstat_unlink"} <= stats.keys()


class TestPlainPipelines:
    """Each round trip of an invalidation is a plain pipeline, never a ``MULTI`` block.

    A ``MULTI`` would hold the server for a whole batch of reads, and proxies
    and clusters that refuse transactions would refuse the invalidation.
    """

    async def test_no_invalidation_opens_a_transaction(
        self, counted: RedisStore, admin: redis.Redis, clock: FakeClock
    ) -> None:
        """By tag, by walk and by key, sync and async: no MULTI, no EXEC, the work all done."""
        for index in range(6):
            counted.set(f"k{index}", labelled(clock, tags=("t",), provider=f"p{index % 3}"))
        admin.config_resetstat()  # the tagged writes above are MULTI blocks of their own
        assert counted.invalidate(Invalidation(tag="t", provider="p0")) == 2
        assert await counted.ainvalidate(Invalidation(tag="t", provider="p1")) == 2
        assert counted.invalidate(Invalidation(key="k2")) == 1
        assert await counted.ainvalidate(Invalidation(provider="p2")) == 1
        await counted.aclose()
        assert (calls(admin, "multi"), calls(admin, "exec")) == (0, 0)
        assert admin.exists(*(f"app:k{index}" for index in range(6))) == 0


class TestClearing:
    """Clearing a namespace removes its tag index too, and still nothing of anyone else's."""

    def fill(self, redis_url: str, raw: redis.Redis, clock: FakeClock) -> None:
        for namespace in ("app", "app2"):
            store = RedisStore(redis_url, namespace=namespace, clock=clock, timeout=2.0)
            store.set("k", labelled(clock, tags=("t", "u")))
            store.close()
        raw.set("app@lock:k", b"token")

    def test_store_clear(
        self, store: RedisStore, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """RedisStore.clear(): entries and tag sets go; the lock and the other namespace stay."""
        self.fill(redis_url, raw, clock)
        store.clear()
        assert keys(raw) == [b"app2:k", b"app2@tag:t", b"app2@tag:u", b"app@lock:k"]

    def test_clear_namespace_counts_entries_only(
        self, redis_url: str, raw: redis.Redis, clock: FakeClock
    ) -> None:
        """The count is of entries; the tag sets go uncounted."""
        self.fill(redis_url, raw, clock)
        assert clear_namespace(redis_url, "app") == 1
        assert keys(raw, "app@tag:*") == []

    def test_the_cli_clear_removes_tag_sets(
        self,
        redis_url: str,
        raw: redis.Redis,
        clock: FakeClock,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """``exllm-cache clear --redis URL --namespace app --yes`` leaves no tag set behind."""
        self.fill(redis_url, raw, clock)
        where = ["--dir", str(tmp_path), "--root", str(tmp_path)]
        code = main(["clear", "--redis", redis_url, "--namespace", "app", "--yes", *where])
        assert code == 0, capsys.readouterr().err
        assert "removed 1 entry of namespace 'app'" in capsys.readouterr().out
        assert keys(raw, "app*") == [b"app2:k", b"app2@tag:t", b"app2@tag:u", b"app@lock:k"]


class TestThroughTheStrategy:
    """Calls tagged with ``cache_tags`` in a RedisStore are invalidated through the strategy."""

    def test_a_tagged_answer_is_asked_again_after_its_tag_is_invalidated(
        self, redis_url: str
    ) -> None:
        """The tagged answer is fetched again; the other stays a hit."""
        store = RedisStore(redis_url, namespace="app", timeout=2.0)
        strategy, mock = ProductionStrategy(store), MockProvider("An answer.")
        with Client(cache_strategy=strategy, mock=mock) as client:
            client.chat("mock", [{"role": "user", "content": "docs"}], cache_tags=["docs-v3"])
            client.chat("mock", [{"role": "user", "content": "other"}])
            assert strategy.invalidate(tag="docs-v3") == 1
            client.chat("mock", [{"role": "user", "content": "docs"}])
            client.chat("mock", [{"role": "user", "content": "other"}])
        store.close()
        assert mock.calls == 3

    async def test_the_async_path_does_the_same(self, redis_url: str) -> None:
        """achat stores the tags; ainvalidate by provider and model removes the answer."""
        store = RedisStore(redis_url, namespace="app", timeout=2.0)
        strategy, mock = ProductionStrategy(store), MockProvider("An answer.")
        async with Client(cache_strategy=strategy, mock=mock) as client:
            await client.achat("mock", [{"role": "user", "content": "q"}], cache_tags=["t"])
            assert await strategy.ainvalidate(provider="mock", model="mock-1") == 1
            await client.achat("mock", [{"role": "user", "content": "q"}])
        await store.aclose()
        store.close()
        assert mock.calls == 2


class TestDecodeSummary:
    """decode_summary reads an entry's timestamps and labels, plain or compressed."""

    @pytest.mark.parametrize("threshold", [None, 0], ids=["plain", "compressed"])
    def test_it_reads_what_the_entry_was_stored_with(
        self, clock: FakeClock, threshold: int | None
    ) -> None:
        """stored_at, expires_at and labels as the entry has them."""
        stored = labelled(clock, tags=("t",), provider="anthropic", namespace="n", ttl=60)
        value = encode_value(dump_entry(stored), threshold)
        summary = decode_summary(value, 1024 * 1024)
        assert summary == EntrySummary(stored.stored_at, stored.expires_at, stored.labels)
        assert summary.live(stored.stored_at + 59)
        assert not summary.live(stored.stored_at + 60)

    def test_another_format_version_is_named_in_the_error(self) -> None:
        """The error says which version the value has and which one is read."""
        with pytest.raises(ValueError, match=r"cache entry format 99 is not \d+$"):
            decode_summary(b'{"v": 99}', 1024)

    @pytest.mark.parametrize(
        "value",
        [None, "text", b"", b"nonsense", b"{}", b'{"v": 99}', b'{"v": 1, "stored_at": 1.0}'],
        ids=repr,
    )
    def test_what_is_not_an_entry_is_a_value_error(self, value: object) -> None:
        """Anything else is refused with ValueError, the one error its callers expect."""
        with pytest.raises(
            ValueError, match=r"not bytes|, not b'\{' or b'z'|not a cache entry|format"
        ):
            decode_summary(value, 1024)
