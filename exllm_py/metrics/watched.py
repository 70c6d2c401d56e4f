"""The stores a caller asked a metrics bridge to watch, by name, read only when metrics are.

Both bridges keep their gauges' stores here: :meth:`WatchedStores.readings`
calls each store's ``stats()`` when a scrape or a collection asks, and at
no other time, so the hit path never pays for the gauges. A store whose
``stats()`` fails is reported (``reason="stats_failed"``) and left out of
that reading.

May import: the cache's store protocol, stats and breaker, ``errors``,
``forksafe``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.breaker import report_cache_error
from exllm_py.errors import ValidationError
from exllm_py.forksafe import renew_after_fork

__all__ = ["WatchedStores"]


class WatchedStores:
    """Stores by name, each with its kind (the ``store`` label); a name watches one store."""

    def __init__(self) -> None:
        self._stores: dict[str, tuple[str, CacheStore]] = {}
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {sorted(self._stores)}>"

    def watch(self, store: CacheStore, name: str, kind: str) -> None:
        """Read ``store`` whenever metrics are, as ``name``; a name taken by another store fails."""
        if not isinstance(name, str) or not name:
            raise ValidationError(
                f"watch() name must be a non-empty string naming the store, got {name!r}: "
                "e.g. watch(store, name='responses')"
            )
        with self._lock:
            watched = self._stores.get(name)
            if watched is not None and watched[1] is not store:
                raise ValidationError(
                    f"watch() name {name!r} is taken by another store: give this store "
                    f"another name, or unwatch({name!r}) first"
                )
            self._stores[name] = (kind, store)

    def unwatch(self, name: str) -> bool:
        """Stop reading the store watched as ``name``; False if there was none."""
        with self._lock:
            return self._stores.pop(name, None) is not None

    def clear(self) -> None:
        """Stop reading every store."""
        with self._lock:
            self._stores.clear()

    def readings(self) -> Iterator[tuple[str, str, CacheStats]]:
        """``(kind, name, stats)`` of each watched store that answers, read now."""
        with self._lock:
            watched = list(self._stores.items())
        for name, (kind, store) in watched:
            try:
                stats = store.stats()
            except Exception as exc:  # one store's failure must not fail the reading
                report_cache_error(kind, "stats_failed", exc)
                continue
            yield kind, name, stats
