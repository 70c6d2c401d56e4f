"""``DiskStore``: the production cache in a SQLite file, kept across restarts.

For the notebook or batch job that is run again all day, and for a
single-machine service with more cache than memory. The database (see
:mod:`~exllm_py.cache.stores.disk_schema`) holds each entry as the compact
JSON of :func:`~exllm_py.cache.entry.dump_entry`, the same form a
``RedisStore`` stores, uncompressed: a hit reads it and decodes it.

Processes and threads. Every thread of every process has its own
connection (a connection must not cross a fork: a child opens its own).
Readers never wait for a writer (WAL mode); writers queue for the write
lock, each for at most ``timeout`` seconds. Each ``set`` is one
transaction: the write, the expiry of the dead and the eviction of the
least recently used, so that the bounds hold for every reader in every
process. A process killed in the middle of it leaves nothing of it behind.

Recency. A hit does not write: it notes the key in memory, and the next
write of this store object (or a hit a second later, or the 1,024th key
noted) records the use of every noted key, in order, inside its own
transaction. LRU order is therefore exact for a process's own reads and
writes, and lags by up to a second for what other processes read.

Use. Hits, misses and the money hits saved are counted in the database,
every process's, for ``exllm-cache stats`` (:meth:`DiskStore.usage`): each
process adds its counts when it records uses (see Recency).

Invalidation. Each row carries its entry's labels and ``stored_at`` in
indexed columns, and its tags in a side table
(:mod:`~exllm_py.cache.stores.disk_labels` turns a selector into one
``DELETE`` over them), so ``invalidate`` finds what it removes through
indexes, in one transaction, whichever process stored it.

Faults. Every piece of SQLite work runs through a
:class:`~exllm_py.cache.stores.disk_faults.SqliteGuard`: a locked, full,
unreadable or corrupt database makes a read a miss and a write a no-op,
reported as ``("exllm", "cache", "error")``, and a circuit breaker stops
trying a failing file for a while. A value that does not decode is reported
(``reason="corrupt_value"``), deleted and missed. ``invalidate`` alone
raises instead (:class:`~exllm_py.cache.stores.disk_faults.DiskStoreUnavailable`):
an invalidation that did not happen must not pass for one that did.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final

import attrs

from exllm_py import telemetry
from exllm_py.cache.arguments import (
    MAX_STORE_TIMEOUT,
    check_callable,
    check_count,
    check_instance,
    check_seconds,
    check_ttl,
)
from exllm_py.cache.entry import CacheEntry, dump_entry, frozen_response, load_entry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.disk_faults import FAULT, SqliteGuard
from exllm_py.cache.stores.disk_labels import (
    RELABEL,
    count_statement,
    invalidation_statement,
    label_columns,
)
from exllm_py.cache.stores.disk_schema import (
    DATABASE_NAME,
    default_directory,
    missing_support,
    open_database,
)
from exllm_py.cache.stores.usage import StoreUsage, UsageBatch, saved_cost_of
from exllm_py.errors import ConfigurationError
from exllm_py.forksafe import renew_after_fork

__all__ = ["DiskStore"]

_MiB = 1024 * 1024
#: Noted uses are recorded once this many keys wait, or this many seconds have passed.
_TOUCH_BATCH: Final = 1024
# Evictions the LRU order chose (not an expiry, not an explicit delete).
_CHOSEN_BY_POLICY: Final = frozenset({"lru", "bytes"})
# Decodes kept for hits whose bytes did not change: how many, and the largest
# value worth keeping twice (bytes and decoded) in memory.
_DECODED_KEPT: Final = 256
_DECODED_MAX_VALUE: Final = 64 * 1024
_TOUCH_DELAY: Final = 1.0

_SELECT: Final = "SELECT value, expires_at FROM entries WHERE key = ?"
# A replaced entry's labels are left to RELABEL, which writes them only if they changed.
_UPSERT: Final = """
    INSERT INTO entries (key, value, size, expires_at, last_used, stored_at,
        provider, model, namespace, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size,
        expires_at = excluded.expires_at, last_used = excluded.last_used,
        stored_at = excluded.stored_at
"""
_REMOVE: Final = "DELETE FROM entries WHERE key = ? RETURNING size, expires_at"
_REMOVE_IF_DEAD: Final = "DELETE FROM entries WHERE key = ? AND expires_at <= ? RETURNING size"
_EXPIRE: Final = "DELETE FROM entries WHERE expires_at <= ? RETURNING key, size"
_LAST_USE: Final = "SELECT coalesce(max(last_used), 0) FROM entries"
_TOUCH: Final = "UPDATE entries SET last_used = ? WHERE key = ?"
_ADD_USAGE: Final = """UPDATE usage SET hits = hits + ?, misses = misses + ?,
    saved_cost_usd = saved_cost_usd + ? WHERE id = 0"""
_USAGE: Final = "SELECT hits, misses, saved_cost_usd FROM usage WHERE id = 0"

# A connection inherited across a fork belongs to the parent: closing it in the child
# could checkpoint or unlock the parent's database. It is kept here, never used again.
_INHERITED: list[sqlite3.Connection] = []
_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forked)

#: (key, size, reason) of an entry a write removed, for the evict telemetry.
_Removed = tuple[str, int, str]


class _Local(threading.local):
    connection: sqlite3.Connection | None = None
    generation = -1


class DiskStore:
    """Entries in a SQLite database under ``path``, shared by every process that opens it.

    ``path`` is a directory, created if missing (``None``: the user's cache
    directory, :func:`~exllm_py.cache.stores.disk_schema.default_directory`,
    ``~/.cache/exllm_py`` on Linux). At most ``max_entries`` entries and
    ``max_bytes`` bytes (of stored JSON) are kept; a ``set`` that crosses
    either drops expired entries first, then the least recently used. An
    entry larger than ``max_bytes`` is not kept (nor is the one it replaces).
    ``timeout`` bounds how long a write waits for another process's; ``breaker``
    decides when to stop trying a failing file (by default 3 consecutive
    failures open it for 5 seconds). ``clock`` (epoch seconds) decides expiry.

    Every argument is checked here (``ValidationError`` naming it):
    ``max_entries`` and ``max_bytes`` integers of at least 1, ``default_ttl``
    ``None`` or seconds in (0, ten years], ``timeout`` seconds in (0, 60],
    ``clock`` a callable. A directory that cannot be created is a
    ``ConfigurationError`` naming it.

    Counters in :meth:`stats` are this object's; ``entries`` and ``bytes``
    are the database's, whoever wrote them. Async methods run the same
    work in a worker thread.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        max_bytes: int = 1024 * _MiB,
        max_entries: int = 1_000_000,
        default_ttl: float | None = 900.0,
        *,
        timeout: float = 1.0,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = _directory(path)
        self.max_bytes = check_count("DiskStore max_bytes", max_bytes)
        self.max_entries = check_count("DiskStore max_entries", max_entries)
        self.default_ttl = check_ttl("DiskStore default_ttl", default_ttl)
        self.timeout = check_seconds("DiskStore timeout", timeout, maximum=MAX_STORE_TIMEOUT)
        if breaker is not None:
            check_instance("DiskStore breaker", breaker, CircuitBreaker, "a CircuitBreaker or None")
        check_callable("DiskStore clock", clock, "a function returning epoch seconds")
        self.clock = clock
        _create(self.directory)
        self.database = self.directory / DATABASE_NAME
        self.breaker = breaker or CircuitBreaker(name=f"disk:{self.directory}")
        self.guard = SqliteGuard(self.breaker, str(self.database))
        self._local = _Local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        # Keys hit since the last write, least recent first (a dict keeps insertion order).
        self._touched: dict[str, None] = {}
        self._touched_at = time.monotonic()
        # The last decodes, by key: a hit whose stored bytes are unchanged is
        # served without decoding again (the decode is most of a hit's cost).
        # Shared by every hit, so frozen, as MemoryStore's answers are.
        self._decoded: dict[str, tuple[bytes, CacheEntry]] = {}
        self._hits = self._misses = self._puts = self._evictions = self._expirations = 0
        self._usage = UsageBatch()

    def __repr__(self) -> str:
        return f"<DiskStore {str(self.database)!r} {self.breaker.state}>"

    # -- the CacheStore protocol --------------------------------------------------------

    def get(self, key: str) -> CacheEntry | None:
        row = self.guard.run(self._select, key)
        if row is None or row is FAULT:
            self._count("_misses")
            self._usage.miss(key)
            return None
        value, expires_at = row
        if expires_at is not None and expires_at <= self.clock():
            self._count("_misses", "_expirations")
            self._usage.miss(key)
            self._removed(self.guard.run(self._drop_if_dead, key, expires_at), counted=True)
            return None
        decoded = self._decoded.get(key)
        if decoded is not None and decoded[0] == value:
            entry = decoded[1]  # the same bytes as last time: the same answer
        else:
            try:
                entry = self._remember(key, value, load_entry(value))
            except ValueError as exc:
                self._count("_misses")
                self._usage.miss(key)
                self.breaker.report("corrupt_value", exc, key=key)
                self.guard.run(self._remove, key)
                return None
        self._count("_hits")
        self._usage.hit(saved_cost_of(entry.response.metadata))
        self._touch(key)
        return entry

    def set(self, key: str, entry: CacheEntry) -> None:
        value = dump_entry(entry)
        expires_at = entry.expires_at
        if len(value) > self.max_bytes or (expires_at is not None and expires_at <= self.clock()):
            # Not kept, and neither is the previous answer: after a refresh, the stale
            # one must not go on being served.
            self.delete(key)
            return
        removed = self.guard.run(self._write, key, value, entry)
        if removed is not FAULT:
            self._count("_puts")
            self._removed(removed)

    def delete(self, key: str) -> bool:
        row = self.guard.run(self._remove, key)
        if row is None or row is FAULT:
            return False
        size, expires_at = row
        if expires_at is not None and expires_at <= self.clock():
            self._removed([(key, size, "ttl")])
            return False  # it was already gone for readers
        self._removed([(key, size, "explicit")])
        return True

    def clear(self) -> None:
        """Remove every entry of the database (every process's)."""
        with self._lock:
            self._touched.clear()
            self._decoded.clear()
        self.guard.run(self._execute, "DELETE FROM entries")

    def invalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int:
        """Remove the live entries ``selector`` matches, every process's; returns how many went.

        One transaction, through indexes only (``key`` by the primary key).
        Each entry removed is an ``explicit`` eviction. Expired entries it
        matches are removed too, counted and reported as expirations (as
        ``delete`` does), not in the returned count. Entries stored before
        labels existed (schema version 1) match only ``key`` and ``older_than``.
        ``dry_run``: remove nothing, return how many live entries would go.

        Raises :class:`~exllm_py.cache.stores.disk_faults.DiskStoreUnavailable`
        (a ``sqlite3.Error`` naming the database file, the reason and what
        to do) when the database cannot be used: locked for longer than
        ``timeout``, full, corrupt, unreadable, or its breaker open. Nothing
        was removed then.
        """
        now = self.clock()
        if dry_run:
            statement, parameters = count_statement(selector, now)
            count: int = self.guard.call(self._execute, statement, *parameters)[0][0]
            return count
        statement, parameters = invalidation_statement(selector, now)
        removed = self.guard.call(self._invalidate, statement, parameters, now)
        self._forget([key for key, _, _ in removed])
        self._removed(removed)
        return sum(why == "explicit" for _, _, why in removed)

    async def aget(self, key: str) -> CacheEntry | None:
        return await asyncio.to_thread(self.get, key)

    async def aset(self, key: str, entry: CacheEntry) -> None:
        await asyncio.to_thread(self.set, key, entry)

    async def adelete(self, key: str) -> bool:
        return await asyncio.to_thread(self.delete, key)

    async def ainvalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int:
        return await asyncio.to_thread(self.invalidate, selector, dry_run=dry_run)

    def stats(self) -> CacheStats:
        """This object's counters, and the entries and bytes the database holds now."""
        totals = self.guard.run(self._totals)
        entries, stored = (0, 0) if totals is FAULT else totals
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                puts=self._puts,
                evictions=self._evictions,
                expirations=self._expirations,
                entries=entries,
                bytes=stored,
            )

    # -- housekeeping -------------------------------------------------------------------

    def sweep(self) -> int:
        """Drop every expired entry now; returns how many."""
        removed = self.guard.run(self._expire_all, self.clock())
        if removed is FAULT:
            return 0
        self._removed(removed)
        return len(removed)

    def flush(self) -> None:
        """Record the uses of the keys hit since the last write (writes do this by themselves)."""
        self.guard.run(self._record_uses_alone)

    def ping(self) -> None:
        """A trivial read of the database, outside the breaker; ``sqlite3.Error`` if it fails.

        For ``strategy.health()``: whether the file answers now, whatever the
        breaker says, without counting for it.
        """
        self._execute("SELECT entries FROM totals")

    def usage(self) -> StoreUsage:
        """Hits, misses and saved cost counted in the database by every process, this one's too.

        This process's counts not yet added are added first. Raises
        :class:`~exllm_py.cache.stores.disk_faults.DiskStoreUnavailable` when
        the database cannot be used.
        """
        hits, misses, saved = self.guard.call(self._recorded_usage)
        return StoreUsage(hits, misses, saved)

    def close(self) -> None:
        """Record pending uses, then close every connection this object opened."""
        self.flush()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with suppress(sqlite3.Error):
                connection.close()
        self._local = _Local()

    # -- SQLite work (each runs inside the guard) ---------------------------------------

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        connection = local.connection
        if connection is None or local.generation != _generation:
            if connection is not None:
                _INHERITED.append(connection)
            connection = open_database(self.database, self.timeout)
            local.connection, local.generation = connection, _generation
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        # IMMEDIATE: take the write lock now, rather than fail to upgrade a read later.
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise

    def _select(self, key: str) -> tuple[bytes, float | None] | None:
        row: tuple[bytes, float | None] | None = (
            self._connection().execute(_SELECT, (key,)).fetchone()
        )
        return row

    def _execute(self, statement: str, *parameters: Any) -> list[Any]:
        return self._connection().execute(statement, parameters).fetchall()

    def _remove(self, key: str) -> tuple[int, float | None] | None:
        rows = self._execute(_REMOVE, key)
        return rows[0] if rows else None

    def _drop_if_dead(self, key: str, expires_at: float) -> list[_Removed]:
        # Only if still the entry that was read dead: another process may have
        # written a fresh one since.
        return [(key, size, "ttl") for (size,) in self._execute(_REMOVE_IF_DEAD, key, expires_at)]

    def _expire_all(self, now: float) -> list[_Removed]:
        return [(key, size, "ttl") for key, size in self._execute(_EXPIRE, now)]

    def _totals(self) -> tuple[int, int]:
        entries, stored = self._execute("SELECT entries, bytes FROM totals")[0]
        return entries, stored

    def _write(self, key: str, value: bytes, entry: CacheEntry) -> list[_Removed]:
        labels = label_columns(entry.labels)
        with self._transaction() as connection:
            last_use = self._record_uses(connection)
            row = (key, value, len(value), entry.expires_at, last_use + 1, entry.stored_at)
            connection.execute(_UPSERT, (*row, *labels))
            connection.execute(RELABEL, (*labels, key))
            return self._evict(connection)

    def _invalidate(
        self, statement: str, parameters: tuple[object, ...], now: float
    ) -> list[_Removed]:
        with self._transaction() as connection:
            rows = connection.execute(statement, parameters).fetchall()
        return [
            (key, size, "explicit" if expires_at is None or expires_at > now else "ttl")
            for key, size, expires_at in rows
        ]

    def _evict(self, connection: sqlite3.Connection) -> list[_Removed]:
        """Bring the database back within its bounds (inside the write's transaction)."""
        entries, stored = connection.execute("SELECT entries, bytes FROM totals").fetchone()
        if entries <= self.max_entries and stored <= self.max_bytes:
            return []
        removed = [(k, s, "ttl") for k, s in connection.execute(_EXPIRE, (self.clock(),))]
        entries -= len(removed)
        stored -= sum(size for _, size, _ in removed)
        victims: list[_Removed] = []
        cursor = connection.execute("SELECT key, size FROM entries ORDER BY last_used")
        # The entry just written is the most recent: it is reached only if it alone
        # is within bounds, which the caller has checked.
        while entries > self.max_entries or stored > self.max_bytes:
            key, size = cursor.fetchone()
            victims.append((key, size, "lru" if entries > self.max_entries else "bytes"))
            entries -= 1
            stored -= size
        cursor.close()
        connection.executemany("DELETE FROM entries WHERE key = ?", [(k,) for k, _, _ in victims])
        return removed + victims

    def _record_uses(self, connection: sqlite3.Connection) -> int:
        """Record the noted uses, in order, after every recorded one; returns the last use.

        The counts of this process's hits and misses go with them.
        """
        with self._lock:
            keys, self._touched = list(self._touched), {}
            self._touched_at = time.monotonic()
        (last_use,) = connection.execute(_LAST_USE).fetchone()
        if keys:
            connection.executemany(_TOUCH, [(last_use + n, k) for n, k in enumerate(keys, 1)])
        batch = self._usage.take()
        if batch:
            connection.execute(_ADD_USAGE, (batch.hits, batch.misses, batch.saved_cost_usd))
        return int(last_use) + len(keys)

    def _record_uses_alone(self) -> None:
        if self._touched or self._usage:
            with self._transaction() as connection:
                self._record_uses(connection)

    def _recorded_usage(self) -> tuple[int, int, float]:
        with self._transaction() as connection:
            self._record_uses(connection)
            hits, misses, saved = connection.execute(_USAGE).fetchone()
        return hits, misses, saved

    # -- bookkeeping --------------------------------------------------------------------

    def _remember(self, key: str, value: bytes, entry: CacheEntry) -> CacheEntry:
        entry = attrs.evolve(entry, response=frozen_response(entry.response))
        if len(value) > _DECODED_MAX_VALUE:
            return entry
        decoded = self._decoded
        with self._lock:
            decoded.pop(key, None)
            decoded[key] = (value, entry)
            if len(decoded) > _DECODED_KEPT:
                del decoded[next(iter(decoded))]
        return entry

    def _forget(self, keys: list[str]) -> None:
        """Drop what this object noted about entries that are gone (their decodes, their uses)."""
        if keys:
            with self._lock:
                for key in keys:
                    self._decoded.pop(key, None)
                    self._touched.pop(key, None)

    def _touch(self, key: str) -> None:
        with self._lock:
            touched = self._touched
            touched.pop(key, None)
            touched[key] = None
            due = (
                len(touched) >= _TOUCH_BATCH or time.monotonic() - self._touched_at >= _TOUCH_DELAY
            )
        if due:
            # A hint, not data: if the database is busy the uses wait for the next write.
            self.guard.run(self._record_uses_alone)

    def _count(self, *counters: str) -> None:
        with self._lock:
            for counter in counters:
                setattr(self, counter, getattr(self, counter) + 1)

    def _removed(self, removed: object, *, counted: bool = False) -> None:
        """Count and report what a write removed (``counted``: its expiry is counted already)."""
        if not isinstance(removed, list) or not removed:
            return  # FAULT, or nothing removed
        expired = sum(why == "ttl" for _, _, why in removed)
        with self._lock:
            if not counted:
                self._expirations += expired
            self._evictions += len(removed) - expired
        if telemetry.wanted(telemetry.CACHE_EVICT):
            for key, size, why in removed:
                metadata = {"key": key, "reason": why, "store": "disk"}
                if why in _CHOSEN_BY_POLICY:
                    metadata["policy"] = "lru"  # the one order a disk store keeps
                telemetry.emit(telemetry.CACHE_EVICT, {"size_bytes": size}, metadata)

    def __contains__(self, key: object) -> bool:
        """Whether the database holds ``key`` (expired or not, as MemoryStore says); not a use."""
        if not isinstance(key, str):
            return False
        row = self.guard.run(self._select, key)
        return row is not None and row is not FAULT


def _directory(path: object) -> Path:
    missing = missing_support()
    if missing is not None:
        raise ConfigurationError(f"DiskStore needs {missing}: use a Python with a newer SQLite")
    if path is None:
        return default_directory()
    check_instance("DiskStore path", path, (str, os.PathLike), "a directory path or None")
    return Path(path)  # type: ignore[arg-type]  # checked just above


def _create(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"DiskStore path {str(directory)!r} cannot be used as a directory ({exc}); "
            "pass path= a directory this process can write"
        ) from exc
