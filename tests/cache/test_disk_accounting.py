"""DiskStore: bounds at their edge, what stats() counts, how faults are reported, recorded uses."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from exllm_py.cache.entry import dump_entry, load_entry
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_schema import DATABASE_NAME
from tests.cache.test_disk_store import errors, rows
from tests.cache.test_store_contract import clock, entry
from tests.clocks import FakeClock

__all__ = ["clock", "errors"]  # fixtures shared with the store contract and the disk tests

#: How many distinct keys a store notes before it records their uses without a write.
NOTED_KEYS_RECORDED = 1024


def write_behind(directory: Path, sql: str) -> None:
    """Change the database straight through SQLite, behind the store's back."""
    connection = sqlite3.connect(directory / DATABASE_NAME)
    try:
        connection.execute(sql)
        connection.commit()
    finally:
        connection.close()


class TestBoundEdges:
    """A store exactly at a bound is within it; one far over it comes back in a single write."""

    def test_exactly_max_bytes_removes_nothing(self, clock: FakeClock, tmp_path: Path) -> None:
        """A write that brings the bytes to exactly max_bytes evicts nothing, not even the dead."""
        stale, live = entry(clock, "s", ttl=5, key="stale"), entry(clock, "l", ttl=None, key="live")
        bound = len(dump_entry(stale)) + len(dump_entry(live))
        store = DiskStore(tmp_path, max_bytes=bound, clock=clock)
        store.set("stale", stale)
        clock.tick(10)
        store.set("live", live)
        assert store.stats().bytes == bound
        assert sorted(rows(tmp_path, "SELECT key FROM entries")) == [("live",), ("stale",)]
        assert (store.stats().evictions, store.stats().expirations) == (0, 0)

    def test_a_smaller_max_entries_is_reached_in_one_write(
        self, clock: FakeClock, tmp_path: Path, evictions: Any
    ) -> None:
        """Reopened with max_entries=2 over five entries, the next write leaves the two latest."""
        wide = DiskStore(tmp_path, max_entries=5, clock=clock)
        for key in "abcde":
            wide.set(key, entry(clock, key, key=key))
        wide.close()
        narrow = DiskStore(tmp_path, max_entries=2, clock=clock)
        narrow.set("f", entry(clock, "f", key="f"))
        assert sorted(rows(tmp_path, "SELECT key FROM entries")) == [("e",), ("f",)]
        assert [metadata["key"] for _, metadata in evictions] == list("abcd")
        assert narrow.stats().evictions == 4


class TestCounters:
    """stats() counts every miss, whatever made it one, and reports no entries it cannot read."""

    def test_an_expired_read_is_a_miss_and_an_expiration(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Reading an entry past its deadline counts one miss and one expiration, no hit."""
        store = DiskStore(tmp_path, clock=clock)
        store.set("k", entry(clock, ttl=10))
        clock.tick(10)
        assert store.get("k") is None
        stats = store.stats()
        assert (stats.hits, stats.misses, stats.expirations) == (0, 1, 1)

    def test_an_unreadable_database_holds_no_entries(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Over a file that is not a database, stats() says 0 entries and 0 bytes."""
        (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database at all" * 100)
        store = DiskStore(tmp_path, clock=clock, breaker=CircuitBreaker(name="disk-totals"))
        stats = store.stats()
        assert (stats.entries, stats.bytes) == (0, 0)


class TestCorruptValueReport:
    """A value that does not decode is reported with the decoder's own error."""

    def test_the_breaker_keeps_the_decode_error(
        self, clock: FakeClock, tmp_path: Path, errors: list[dict[str, Any]]
    ) -> None:
        """last_error (what health() shows) and the error event both carry the decode error."""
        with pytest.raises(ValueError, match="not a cache entry") as decoding:
            load_entry(b"\x00\xff")
        store = DiskStore(tmp_path, clock=clock, breaker=CircuitBreaker(name="disk-values"))
        store.set("k", entry(clock))
        write_behind(tmp_path, "UPDATE entries SET value = x'00ff' WHERE key = 'k'")
        assert store.get("k") is None
        last = store.breaker.last_error
        assert last is not None
        assert (last.reason, last.type) == ("corrupt_value", type(decoding.value).__name__)
        assert last.message == str(decoding.value)
        assert errors[-1]["error"] == f"{last.type}: {last.message}"
        assert store.breaker.state == "closed"  # a database that answered has not failed


class TestRecordedUses:
    """Uses noted by hits reach the database in hit order, each newer than the last recorded."""

    def test_a_rewrite_after_a_read_is_newer_than_the_read(
        self, clock: FakeClock, tmp_path: Path, evictions: Any
    ) -> None:
        """Read a, rewrite b, write c over a bound of two: a, used before b's write, goes."""
        store = DiskStore(tmp_path, max_entries=2, clock=clock)
        store.set("b", entry(clock, "b", key="b"))
        store.set("a", entry(clock, "a", key="a"))
        assert store.get("a") is not None
        store.set("b", entry(clock, "b again", key="b"))
        store.set("c", entry(clock, "c", key="c"))
        assert sorted(rows(tmp_path, "SELECT key FROM entries")) == [("b",), ("c",)]
        assert [metadata["key"] for _, metadata in evictions] == ["a"]

    def test_recorded_uses_follow_the_hits_in_order(self, clock: FakeClock, tmp_path: Path) -> None:
        """Hits on c, a, b are recorded as three consecutive uses after the last write's."""
        store = DiskStore(tmp_path, clock=clock)
        for key in "abc":
            store.set(key, entry(clock, key, key=key))
        (written,) = rows(tmp_path, "SELECT max(last_used) FROM entries")[0]
        for key in "cab":
            assert store.get(key) is not None
        store.flush()
        used = dict(rows(tmp_path, "SELECT key, last_used FROM entries"))
        assert [used[key] for key in "cab"] == [written + 1, written + 2, written + 3]

    def test_many_noted_keys_are_recorded_without_a_write(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """After hits on 1,024 distinct keys, the database counts hits with no write or flush."""
        store = DiskStore(tmp_path, clock=clock)
        keys = [f"k{n}" for n in range(NOTED_KEYS_RECORDED)]
        for key in keys:
            store.set(key, entry(clock, key, key=key))
        for key in keys:
            assert store.get(key) is not None
        # The 1,024th noted key records at the latest; a slow machine may record sooner
        # (a second after the last write), so some hits, not all, are known to be in.
        ((recorded,),) = rows(tmp_path, "SELECT hits FROM usage")
        assert 0 < recorded <= NOTED_KEYS_RECORDED
        store.close()
        assert rows(tmp_path, "SELECT hits FROM usage") == [(NOTED_KEYS_RECORDED,)]
