"""``MemoryStore``: an in-process TTL store, bounded by entries and by bytes, LRU by default."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable

from exllm_py import telemetry
from exllm_py.cache.arguments import (
    MAX_TTL,
    check_callable,
    check_count,
    check_has,
    check_seconds,
    check_ttl,
)
from exllm_py.cache.entry import CacheEntry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.deadlines import Deadlines
from exllm_py.cache.stores.policies import LRU
from exllm_py.cache.stores.policy import POLICY_ATTRIBUTES, EvictionPolicy
from exllm_py.cache.stores.sweeper import SWEEPER
from exllm_py.errors import ValidationError
from exllm_py.forksafe import renew_after_fork

__all__ = ["MemoryStore"]

_MiB = 1024 * 1024

#: Policies some store already keeps its bookkeeping in (see ``_claim``).
_CLAIMED: weakref.WeakSet[EvictionPolicy] = weakref.WeakSet()


class MemoryStore:
    """Entries in a dict behind one lock, evicted in the order ``policy`` keeps.

    Expired entries are dropped when read (lazy expiry) and by a periodic
    sweep every ``cleanup_interval`` seconds (one shared daemon thread for all
    stores, which never keeps the process alive; ``None`` turns it off).
    When a ``set`` would cross a bound, expired entries go first (a queue of
    deadlines, :mod:`~exllm_py.cache.stores.deadlines`, finds them without a
    scan), then the victims ``policy`` names
    (:class:`~exllm_py.cache.stores.policy.EvictionPolicy`: ``LRU()``, the
    default, ``LFU()`` or ``FIFO()``), until the new entry fits within
    ``max_entries`` entries and ``max_bytes`` bytes (serialized size); an
    entry larger than ``max_bytes`` on its own is not kept at all (and the
    one it would have replaced is dropped). The queue stays O(live entries),
    sweeper or not.

    Every argument is checked here, so that a bad one fails at construction
    (``ValidationError`` naming it) rather than on some later call:
    ``max_entries`` and ``max_bytes`` are integers of at least 1,
    ``default_ttl`` is ``None`` or seconds in (0, ten years]
    (:data:`~exllm_py.cache.arguments.MAX_TTL`), ``cleanup_interval`` is
    ``None`` or positive seconds, ``clock`` a callable, ``policy`` an
    eviction policy no other store uses.
    """

    def __init__(
        self,
        max_entries: int = 10_000,
        max_bytes: int = 128 * _MiB,
        default_ttl: float | None = 900.0,
        cleanup_interval: float | None = 300.0,
        *,
        clock: Callable[[], float] = time.time,
        policy: EvictionPolicy | None = None,
    ) -> None:
        self.max_entries = check_count("MemoryStore max_entries", max_entries)
        self.max_bytes = check_count("MemoryStore max_bytes", max_bytes)
        self.default_ttl = check_ttl("MemoryStore default_ttl", default_ttl)
        if cleanup_interval is not None:
            check_seconds(
                "MemoryStore cleanup_interval",
                cleanup_interval,
                maximum=MAX_TTL,
                none_means="no sweeping",
            )
        check_callable("MemoryStore clock", clock, "a function returning epoch seconds")
        self.clock = clock
        self.policy = LRU() if policy is None else _claim(policy)
        self._entries: dict[str, CacheEntry] = {}
        # (expires_at, key): an item whose key has since been removed, or given
        # another deadline, is skipped when it comes up. No entry is held here,
        # so evicted entries are freed at once.
        self._deadlines = Deadlines()
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")  # the sweeper holds it during every sweep
        self._bytes = 0
        self._hits = self._misses = self._puts = self._evictions = self._expirations = 0
        if cleanup_interval is not None:
            SWEEPER.register(self, cleanup_interval)

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                expires_at = entry.expires_at
                if expires_at is None or expires_at > self.clock():
                    self.policy.on_hit(key)
                    self._hits += 1
                    return entry
                self._drop(key, entry)
                self._expirations += 1
            self._misses += 1
        if entry is not None:
            _report_evicted(key, entry, "ttl")
        return None

    def set(self, key: str, entry: CacheEntry) -> None:
        if entry.size > self.max_bytes:
            # Not kept, and neither is the previous answer: after a refresh, the
            # stale one must not go on being served.
            self.delete(key)
            return
        with self._lock:
            previous = self._entries.get(key)
            if previous is not None:
                self._drop(key, previous)
            evicted = self._make_room(entry.size)
            self._entries[key] = entry
            self._bytes += entry.size
            self.policy.on_insert(key)
            self._puts += 1
            if entry.expires_at is not None:
                self._deadlines.push(entry.expires_at, key)
                if len(self._deadlines) > 2 * len(self._entries) + 64:
                    self._compact_deadlines()
        for old_key, old_entry, reason in evicted:
            # The policy is named only where it chose: an expiry is the clock's doing.
            policy = None if reason == "ttl" else self.policy.name
            _report_evicted(old_key, old_entry, reason, policy)

    def delete(self, key: str) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            self._drop(key, entry)
            # An entry past its deadline was already gone for readers.
            expired = entry.expires_at is not None and entry.expires_at <= self.clock()
            if expired:
                self._expirations += 1
            else:
                self._evictions += 1
        _report_evicted(key, entry, "ttl" if expired else "explicit")
        return not expired

    def clear(self) -> None:
        with self._lock:
            for key in self._entries:
                self.policy.on_remove(key)
            self._entries.clear()
            self._deadlines.clear()
            self._bytes = 0

    def invalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int:
        """Remove the live entries ``selector`` matches (``explicit`` evictions); how many went.

        ``dry_run``: remove nothing, only count.
        """
        with self._lock:
            now = self.clock()
            if selector.key is not None:  # one key: no scan
                entry = self._entries.get(selector.key)
                candidates = [] if entry is None else [(selector.key, entry)]
            else:
                candidates = list(self._entries.items())
            removed = [
                (key, entry)
                for key, entry in candidates
                if (entry.expires_at is None or entry.expires_at > now)
                and selector.matches(key, entry.labels, entry.stored_at, now)
            ]
            if dry_run:
                return len(removed)
            for key, entry in removed:
                self._drop(key, entry)
            self._evictions += len(removed)
        for key, entry in removed:
            _report_evicted(key, entry, "explicit")
        return len(removed)

    async def ainvalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int:
        return self.invalidate(selector, dry_run=dry_run)

    async def aget(self, key: str) -> CacheEntry | None:
        return self.get(key)

    async def aset(self, key: str, entry: CacheEntry) -> None:
        self.set(key, entry)

    async def adelete(self, key: str) -> bool:
        return self.delete(key)

    def sweep(self) -> int:
        """Drop every expired entry now; returns how many. The sweeper calls this."""
        with self._lock:
            expired = self._expire_due(self.clock())
        for key, entry in expired:
            _report_evicted(key, entry, "ttl")
        return len(expired)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                puts=self._puts,
                evictions=self._evictions,
                expirations=self._expirations,
                entries=len(self._entries),
                bytes=self._bytes,
            )

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def _drop(self, key: str, entry: CacheEntry) -> None:
        del self._entries[key]
        self._bytes -= entry.size
        self.policy.on_remove(key)

    def _make_room(self, size: int) -> list[tuple[str, CacheEntry, str]]:
        """Evict until one more entry of ``size`` bytes fits (lock held, the key not stored).

        Room is made before the entry goes in, so that the policy chooses among
        the entries already there: an LFU would otherwise pick the newcomer, the
        least used of all, and a full store would admit nothing new. Callers
        keep ``size <= max_bytes``, so an empty store always has room.
        """
        if len(self._entries) < self.max_entries and self._bytes + size <= self.max_bytes:
            return []
        evicted = [(key, entry, "ttl") for key, entry in self._expire_due(self.clock())]
        while len(self._entries) >= self.max_entries:
            evicted.append((*self._evict(), self.policy.name))
        while self._bytes + size > self.max_bytes:
            evicted.append((*self._evict(), "bytes"))
        self._evictions += len(evicted) - sum(reason == "ttl" for _, _, reason in evicted)
        return evicted

    def _expire_due(self, now: float) -> list[tuple[str, CacheEntry]]:
        """Drop the entries whose deadline has passed (lock held)."""
        deadlines, expired = self._deadlines, []
        while (due := deadlines.pop_due(now)) is not None:
            deadline, key = due
            entry = self._entries.get(key)
            if entry is not None and entry.expires_at == deadline:
                self._drop(key, entry)
                expired.append((key, entry))
        self._expirations += len(expired)
        if len(deadlines) > 2 * len(self._entries) + 64:
            self._compact_deadlines()
        return expired

    def _compact_deadlines(self) -> None:
        """Keep only the deadlines of live entries (lock held).

        Replaced, deleted and evicted entries leave their deadlines behind. Run
        whenever the queue holds more than twice the live entries (plus 64), from
        ``set`` as well as from sweeps, it keeps the queue O(live entries) with no
        sweeper at all, at an amortized O(1) per ``set`` when deadlines come in
        order (the sort is linear on a sorted run), O(log n) at worst: a run
        over n live entries follows at least n + 64 pushes.
        """
        # Rebuilt from the entries rather than filtered: a key set again with the
        # same deadline left items that a filter could not tell from the live one.
        self._deadlines.reset(
            (expires_at, key)
            for key, entry in self._entries.items()
            if (expires_at := entry.expires_at) is not None
        )

    def _evict(self) -> tuple[str, CacheEntry]:
        key = self.policy.victim()
        entry = self._entries[key]
        self._drop(key, entry)
        return key, entry


def _claim(policy: EvictionPolicy) -> EvictionPolicy:
    """``policy``, checked, and marked as this store's: its bookkeeping is one store's keys."""
    expected = "an eviction policy: LRU(), LFU() or FIFO()"
    check_has("MemoryStore policy", policy, POLICY_ATTRIBUTES, expected)
    try:
        if policy in _CLAIMED:
            raise ValidationError(
                f"MemoryStore policy must be a policy no other store uses, got {policy!r} "
                "already in use: give each store its own, e.g. policy=LFU()"
            )
        _CLAIMED.add(policy)
    except TypeError:
        pass  # not weakly referenceable: a policy of the caller's own, trusted to be fresh
    return policy


def _report_evicted(key: str, entry: CacheEntry, reason: str, policy: str | None = None) -> None:
    # Reported outside the lock: a handler may call back into the store.
    if telemetry.wanted(telemetry.CACHE_EVICT):
        metadata = {"key": key, "reason": reason, "store": "memory"}
        if policy is not None:
            metadata["policy"] = policy
        telemetry.emit(telemetry.CACHE_EVICT, {"size_bytes": entry.size}, metadata)
