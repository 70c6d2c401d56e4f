"""Gauges of the entries and bytes of the stores a caller watches, read when Prometheus scrapes.

:class:`StoreCollector` is a ``prometheus_client`` custom collector: each
scrape calls ``stats()`` of every watched store, and nothing is read or
written between scrapes, so the hit path never pays for these gauges.

Two gauges, labelled ``store`` (the kind, by :mod:`exllm_py.metrics.labels`)
and ``name`` (the caller's, from ``watch(store, name=...)``):

- ``exllm_cache_store_entries``: entries the store holds now;
- ``exllm_cache_store_bytes``: their size as the store accounts it.

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) a scrape reads the
stores of the process that serves it, not the files the workers write:
right for the stores the workers share (``RedisStore``, ``DiskStore``,
``TieredStore``, whose figures are its shared tier's), and per process for
a ``MemoryStore``. See :mod:`exllm_py.metrics.prometheus`.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exllm_py.cache.stores.base import CacheStore
from exllm_py.metrics import watched
from exllm_py.metrics.labels import LabelRules

__all__ = ["ENTRIES", "STORE_BYTES", "StoreCollector"]

ENTRIES = "exllm_cache_store_entries"
STORE_BYTES = "exllm_cache_store_bytes"
_LABELS = ("store", "name")


class StoreCollector(watched.WatchedStores):
    """The watched stores, by name; ``collect()`` reads their ``stats()`` (a scrape calls it)."""

    def __init__(self, rules: LabelRules) -> None:
        super().__init__()
        self._rules = rules

    def watch(self, store: CacheStore, name: str, kind: str | None = None) -> None:
        """Read ``store`` at each scrape, labelled ``name`` (its kind by the label rules)."""
        super().watch(store, name, kind or self._rules.store(type(store).__name__))

    def describe(self) -> list[Metric]:
        # Names only: the registry refuses a second collector of the same gauges.
        return list(_families())

    def collect(self) -> Iterator[Metric]:
        entries, stored = _families()
        for kind, name, stats in self.readings():
            entries.add_metric((kind, name), stats.entries)
            stored.add_metric((kind, name), stats.bytes)
        yield entries
        yield stored


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(ENTRIES, "Entries the store holds, read at scrape time.", labels=_LABELS),
        GaugeMetricFamily(
            STORE_BYTES, "Bytes the store's entries take, read at scrape time.", labels=_LABELS
        ),
    )
