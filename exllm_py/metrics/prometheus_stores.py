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

import threading
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.breaker import report_cache_error
from exllm_py.errors import ValidationError
from exllm_py.forksafe import renew_after_fork
from exllm_py.metrics.labels import LabelRules

__all__ = ["ENTRIES", "STORE_BYTES", "StoreCollector"]

ENTRIES = "exllm_cache_store_entries"
STORE_BYTES = "exllm_cache_store_bytes"
_LABELS = ("store", "name")


class StoreCollector:
    """The watched stores, by name; ``collect()`` reads their ``stats()`` (a scrape calls it)."""

    def __init__(self, rules: LabelRules) -> None:
        self._rules = rules
        self._stores: dict[str, tuple[str, CacheStore]] = {}
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")

    def __repr__(self) -> str:
        return f"<StoreCollector {sorted(self._stores)}>"

    def watch(self, store: CacheStore, name: str) -> None:
        """Read ``store`` at each scrape, labelled ``name``; a name watches one store."""
        if not isinstance(name, str) or not name:
            raise ValidationError(
                f"watch() name must be a non-empty string naming the store, got {name!r}: "
                "e.g. watch(store, name='responses')"
            )
        kind = self._rules.store(type(store).__name__)
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

    def describe(self) -> list[Metric]:
        # Names only: the registry refuses a second collector of the same gauges.
        return list(_families())

    def collect(self) -> Iterator[Metric]:
        entries, stored = _families()
        with self._lock:
            watched = list(self._stores.items())
        for name, (kind, store) in watched:
            try:
                stats = store.stats()
            except Exception as exc:  # one store's failure must not fail the scrape
                report_cache_error(kind, "stats_failed", exc)
                continue
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
