"""The telemetry bus bridged to Prometheus (``pip install 'exllm_py[prometheus]'``).

::

    from exllm_py.metrics import prometheus

    metrics = prometheus.install()           # into prometheus_client.REGISTRY
    metrics.watch(strategy.store, name="responses")
    ...
    metrics.uninstall()

:func:`install` attaches a handler per telemetry event and registers, in
the registry given (``prometheus_client.REGISTRY`` by default):

- counters ``exllm_cache_hits_total``, ``exllm_cache_misses_total``,
  ``exllm_cache_puts_total``, ``exllm_cache_saved_cost_usd_total``
  (labels ``provider``, ``model``; hits and saved cost also ``tier``),
  ``exllm_cache_evictions_total`` and ``exllm_cache_errors_total``
  (``store``, ``reason``), ``exllm_request_retries_total`` (``provider``,
  ``model``, ``reason``), ``exllm_test_cache_hits_total``,
  ``exllm_test_cache_misses_total``, ``exllm_test_cache_saves_total`` and
  ``exllm_test_cache_errors_total`` (``reason``: the error's type);
- histograms ``exllm_cache_hit_duration_seconds`` (``provider``, ``tier``:
  the lookup of a hit, buckets from 5 µs) and
  ``exllm_cache_miss_duration_seconds`` (``provider``, ``model``: the
  provider call behind each answer stored, buckets from 50 ms to 2 min);
- gauges ``exllm_cache_store_entries`` and ``exllm_cache_store_bytes``
  (``store``, ``name``) of the stores passed to :meth:`PrometheusMetrics.watch`,
  read at scrape time (:mod:`exllm_py.metrics.prometheus_stores`).

Labels are bounded (:mod:`exllm_py.metrics.labels`): the first 100 models,
then ``"other"`` (``max_models=``); ``namespace`` only with
``namespace_label=True``, since namespaces are often one per tenant or
user, and a label of them is a series per tenant in every counter.

A registry takes one bridge: installing a second into it raises, naming
the fix. :meth:`PrometheusMetrics.uninstall` detaches the handlers and
unregisters everything it registered.

Multiprocess mode (gunicorn-style workers, ``PROMETHEUS_MULTIPROC_DIR`` set
before ``prometheus_client`` is first imported): counters and histograms
are written to the directory by every worker, and a scrape through
``prometheus_client.multiprocess.MultiProcessCollector`` sums them. The
store gauges are read by the process that serves the scrape: register
:attr:`PrometheusMetrics.collector` in the scrape's registry as well. For a
store the workers share (Redis, disk, tiered over either) that is the
store's figure; for a ``MemoryStore`` it is the serving worker's own.
The model cap counts per process.
"""

from __future__ import annotations

import os
import threading
import weakref
from types import TracebackType

try:
    import prometheus_client
    from prometheus_client.registry import Collector, CollectorRegistry
except ImportError as exc:
    raise ImportError(
        "exllm_py.metrics.prometheus needs prometheus-client: pip install 'exllm_py[prometheus]'"
    ) from exc

from exllm_py import telemetry
from exllm_py.cache.stores.base import CacheStore
from exllm_py.errors import ConfigurationError
from exllm_py.metrics.labels import MAX_MODELS, LabelRules
from exllm_py.metrics.prometheus_instruments import Instruments
from exllm_py.metrics.prometheus_stores import StoreCollector

__all__ = ["PrometheusMetrics", "install"]

# The registries with a bridge in them (held weakly: a dropped registry is forgotten).
_installed: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()
_installed_lock = threading.Lock()


def install(
    registry: CollectorRegistry | None = None,
    *,
    namespace_label: bool = False,
    max_models: int = MAX_MODELS,
) -> PrometheusMetrics:
    """Export the cache's telemetry into ``registry`` (default ``prometheus_client.REGISTRY``).

    ``namespace_label``: label calls by ``cache_namespace`` too (off: see
    the module's docstring); ``max_models``: distinct model labels kept
    before the rest read ``"other"``.
    """
    target = prometheus_client.REGISTRY if registry is None else registry
    rules = LabelRules(namespace=namespace_label, max_models=max_models)
    instruments = Instruments(rules, multiprocess=_multiprocess())
    metrics = PrometheusMetrics(target, instruments, StoreCollector(rules))
    with _installed_lock:
        if target in _installed:
            raise ConfigurationError(
                "exllm_py's Prometheus metrics are installed in this registry already: "
                "call uninstall() on the handle the first install() returned, or pass "
                "another registry (install(registry=CollectorRegistry()))"
            )
        metrics._register()
        _installed.add(target)
    metrics._attach()
    return metrics


class PrometheusMetrics:
    """What :func:`install` set up in one registry; :meth:`uninstall` takes it all out."""

    def __init__(
        self, registry: CollectorRegistry, instruments: Instruments, collector: StoreCollector
    ) -> None:
        self.registry = registry
        self.instruments = instruments
        #: The store gauges' collector; in multiprocess mode, register it in the scrape's registry.
        self.collector = collector
        self._handler_prefix = f"exllm_py.metrics.prometheus:{id(self)}"
        self._installed = False

    def __repr__(self) -> str:
        state = "installed" if self._installed else "uninstalled"
        return f"<PrometheusMetrics {state} {self.collector!r}>"

    def __enter__(self) -> PrometheusMetrics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.uninstall()

    def watch(self, store: CacheStore, *, name: str) -> None:
        """Export ``store``'s entries and bytes, read at each scrape, labelled ``name``."""
        self.collector.watch(store, name)

    def unwatch(self, name: str) -> bool:
        """Stop exporting the store watched as ``name``; False if there was none."""
        return self.collector.unwatch(name)

    def uninstall(self) -> None:
        """Detach the handlers and unregister the metrics; a second call does nothing."""
        for event in self.instruments.handlers():
            telemetry.detach(self._handler_id(event))
        with _installed_lock:
            if not self._installed:
                return
            self._installed = False
            _installed.discard(self.registry)
            for collector in self._collectors():
                self.registry.unregister(collector)

    def _register(self) -> None:
        """Register every metric, or none: a clash undoes those registered before it."""
        done: list[Collector] = []
        try:
            for collector in self._collectors():
                self.registry.register(collector)
                done.append(collector)
        except ValueError as exc:
            for collector in done:
                self.registry.unregister(collector)
            raise ConfigurationError(
                f"cannot install exllm_py's Prometheus metrics: {exc}; another collector "
                "in this registry exports these names: pass another registry"
            ) from exc
        self._installed = True

    def _collectors(self) -> tuple[Collector, ...]:
        return (*self.instruments.collectors, self.collector)

    def _attach(self) -> None:
        for event, handler in self.instruments.handlers().items():
            telemetry.attach(self._handler_id(event), [event], handler)

    def _handler_id(self, event: telemetry.Event) -> str:
        return f"{self._handler_prefix}:{'.'.join(event[1:])}"


def _multiprocess() -> bool:
    """Whether prometheus_client writes its metrics to files (it reads the same variables)."""
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ
