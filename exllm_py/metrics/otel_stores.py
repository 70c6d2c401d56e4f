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

from collections.abc import Callable, Iterator

from opentelemetry.metrics import CallbackOptions, Observation

from exllm_py.cache.stats import CacheStats
from exllm_py.metrics import watched

__all__ = ["WatchedStores"]


class WatchedStores(watched.WatchedStores):
    """The watched stores; :meth:`entries` and :meth:`sizes` are the gauges' callbacks."""

    def entries(self, _options: CallbackOptions) -> Iterator[Observation]:
        """The ``exllm.cache.store.entries`` callback."""
        return self._observe(lambda stats: stats.entries)

    def sizes(self, _options: CallbackOptions) -> Iterator[Observation]:
        """The ``exllm.cache.store.size`` callback."""
        return self._observe(lambda stats: stats.bytes)

    def _observe(self, figure: Callable[[CacheStats], int]) -> Iterator[Observation]:
        for kind, name, stats in self.readings():
            yield Observation(figure(stats), {"store": kind, "name": name})
