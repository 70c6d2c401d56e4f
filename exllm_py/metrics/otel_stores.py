"""The stores a caller watches, read by OpenTelemetry's observable gauges at collection time.

:class:`WatchedStores` holds the stores by name; its two callbacks, one per
gauge, call each store's ``stats()`` when a metric reader collects, and at
no other time, so the hit path never pays for the gauges. Each collection
reads every store twice (one read per gauge: OpenTelemetry calls each
gauge's callbacks on their own).

The gauges, with attributes ``store`` (the kind, by
:mod:`exllm_py.metrics.labels`) and ``name`` (the caller's):

- ``exllm.cache.store.entries`` (``{entry}``): entries the store holds;
- ``exllm.cache.store.size`` (``By``): their size as the store accounts it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from opentelemetry.metrics import CallbackOptions, Observation

from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.breaker import report_cache_error
from exllm_py.errors import ValidationError
from exllm_py.forksafe import renew_after_fork

__all__ = ["WatchedStores"]


class WatchedStores:
    """Stores by name, each with its kind; :meth:`entries` and :meth:`sizes` are gauge callbacks."""

    def __init__(self) -> None:
        self._stores: dict[str, tuple[str, CacheStore]] = {}
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")

    def __repr__(self) -> str:
        return f"<WatchedStores {sorted(self._stores)}>"

    def watch(self, store: CacheStore, name: str, kind: str) -> None:
        """Report ``store`` at each collection as ``name``; a name watches one store."""
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
        """Stop reporting the store watched as ``name``; False if there was none."""
        with self._lock:
            return self._stores.pop(name, None) is not None

    def clear(self) -> None:
        """Stop reporting every store."""
        with self._lock:
            self._stores.clear()

    def entries(self, _options: CallbackOptions) -> Iterator[Observation]:
        """The ``exllm.cache.store.entries`` callback."""
        return self._observe(lambda stats: stats.entries)

    def sizes(self, _options: CallbackOptions) -> Iterator[Observation]:
        """The ``exllm.cache.store.size`` callback."""
        return self._observe(lambda stats: stats.bytes)

    def _observe(self, figure: Callable[[CacheStats], int]) -> Iterator[Observation]:
        with self._lock:
            watched = list(self._stores.items())
        for name, (kind, store) in watched:
            try:
                stats = store.stats()
            except Exception as exc:  # one store's failure must not fail the collection
                report_cache_error(kind, "stats_failed", exc)
                continue
            yield Observation(figure(stats), {"store": kind, "name": name})
