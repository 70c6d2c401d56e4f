"""The Prometheus metrics of one installed bridge, and the telemetry handlers that move them.

Each handler listens to one event. The hit handler runs on every cache hit
(its presence sends the hit path down its slower branch, which builds the
event), so it does the least it can: it reads the event's labels
(:meth:`~exllm_py.metrics.labels.LabelRules.call_key`), finds the slot it
resolved the first time it saw them, and records
(:mod:`exllm_py.metrics.prometheus_hits`). The other handlers run on the
miss path, off the hot one, and use ``prometheus_client``'s metrics as they
come.

Histograms carry fewer labels than counters (each label set is a series
per bucket there): the hit latency is the store's doing, so it is labelled
by provider and tier; the miss latency is the provider's, so by provider
and model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeAlias

from prometheus_client import Counter, Histogram
from prometheus_client.registry import Collector

from exllm_py import telemetry
from exllm_py.metrics.buckets import MISS_BUCKETS
from exllm_py.metrics.bus import handlers_of
from exllm_py.metrics.labels import CallKey, CallLabels, LabelRules
from exllm_py.metrics.prometheus_hits import HitChildren, HitTallies, hit_metrics

__all__ = ["Instruments"]

Handler: TypeAlias = telemetry.Handler


class _HitSlot(Protocol):
    def record(self, seconds: float, saved_usd: float | None) -> None: ...


class Instruments:
    """The metrics of one installed bridge and its handlers; :attr:`collectors` to register.

    ``multiprocess``: record hits in ``prometheus_client``'s own metrics,
    which multiprocess mode writes to the workers' files, instead of the
    cheaper tallies a scrape of this process reads.
    """

    def __init__(self, rules: LabelRules, *, multiprocess: bool = False) -> None:
        self.rules = rules
        call = ("provider", "model", "namespace") if rules.namespace else ("provider", "model")
        hit = (*call, "tier")
        self.misses = _counter(
            "exllm_cache_misses", "Calls the cache could not answer (provider calls).", call
        )
        self.puts = _counter("exllm_cache_puts", "Answers stored in the cache.", call)
        self.evictions = _counter(
            "exllm_cache_evictions", "Entries removed, by reason.", ("store", "reason")
        )
        self.errors = _counter(
            "exllm_cache_errors",
            "Cache store failures (timeouts, breaker, failed writes), by reason.",
            ("store", "reason"),
        )
        self.retries = _counter(
            "exllm_request_retries",
            "Provider calls tried again, by reason.",
            ("provider", "model", "reason"),
        )
        self.test_hits = _counter("exllm_test_cache_hits", "Requests replayed from cassettes.")
        self.test_misses = _counter(
            "exllm_test_cache_misses", "Requests no cassette interaction matched."
        )
        self.test_saves = _counter("exllm_test_cache_saves", "Cassettes written.")
        self.test_errors = _counter(
            "exllm_test_cache_errors", "Test cache failures, by error type.", ("reason",)
        )
        self.miss_seconds = Histogram(
            "exllm_cache_miss_duration_seconds",
            "Time the provider took to produce an answer the cache then stored.",
            ("provider", "model"),
            registry=None,
            buckets=MISS_BUCKETS,
        )
        self._hit_metrics = hit_metrics(hit)
        self._tallies = None if multiprocess else HitTallies(hit)
        # What each call key resolved to, the first time it was seen (see the docstring).
        self._hit_slots: dict[CallKey, _HitSlot] = {}
        self._miss_children: dict[CallKey, Counter] = {}
        self._put_children: dict[CallKey, tuple[Counter, Histogram]] = {}

    @property
    def collectors(self) -> tuple[Collector, ...]:
        """Every metric and collector made, to register and unregister."""
        return (
            *(self._hit_metrics if self._tallies is None else (self._tallies,)),
            self.misses,
            self.puts,
            self.evictions,
            self.errors,
            self.retries,
            self.test_hits,
            self.test_misses,
            self.test_saves,
            self.test_errors,
            self.miss_seconds,
        )

    def handlers(self) -> Mapping[telemetry.Event, Handler]:
        """The handler of each event the bridge listens to."""
        return handlers_of(self)

    # -- the production cache ----------------------------------------------------------

    def on_hit(self, _event: telemetry.Event, measured: dict[str, Any], md: dict[str, Any]) -> None:
        key = self.rules.call_key(md)
        slot = self._hit_slots.get(key) or self._hit_slot_for(key)
        slot.record(measured["duration_ns"] / 1e9, measured.get("saved_cost_usd"))

    def on_miss(
        self, _event: telemetry.Event, _measured: dict[str, Any], md: dict[str, Any]
    ) -> None:
        key = self.rules.call_key(md)
        child = self._miss_children.get(key)
        if child is None:
            labels = self.rules.call(key)
            child = self.misses.labels(*self._call_values(labels))
            _remember(self._miss_children, key, labels, child)
        child.inc()

    def on_put(self, _event: telemetry.Event, measured: dict[str, Any], md: dict[str, Any]) -> None:
        key = self.rules.call_key(md)
        children = self._put_children.get(key)
        if children is None:
            labels = self.rules.call(key)
            children = (
                self.puts.labels(*self._call_values(labels)),
                self.miss_seconds.labels(labels.provider, labels.model),
            )
            _remember(self._put_children, key, labels, children)
        children[0].inc()
        compute_ns = measured.get("compute_ns")
        if compute_ns is not None:
            children[1].observe(compute_ns / 1e9)

    def on_evict(
        self, _event: telemetry.Event, _measured: dict[str, Any], md: dict[str, Any]
    ) -> None:
        rules = self.rules
        self.evictions.labels(rules.store(md.get("store")), rules.reason(md.get("reason"))).inc()

    def on_error(
        self, _event: telemetry.Event, _measured: dict[str, Any], md: dict[str, Any]
    ) -> None:
        rules = self.rules
        self.errors.labels(rules.store(md.get("store")), rules.reason(md.get("reason"))).inc()

    def on_retry(
        self, _event: telemetry.Event, _measured: dict[str, Any], md: dict[str, Any]
    ) -> None:
        labels = self.rules.call(self.rules.call_key(md))
        self.retries.labels(
            labels.provider, labels.model, self.rules.reason(md.get("reason"))
        ).inc()

    # -- the test cache ----------------------------------------------------------------

    def on_test_hit(self, _event: telemetry.Event, _m: dict[str, Any], _md: dict[str, Any]) -> None:
        self.test_hits.inc()

    def on_test_miss(
        self, _event: telemetry.Event, _m: dict[str, Any], _md: dict[str, Any]
    ) -> None:
        self.test_misses.inc()

    def on_test_save(
        self, _event: telemetry.Event, _m: dict[str, Any], _md: dict[str, Any]
    ) -> None:
        self.test_saves.inc()

    def on_test_error(
        self, _event: telemetry.Event, _m: dict[str, Any], md: dict[str, Any]
    ) -> None:
        self.test_errors.labels(self.rules.error_reason(md.get("error"))).inc()

    def _call_values(self, labels: CallLabels) -> tuple[str, ...]:
        if self.rules.namespace:
            return (labels.provider, labels.model, labels.namespace)
        return (labels.provider, labels.model)

    def _hit_slot_for(self, key: CallKey) -> _HitSlot:
        labels = self.rules.call(key)
        values = (*self._call_values(labels), labels.tier)
        slot: _HitSlot
        if self._tallies is not None:
            slot = self._tallies.slot(values)
        else:
            hits, seconds, saved = self._hit_metrics
            slot = HitChildren(
                hits.labels(*values),
                seconds.labels(labels.provider, labels.tier),
                saved.labels(*values),
            )
        _remember(self._hit_slots, key, labels, slot)
        return slot


def _counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
    # Made unregistered: the bridge registers them all or none (see prometheus.install).
    return Counter(name, documentation, labels, registry=None)


def _remember(table: dict[CallKey, Any], key: CallKey, labels: CallLabels, slot: Any) -> None:
    # A capped key is not kept: the keys that read as "other" have no bound.
    if not labels.capped:
        table[key] = slot
