"""The ``CacheStore`` protocol: where the production strategy keeps entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from exllm_py.cache.entry import CacheEntry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stats import CacheStats

__all__ = ["CacheStore"]


class CacheStore(Protocol):
    """A key → :class:`~exllm_py.cache.entry.CacheEntry` map with expiry.

    The contract:

    - ``get(key)`` returns the live entry or ``None`` (expired entries are
      never returned). It never raises for a store fault: a store that cannot
      answer behaves as a miss.
    - ``set(key, entry)`` stores the entry until ``entry.expires_at``
      (``None``: no expiry), replacing any previous one; it may evict others
      to stay within its bounds, and may decline an entry too large to keep.
      A ``set`` that does not store its entry (declined, already expired, or
      refused by the backend) still removes the previous one, as far as the
      backend lets it: after ``cache="refresh"`` the stale answer must not go
      on being served.
    - Entries are served as they were stored: their responses are read-only
      (:func:`~exllm_py.cache.entry.frozen_response`). A store that rebuilds
      responses (from bytes, say) rebuilds them read-only too, so a caller
      can never edit what a later hit serves.
    - ``delete(key)`` removes the entry (an ``explicit`` eviction); returns
      whether there was one. ``clear()`` removes everything in the store.
    - ``invalidate(selector)`` removes every live entry the
      :class:`~exllm_py.cache.invalidation.Invalidation` matches, by the
      labels each entry was stored with (``entry.labels``), each an
      ``explicit`` eviction; returns how many went. Unlike ``get``, it
      raises when the store cannot be reached: an invalidation that did
      not happen must not pass for one that did. With ``dry_run=True`` it
      removes nothing and returns how many would go.
    - ``aget`` / ``aset`` / ``adelete`` / ``ainvalidate`` are the same for
      async callers; in-memory stores may simply call the sync methods.
    - ``stats()`` reports counters and current size.

    - ``default_ttl`` is the lifetime, in seconds, of entries whose call did
      not set ``cache_ttl`` (``None``: no expiry); ``clock`` is the time
      source (epoch seconds) against which ``expires_at`` is compared.

    Stores must be safe to use from many threads and tasks at once.
    """

    default_ttl: float | None
    clock: Callable[[], float]

    def get(self, key: str) -> CacheEntry | None: ...

    def set(self, key: str, entry: CacheEntry) -> None: ...

    def delete(self, key: str) -> bool: ...

    def clear(self) -> None: ...

    def invalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int: ...

    async def aget(self, key: str) -> CacheEntry | None: ...

    async def aset(self, key: str, entry: CacheEntry) -> None: ...

    async def adelete(self, key: str) -> bool: ...

    async def ainvalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int: ...

    def stats(self) -> CacheStats: ...
