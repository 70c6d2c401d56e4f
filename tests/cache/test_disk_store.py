"""DiskStore: the store contract, bounds, LRU, TTL, persistence, faults, tiers and env setup."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from exllm_py import telemetry
from exllm_py.cache.entry import CacheEntry, dump_entry, make_entry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_schema import DATABASE_NAME, default_directory
from exllm_py.cache.stores.env import store_from_env
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.client import strategy_from_env
from exllm_py.errors import ConfigurationError, ValidationError
from exllm_py.types import LLMResponse
from tests.cache.test_memory_store import StoreAgainstModel
from tests.cache.test_store_contract import StoreContract, clock, entry
from tests.clocks import FakeClock

__all__ = ["clock"]  # the contract's fixture, used here too


@pytest.fixture
def errors() -> Iterator[list[dict[str, Any]]]:
    """The metadata of every ("exllm", "cache", "error") event in the test."""
    seen: list[dict[str, Any]] = []
    telemetry.attach(
        "test-disk-errors",
        [telemetry.CACHE_ERROR],
        lambda _event, _measurements, metadata: seen.append(metadata),
    )
    yield seen
    telemetry.detach("test-disk-errors")


def rows(directory: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows straight from the database file, behind the store's back."""
    connection = sqlite3.connect(directory / DATABASE_NAME)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


class TestDiskStoreContract(StoreContract):
    """DiskStore meets the CacheStore contract."""

    shares_hits = True  # a hit of unchanged bytes shares the last decode, frozen

    @pytest.fixture
    def store(self, clock: FakeClock, tmp_path: Path) -> Iterator[CacheStore]:
        # The contract is about what is stored, not how fast: writers queue for the
        # write lock as long as a loaded machine needs, never turning a set into a no-op.
        store = DiskStore(tmp_path, clock=clock, timeout=30.0)
        yield store
        store.close()


class DiskStoreAgainstModel(StoreAgainstModel):
    """DiskStore behaves like a dict with deadlines and an LRU order, under any sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.TemporaryDirectory(prefix="exllm-disk-model-")
        self.store = DiskStore(  # type: ignore[assignment]  # the model drives any store
            self.directory.name, max_entries=4, max_bytes=10_000, clock=self.clock
        )

    def teardown(self) -> None:
        self.store.close()  # type: ignore[attr-defined]
        self.directory.cleanup()

    @rule(key=st.sampled_from("abcdef"))
    def get(self, key: str) -> None:
        # A disk hit is a fresh decode: compared by value, not identity.
        self._expire()
        got = self.store.get(key)
        expected = self.model.get(key)
        if expected is None:
            assert got is None
            return
        assert got is not None
        assert got.response == expected[0].response
        assert got.expires_at == expected[0].expires_at
        self.order.hit(key)


DiskStoreAgainstModel.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None
)
TestDiskStoreAgainstModel = DiskStoreAgainstModel.TestCase


class TestBounds:
    """A write that crosses a bound removes expired entries, then the least recently used."""

    def test_the_entry_bound_is_exact(self, clock: FakeClock, tmp_path: Path) -> None:
        """With max_entries=3, five writes leave the three latest."""
        store = DiskStore(tmp_path, max_entries=3, clock=clock)
        for key in "abcde":
            store.set(key, entry(clock, key, key=key))
        assert store.stats().entries == 3
        assert [store.get(key) is not None for key in "abcde"] == [False, False, True, True, True]

    def test_the_byte_bound_is_exact(self, clock: FakeClock, tmp_path: Path) -> None:
        """Bytes held never pass max_bytes, and equal the sum of the stored values' sizes."""
        one = len(dump_entry(entry(clock, "x" * 100, key="a")))
        store = DiskStore(tmp_path, max_bytes=2 * one + one // 2, clock=clock)
        for key in "abc":
            store.set(key, entry(clock, "x" * 100, key=key))
        stats = store.stats()
        assert (stats.entries, stats.bytes) == (2, 2 * one)
        assert rows(tmp_path, "SELECT sum(size), count(*) FROM entries") == [(2 * one, 2)]

    def test_an_entry_larger_than_the_bound_is_not_kept(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Too large alone: not stored, and the previous answer under its key is dropped."""
        small = entry(clock, "small")
        store = DiskStore(tmp_path, max_bytes=small.size + 10, clock=clock)
        store.set("k", small)
        store.set("k", entry(clock, "x" * 1000))
        assert store.get("k") is None
        assert store.stats().entries == 0

    def test_a_read_makes_an_entry_recent(
        self, clock: FakeClock, tmp_path: Path, evictions: Any
    ) -> None:
        """Read a, then write c over a bound of two: b, the least recently used, goes."""
        store = DiskStore(tmp_path, max_entries=2, clock=clock)
        store.set("a", entry(clock, "a"))
        store.set("b", entry(clock, "b"))
        assert store.get("a") is not None
        store.set("c", entry(clock, "c"))
        assert [store.get(key) is not None for key in "abc"] == [True, False, True]
        assert evictions[-1][1] == {"key": "b", "reason": "lru", "store": "disk", "policy": "lru"}
        assert store.stats().evictions == 1

    def test_bytes_evictions_say_so(self, clock: FakeClock, tmp_path: Path, evictions: Any) -> None:
        """An eviction forced by the byte bound is reported with reason bytes."""
        one = entry(clock, "x" * 100)
        store = DiskStore(tmp_path, max_bytes=one.size + 1, clock=clock)
        store.set("a", one)
        store.set("b", entry(clock, "x" * 100))
        assert evictions[-1] == (
            {"size_bytes": one.size},
            {"key": "a", "reason": "bytes", "store": "disk", "policy": "lru"},
        )

    def test_expired_entries_go_before_live_ones(
        self, clock: FakeClock, tmp_path: Path, evictions: Any
    ) -> None:
        """Over the bound, the dead entry goes (reason ttl) and the older live one stays."""
        store = DiskStore(tmp_path, max_entries=2, clock=clock)
        store.set("live", entry(clock, ttl=None))
        store.set("stale", entry(clock, ttl=5))
        clock.tick(10)
        store.set("new", entry(clock, ttl=None))
        assert store.get("live") is not None
        assert evictions[-1][1] == {"key": "stale", "reason": "ttl", "store": "disk"}
        assert (store.stats().expirations, store.stats().evictions) == (1, 0)


class TestTTL:
    """Expired entries are never served, and leave the file when read or swept."""

    def test_an_expired_read_removes_the_row(self, clock: FakeClock, tmp_path: Path) -> None:
        """A read past the deadline is a miss that deletes the row and counts an expiration."""
        store = DiskStore(tmp_path, clock=clock)
        store.set("k", entry(clock, ttl=10))
        clock.tick(10)
        assert store.get("k") is None
        assert rows(tmp_path, "SELECT count(*) FROM entries") == [(0,)]
        assert store.stats().expirations == 1

    def test_sweep_drops_every_expired_entry(self, clock: FakeClock, tmp_path: Path) -> None:
        """sweep() removes the dead and keeps the living, without a read."""
        store = DiskStore(tmp_path, clock=clock)
        store.set("short", entry(clock, ttl=5))
        store.set("long", entry(clock, ttl=50))
        clock.tick(6)
        assert store.sweep() == 1
        assert rows(tmp_path, "SELECT key FROM entries") == [("long",)]

    def test_sweep_counts_and_reports_expirations(
        self, clock: FakeClock, tmp_path: Path, evictions: Any
    ) -> None:
        """Each entry a sweep drops is an expiration (not an eviction), reported with reason ttl."""
        store = DiskStore(tmp_path, clock=clock)
        short = entry(clock, ttl=5, key="short")
        store.set("short", short)
        store.set("long", entry(clock, ttl=50))
        clock.tick(6)
        store.sweep()
        assert (store.stats().expirations, store.stats().evictions) == (1, 0)
        assert evictions == [
            (
                {"size_bytes": len(dump_entry(short))},
                {"key": "short", "reason": "ttl", "store": "disk"},
            )
        ]

    def test_the_default_ttl_is_the_constructors(self, tmp_path: Path) -> None:
        """default_ttl is what the strategy uses for calls without cache_ttl."""
        assert DiskStore(tmp_path, default_ttl=None).default_ttl is None
        assert DiskStore(tmp_path, default_ttl=60).default_ttl == 60


class TestPersistence:
    """Entries outlive the store object: a new one on the same directory serves them."""

    def test_a_new_store_on_the_directory_serves_old_entries(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Written by one DiskStore, closed, read by another: same response, same deadline."""
        first = DiskStore(tmp_path, clock=clock)
        stored = entry(clock, "kept")
        first.set("k", stored)
        first.close()
        got = DiskStore(tmp_path, clock=clock).get("k")
        assert got is not None
        assert got.response == stored.response
        assert got.expires_at == stored.expires_at

    def test_recency_survives_too(self, clock: FakeClock, tmp_path: Path) -> None:
        """Uses noted by a closed store decide what a later store evicts."""
        first = DiskStore(tmp_path, clock=clock)
        first.set("a", entry(clock, "a"))
        first.set("b", entry(clock, "b"))
        first.get("a")
        first.close()
        second = DiskStore(tmp_path, max_entries=2, clock=clock)
        second.set("c", entry(clock, "c"))
        assert [second.get(key) is not None for key in "abc"] == [True, False, True]

    def test_an_answer_another_store_replaced_is_served_new(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """A hit reuses the last decode only while the stored bytes are the same."""
        reader, writer = DiskStore(tmp_path, clock=clock), DiskStore(tmp_path, clock=clock)
        writer.set("k", entry(clock, "old"))
        first = reader.get("k")
        again = reader.get("k")
        assert first is not None
        assert again is not None
        assert again.response is first.response  # unchanged bytes: the same decode
        writer.set("k", entry(clock, "new"))
        replaced = reader.get("k")
        assert replaced is not None
        assert replaced.response == entry(clock, "new").response

    def test_the_database_is_in_wal_mode(self, tmp_path: Path) -> None:
        """Readers never wait for a writer: the file's journal mode is WAL."""
        DiskStore(tmp_path).stats()
        assert rows(tmp_path, "PRAGMA journal_mode") == [("wal",)]


def entry_of_size(clock: FakeClock, key: str, size: int) -> CacheEntry:
    """An entry whose stored JSON is exactly ``size`` bytes."""

    def made(length: int) -> CacheEntry:
        return make_entry(LLMResponse("x" * length, "m", "mock"), key, clock(), None)

    base = len(dump_entry(made(0)))
    made_one = made(size - base)
    assert len(dump_entry(made_one)) == size
    return made_one


class TestKeptDecodes:
    """Hits of unchanged bytes share one decode, for values up to 64 KiB and the last 256 keys."""

    @pytest.mark.parametrize(("size", "shared"), [(64 * 1024, True), (64 * 1024 + 1, False)])
    def test_values_up_to_64_kib_are_decoded_once(
        self, clock: FakeClock, tmp_path: Path, size: int, shared: bool
    ) -> None:
        """A value of 64 KiB is served from its kept decode; one byte more is decoded per hit."""
        store = DiskStore(tmp_path, clock=clock)
        store.set("k", entry_of_size(clock, "k", size))
        first, again = store.get("k"), store.get("k")
        assert first is not None
        assert again is not None
        assert again.response == first.response
        assert (again.response is first.response) is shared

    def test_the_last_256_keys_keep_their_decodes(self, clock: FakeClock, tmp_path: Path) -> None:
        """After hits on 257 keys, the second is served from its kept decode, the first is not."""
        store = DiskStore(tmp_path, clock=clock)
        keys = [f"k{n}" for n in range(257)]
        for key in keys:
            store.set(key, entry(clock, key, key=key))
        first = [store.get(key) for key in keys]
        # The second before the first: decoding the first again would push the second out.
        second_again, first_again = store.get(keys[1]), store.get(keys[0])
        assert first[0] is not None
        assert first[1] is not None
        assert second_again is not None
        assert first_again is not None
        assert second_again.response is first[1].response
        assert first_again.response is not first[0].response
        assert first_again.response == first[0].response


class TestFaults:
    """A broken database is a miss and a reported error, never an exception."""

    def test_a_corrupt_file_is_a_miss_reported_as_corrupt(
        self, clock: FakeClock, tmp_path: Path, errors: list[dict[str, Any]]
    ) -> None:
        """A file that is not a database: reads miss, writes do nothing, errors say corrupt."""
        (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database at all" * 100)
        store = DiskStore(tmp_path, clock=clock, breaker=CircuitBreaker(name="disk-test"))
        assert store.get("k") is None
        store.set("k", entry(clock))
        assert store.delete("k") is False
        assert store.stats().misses == 1
        assert errors[0]["reason"] == "corrupt"
        assert errors[0]["store"] == "disk-test"
        assert any(event["reason"] == "breaker_open" for event in errors)

    def test_a_corrupt_value_is_reported_deleted_and_missed(
        self, clock: FakeClock, tmp_path: Path, errors: list[dict[str, Any]]
    ) -> None:
        """A row whose value does not decode: a miss, reported corrupt_value, then gone."""
        store = DiskStore(tmp_path, clock=clock)
        store.set("k", entry(clock))
        connection = sqlite3.connect(tmp_path / DATABASE_NAME)
        connection.execute("UPDATE entries SET value = x'00ff' WHERE key = 'k'")
        connection.commit()
        connection.close()
        assert store.get("k") is None
        assert errors[-1]["reason"] == "corrupt_value"
        assert errors[-1]["key"] == "k"
        assert rows(tmp_path, "SELECT count(*) FROM entries") == [(0,)]

    def test_a_locked_database_is_a_miss_for_writes_not_a_hang(
        self, clock: FakeClock, tmp_path: Path, errors: list[dict[str, Any]]
    ) -> None:
        """Another holder of the write lock: set gives up after timeout, reads still serve."""
        store = DiskStore(tmp_path, clock=clock, timeout=0.05)
        store.set("old", entry(clock, "old"))
        holder = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            store.set("new", entry(clock, "new"))
            got = store.get("old")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert got is not None
        assert store.get("new") is None
        assert errors[0]["reason"] == "locked"

    def test_a_sweep_of_a_locked_database_removes_nothing_and_says_so(
        self, clock: FakeClock, tmp_path: Path, errors: list[dict[str, Any]]
    ) -> None:
        """Another holder of the write lock: sweep returns 0 and the expired row stays for later."""
        store = DiskStore(tmp_path, clock=clock, timeout=0.05)
        store.set("stale", entry(clock, ttl=5))
        clock.tick(6)
        holder = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            swept = store.sweep()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert swept == 0
        assert errors[0]["reason"] == "locked"
        assert rows(tmp_path, "SELECT key FROM entries") == [("stale",)]
        assert store.stats().expirations == 0

    def test_the_repr_names_the_file_and_the_breaker_state(self, tmp_path: Path) -> None:
        """repr shows which database a store uses and whether its breaker has opened."""
        (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database at all" * 100)
        store = DiskStore(tmp_path, breaker=CircuitBreaker(name="disk-repr", failure_threshold=1))
        assert repr(store) == f"<DiskStore {str(tmp_path / DATABASE_NAME)!r} closed>"
        store.get("k")
        assert repr(store) == f"<DiskStore {str(tmp_path / DATABASE_NAME)!r} open>"


class TestTiered:
    """DiskStore as L2 behind a MemoryStore."""

    def test_an_l2_hit_is_promoted_and_then_served_from_l1(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """A fresh process's L1 is empty: the disk answers, then memory does."""
        DiskStore(tmp_path, clock=clock).set("k", entry(clock, "from disk"))
        tiered = TieredStore(
            MemoryStore(clock=clock, cleanup_interval=None), DiskStore(tmp_path, clock=clock)
        )
        first, second = tiered.get("k"), tiered.get("k")
        assert first is not None
        assert second is not None
        assert (first.response.metadata["tier"], second.response.metadata["tier"]) == ("l2", "l1")
        assert second.response.content == "from disk"
        assert tiered.tier_hits() == {"l1": 1, "l2": 1}

    def test_chat_hits_through_the_tiers(self, tmp_path: Path) -> None:
        """A second identical chat() is a hit, whose entry is on disk for the next process."""
        import exllm_py

        store = TieredStore(MemoryStore(cleanup_interval=None), DiskStore(tmp_path))
        client = exllm_py.Client(cache_strategy=ProductionStrategy(store))
        messages = [{"role": "user", "content": "Hi"}]
        assert client.chat("mock", messages).metadata["from_cache"] is False
        assert client.chat("mock", messages).metadata["from_cache"] is True
        assert rows(tmp_path, "SELECT count(*) FROM entries") == [(1,)]


class TestConfiguration:
    """Constructor arguments are checked; the environment can pick the disk store."""

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"max_bytes": 0}, "DiskStore max_bytes must be at least 1, got 0"),
            ({"max_entries": "10"}, "DiskStore max_entries must be an integer, got '10'"),
            (
                {"default_ttl": -1},
                "DiskStore default_ttl must be a positive number of seconds, at most "
                "315,360,000 (ten years), got -1 (or None: never expires)",
            ),
            (
                {"timeout": 0},
                "DiskStore timeout must be a positive number of seconds, at most 60 (a minute), "
                "got 0",
            ),
            (
                {"timeout": 61},
                "DiskStore timeout must be a positive number of seconds, at most 60 (a minute), "
                "got 61",
            ),
            ({"clock": 5}, "DiskStore clock must be a function returning epoch seconds, got 5"),
            (
                {"breaker": object()},
                "DiskStore breaker must be a CircuitBreaker or None, got object",
            ),
            ({"path": 5}, "DiskStore path must be a directory path or None, got int"),
        ],
    )
    def test_a_bad_argument_is_named(
        self, tmp_path: Path, arguments: dict[str, Any], message: str
    ) -> None:
        """Each bad argument fails at construction, naming it, what it must be and what it got."""
        with pytest.raises(ValidationError) as raised:
            DiskStore(**{"path": tmp_path, **arguments})
        assert str(raised.value) == message

    def test_the_defaults(self, tmp_path: Path) -> None:
        """1 GiB, a million entries, 15 minutes, a one-second wait; a breaker named for the
        directory, opened by 3 consecutive failures for 5 seconds."""
        store = DiskStore(tmp_path)
        assert (store.max_bytes, store.max_entries, store.default_ttl, store.timeout) == (
            1024**3,
            1_000_000,
            900.0,
            1.0,
        )
        breaker = store.breaker
        assert (breaker.name, breaker.failure_threshold, breaker.cooldown) == (
            f"disk:{tmp_path}",
            3,
            5.0,
        )

    def test_no_path_means_the_user_cache_directory(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """DiskStore() keeps its database under default_directory(), created if missing."""
        monkeypatch.setattr(sys, "platform", "linux")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        store = DiskStore()
        assert store.database == tmp_path / "xdg" / "exllm_py" / DATABASE_NAME
        assert (tmp_path / "xdg" / "exllm_py").is_dir()

    def test_a_path_that_is_a_file_is_a_configuration_error(self, tmp_path: Path) -> None:
        """The message names the path to fix, why it failed and what to pass instead."""
        (tmp_path / "file").write_text("")
        with pytest.raises(ConfigurationError) as raised:
            DiskStore(tmp_path / "file")
        message = str(raised.value)
        assert message.startswith(
            f"DiskStore path {str(tmp_path / 'file')!r} cannot be used as a directory ("
        )
        assert message.endswith("); pass path= a directory this process can write")
        assert isinstance(raised.value.__cause__, OSError)

    def test_the_directory_is_created(self, tmp_path: Path) -> None:
        """A missing directory, nested, is made on construction."""
        DiskStore(tmp_path / "a" / "b").stats()
        assert (tmp_path / "a" / "b" / DATABASE_NAME).exists()

    @pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG layout")
    def test_the_default_directory_follows_xdg(self, tmp_path: Path) -> None:
        """XDG_CACHE_HOME when absolute, else ~/.cache; always under exllm_py."""
        assert default_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "exllm_py"
        relative = default_directory({"XDG_CACHE_HOME": "relative/dir"})
        assert relative == Path.home() / ".cache" / "exllm_py"
        assert default_directory({}) == Path.home() / ".cache" / "exllm_py"

    def test_the_env_picks_a_disk_store_with_its_directory_and_bound(self, tmp_path: Path) -> None:
        """EXLLM_CACHE_BACKEND=disk, EXLLM_CACHE_DIR and EXLLM_CACHE_MAX_BYTES set it up."""
        strategy = strategy_from_env(
            {
                "EXLLM_CACHE_BACKEND": "disk",
                "EXLLM_CACHE_DIR": str(tmp_path),
                "EXLLM_CACHE_MAX_BYTES": "2M",
            }
        )
        assert isinstance(strategy, ProductionStrategy)
        store = strategy.store
        assert isinstance(store, DiskStore)
        assert (store.directory, store.max_bytes) == (tmp_path, 2 * 1024 * 1024)

    def test_the_env_default_is_memory(self) -> None:
        """No backend named: a MemoryStore, bounded by EXLLM_CACHE_MAX_BYTES when set."""
        store = store_from_env({"EXLLM_CACHE_MAX_BYTES": "4096"})
        assert isinstance(store, MemoryStore)
        assert store.max_bytes == 4096

    @pytest.mark.parametrize(
        ("env", "named"),
        [
            ({"EXLLM_CACHE_BACKEND": "floppy"}, "EXLLM_CACHE_BACKEND='floppy'"),
            ({"EXLLM_CACHE_MAX_BYTES": "lots"}, "EXLLM_CACHE_MAX_BYTES='lots'"),
            ({"EXLLM_CACHE_MAX_BYTES": "0"}, "EXLLM_CACHE_MAX_BYTES='0'"),
        ],
    )
    def test_a_bad_env_value_names_the_variable(self, env: dict[str, str], named: str) -> None:
        """The ConfigurationError says which variable to fix."""
        with pytest.raises(ConfigurationError, match=named):
            strategy_from_env(env)

    def test_an_unusable_env_directory_names_the_variable(self, tmp_path: Path) -> None:
        """EXLLM_CACHE_DIR pointing at a file fails naming EXLLM_CACHE_DIR."""
        (tmp_path / "file").write_text("")
        env = {"EXLLM_CACHE_BACKEND": "disk", "EXLLM_CACHE_DIR": str(tmp_path / "file")}
        with pytest.raises(ConfigurationError, match="EXLLM_CACHE_DIR"):
            store_from_env(env)

    def test_importing_the_package_does_not_load_sqlite(self) -> None:
        """sqlite3 is loaded only when a DiskStore is made."""
        code = (
            "import sys, exllm_py, exllm_py.cache, exllm_py.cache.stores\n"
            "exllm_py.client.strategy_from_env({})\n"
            "print('sqlite3' in sys.modules)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == "False"
