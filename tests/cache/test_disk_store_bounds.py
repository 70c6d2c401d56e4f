"""DiskStore at its bounds exactly: a store that is full, not over, removes nothing on a write."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_schema import DATABASE_NAME
from tests.cache.test_store_contract import clock, entry
from tests.clocks import FakeClock

__all__ = ["clock"]  # the contract's fixture, used here too


def stored_keys(directory: Path) -> list[str]:
    """The keys in the database file, read behind the store's back."""
    connection = sqlite3.connect(directory / DATABASE_NAME)
    try:
        return [key for (key,) in connection.execute("SELECT key FROM entries ORDER BY key")]
    finally:
        connection.close()


class TestFullButNotOver:
    """Only a write that crosses a bound clears room: reaching it exactly removes nothing."""

    def test_the_last_entry_under_the_entry_bound_leaves_expired_rows_alone(
        self, clock: FakeClock, tmp_path: Path, evictions: Any
    ) -> None:
        """Filling max_entries=2 exactly keeps the dead row in the file and counts nothing."""
        store = DiskStore(tmp_path, max_entries=2, clock=clock)
        store.set("stale", entry(clock, ttl=5, key="stale"))
        clock.tick(10)
        store.set("new", entry(clock, ttl=None, key="new"))
        assert stored_keys(tmp_path) == ["new", "stale"]
        assert evictions == []
        stats = store.stats()
        assert (stats.entries, stats.expirations, stats.evictions) == (2, 0, 0)
