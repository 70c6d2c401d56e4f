"""``TieredStore``: a fast local store (L1) in front of a shared one (L2).

Reads try L1, then L2; an L2 hit is promoted into L1 with the time it has
left (entries carry their absolute ``expires_at``, so L1 expires it when L2
would), optionally capped by ``l1_ttl`` so that a process does not keep
serving an entry that other processes have since replaced. Writes,
deletes and invalidations go to L2, then to L1; a read that found an entry
in L2 before such a change does not copy it into L1 after it (see
``_promote``).

Other processes. A change made elsewhere (another worker's write, an
``exllm-cache invalidate`` on the shared store) reaches L2 only: this
process's L1 serves its copy until the copy expires. ``l1_ttl`` bounds how
long that can be; give it a few seconds where entries are invalidated from
outside.

Which tier answered is told by the entry itself: a hit's
``response.metadata[TIER_KEY]`` (``"tier"``) is ``"l1"`` or ``"l2"``.
Entries are tagged ``"l1"`` when they are written into L1, so an L1 hit
costs nothing extra; an L2 hit is tagged on the way out (it already paid a
round trip). The production strategy copies the tag, under the same
:data:`TIER_KEY`, into its ``("exllm", "cache", "hit")`` telemetry.

What goes into L1 is frozen all the way down, as every ``MemoryStore``
entry is: L1 serves one object to every later hit. An L2 hit is served as
L2 gave it (from a ``RedisStore``, a fresh decode with read-only metadata),
and shares nothing mutable with the copy promoted into L1.
"""

from __future__ import annotations

import threading
from typing import Final

import attrs

from exllm_py.cache.arguments import MAX_TTL, check_seconds, check_store
from exllm_py.cache.entry import CacheEntry, frozen_response
from exllm_py.cache.freeze import FrozenDict
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.base import CacheStore
from exllm_py.forksafe import renew_after_fork

__all__ = ["TIER_KEY", "TieredStore"]

#: The key under which a tiered hit names its tier: in the response's metadata, and
#: as the label of the hit telemetry.
TIER_KEY: Final = "tier"


class TieredStore:
    """Two stores as one: ``l1`` (say a ``MemoryStore``) in front of ``l2`` (a ``RedisStore``).

    ``default_ttl`` is L2's (the lifetime other processes see); ``clock`` is
    L1's. ``stats()``: hits of L1 (which should serve only this store) plus
    L2 hits and misses as this store answered them (:meth:`tier_hits` splits
    the hits), puts as written through it, evictions and expirations of both
    tiers, entries and bytes of L2 (for a ``RedisStore``, from its bounded
    scan, which never counts against its breaker).
    """

    def __init__(self, l1: CacheStore, l2: CacheStore, *, l1_ttl: float | None = None) -> None:
        check_store("TieredStore l1", l1)
        check_store("TieredStore l2", l2)
        if l1_ttl is not None:
            check_seconds("TieredStore l1_ttl", l1_ttl, maximum=MAX_TTL, none_means="no cap")
        self.l1 = l1
        self.l2 = l2
        self.l1_ttl = l1_ttl
        self.default_ttl = l2.default_ttl
        self.clock = l1.clock
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        self._l2_hits = self._misses = self._puts = 0
        # Bumped by every change that reaches L1 (see _promote).
        self._generation = 0

    def __repr__(self) -> str:
        return f"<TieredStore l1={self.l1!r} l2={self.l2!r}>"

    def get(self, key: str) -> CacheEntry | None:
        entry = self.l1.get(key)
        if entry is not None:
            return entry  # L1 counts its own hits: nothing to add on the fastest path
        generation = self._generation
        entry = self.l2.get(key)
        if entry is None:
            self._count_miss()
            return None
        self._promote(key, entry, generation)
        return self._l2_hit(entry)

    def set(self, key: str, entry: CacheEntry) -> None:
        self.l2.set(key, entry)
        with self._lock:
            self.l1.set(key, self._for_l1(entry))
            self._generation += 1
        self._count_put()

    def delete(self, key: str) -> bool:
        in_l2 = self.l2.delete(key)
        with self._lock:
            in_l1 = self.l1.delete(key)
            self._generation += 1
        return in_l2 or in_l1

    def clear(self) -> None:
        self.l2.clear()
        with self._lock:
            self.l1.clear()
            self._generation += 1

    def invalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int:
        """Invalidate L2, then L1; the count is the larger tier's (L1 holds copies of L2's)."""
        in_l2 = self.l2.invalidate(selector, dry_run=dry_run)
        return max(in_l2, self._invalidate_l1(selector, dry_run))

    async def ainvalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int:
        in_l2 = await self.l2.ainvalidate(selector, dry_run=dry_run)
        return max(in_l2, self._invalidate_l1(selector, dry_run))

    async def aget(self, key: str) -> CacheEntry | None:
        entry = await self.l1.aget(key)
        if entry is not None:
            return entry
        generation = self._generation
        entry = await self.l2.aget(key)
        if entry is None:
            self._count_miss()
            return None
        self._promote(key, entry, generation)
        return self._l2_hit(entry)

    async def aset(self, key: str, entry: CacheEntry) -> None:
        await self.l2.aset(key, entry)
        with self._lock:
            self.l1.set(key, self._for_l1(entry))
            self._generation += 1
        self._count_put()

    async def adelete(self, key: str) -> bool:
        in_l2 = await self.l2.adelete(key)
        with self._lock:
            in_l1 = self.l1.delete(key)
            self._generation += 1
        return in_l2 or in_l1

    # Promotion and removal race: a get that read an entry from L2 just before a
    # write, delete or invalidation reached L2 must not copy that old entry into
    # L1 after the change reached L1, where it would be served until it expires.
    # Every change goes to L2 first, then to L1 under the lock with a new
    # generation; a promotion happens under the lock too, and only if no change
    # came since its L2 read began. (L1 is a local store: its sync methods are
    # called under the lock, from async callers too.)

    def _promote(self, key: str, entry: CacheEntry, generation: int) -> None:
        with self._lock:
            if self._generation == generation:
                self.l1.set(key, self._for_l1(entry))

    def _invalidate_l1(self, selector: Invalidation, dry_run: bool) -> int:
        if dry_run:
            return self.l1.invalidate(selector, dry_run=True)
        with self._lock:
            removed = self.l1.invalidate(selector)
            self._generation += 1
        return removed

    def stats(self) -> CacheStats:
        l1, l2 = self.l1.stats(), self.l2.stats()
        with self._lock:
            return CacheStats(
                hits=l1.hits + self._l2_hits,
                misses=self._misses,
                puts=self._puts,
                evictions=l1.evictions + l2.evictions,
                expirations=l1.expirations + l2.expirations,
                entries=l2.entries,
                bytes=l2.bytes,
            )

    def tier_hits(self) -> dict[str, int]:
        """How many hits each tier answered: ``{"l1": …, "l2": …}``."""
        l1_hits = self.l1.stats().hits
        with self._lock:
            return {"l1": l1_hits, "l2": self._l2_hits}

    def _for_l1(self, entry: CacheEntry) -> CacheEntry:
        expires_at = entry.expires_at
        if self.l1_ttl is not None:
            cap = self.clock() + self.l1_ttl
            expires_at = cap if expires_at is None else min(expires_at, cap)
        # L1 serves this one object to every later hit: frozen all the way down, once,
        # here. An entry decoded from L2 is not (a fresh decode shares nothing); one
        # made by make_entry is already, and comes back without a walk.
        frozen = attrs.evolve(entry, response=frozen_response(entry.response))
        return _tagged(frozen, "l1", expires_at)

    def _l2_hit(self, entry: CacheEntry) -> CacheEntry:
        with self._lock:
            self._l2_hits += 1
        return _tagged(entry, "l2", entry.expires_at)

    def _count_miss(self) -> None:
        with self._lock:
            self._misses += 1

    def _count_put(self) -> None:
        with self._lock:
            self._puts += 1


def _tagged(entry: CacheEntry, tier: str, expires_at: float | None) -> CacheEntry:
    response = entry.response
    # Read-only, as every store's hits are: an L1 entry is served to every later hit.
    metadata = FrozenDict({**response.metadata, TIER_KEY: tier})
    return attrs.evolve(
        entry, response=attrs.evolve(response, metadata=metadata), expires_at=expires_at
    )
