"""What a cache hit records: one count, its lookup time, the cost it saved.

The hit handler runs on every hit, so what it touches is kept to the least
(see the hit-path target in ``bench/metrics_bench.py``). Two ways, chosen
once at install time, behind one method, ``record(seconds, saved_usd)``:

- :class:`HitTally`, one per label set: a count, a sum, bucket counts and
  the saved cost under one lock, read by :class:`HitTallies` (a
  ``prometheus_client`` collector) at scrape time. A ``Counter`` and a
  ``Histogram`` would take four locks and four checks per hit for the same;
- :class:`HitChildren`: the labelled children of a real ``Counter``,
  ``Histogram`` and ``Counter``, for multiprocess mode, where only
  ``prometheus_client``'s own metrics reach the files the workers share.

Both export the same names: ``exllm_cache_hits_total``,
``exllm_cache_saved_cost_usd_total`` and ``exllm_cache_hit_duration_seconds``.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence
from typing import Final

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from exllm_py.forksafe import renew_after_fork
from exllm_py.metrics.buckets import HIT_BUCKETS

__all__ = [
    "HITS",
    "HIT_SECONDS",
    "SAVED",
    "HitChildren",
    "HitTallies",
    "HitTally",
    "hit_metrics",
]

HITS: Final = "exllm_cache_hits"
SAVED: Final = "exllm_cache_saved_cost_usd"
HIT_SECONDS: Final = "exllm_cache_hit_duration_seconds"
HITS_HELP: Final = "Calls answered from the cache."
SAVED_HELP: Final = "What the hits would have cost at the provider, in US dollars."
HIT_SECONDS_HELP: Final = "Time a cache hit took to look up, from the call's arrival at the cache."
# As a Histogram writes its bounds (Go's float format, which for these is Python's repr).
_BUCKET_NAMES: Final = (*(repr(bound) for bound in HIT_BUCKETS), "+Inf")


class HitTally:
    """The hits of one label set, as plain numbers under one lock."""

    __slots__ = ("__weakref__", "_lock", "buckets", "count", "saved", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.saved = 0.0
        #: Per bucket (the last is +Inf), not cumulative: a hit adds to one.
        self.buckets = [0] * (len(HIT_BUCKETS) + 1)
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")

    def record(self, seconds: float, saved_usd: float | None) -> None:
        """Count a hit that took ``seconds`` and saved ``saved_usd`` (None: not priced)."""
        index = bisect.bisect_left(HIT_BUCKETS, seconds)  # the first bound >= seconds
        with self._lock:
            self.count += 1
            self.seconds += seconds
            self.buckets[index] += 1
            if saved_usd:
                self.saved += saved_usd

    def snapshot(self) -> tuple[int, float, float, list[int]]:
        """count, seconds, saved and the buckets, read together."""
        with self._lock:
            return self.count, self.seconds, self.saved, list(self.buckets)


class HitTallies:
    """The tallies by label values, and the collector that exports them.

    ``labels``: the counters' label names; the histogram's are ``provider``
    and ``tier`` (see :mod:`exllm_py.metrics.prometheus_instruments`).
    """

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = tuple(labels)
        self._tallies: dict[tuple[str, ...], HitTally] = {}
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")

    def __repr__(self) -> str:
        return f"<HitTallies {len(self._tallies)} label sets>"

    def slot(self, values: tuple[str, ...]) -> HitTally:
        """The tally of one set of label values (made on first use)."""
        with self._lock:
            tally = self._tallies.get(values)
            if tally is None:
                tally = self._tallies[values] = HitTally()
            return tally

    def describe(self) -> list[Metric]:
        # Names only: the registry refuses another collector of the same names.
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        hits, saved, seconds = self._families()
        with self._lock:
            tallies = list(self._tallies.items())
        # The histogram's label set is coarser: tallies that share it are summed.
        histograms: dict[tuple[str, str], tuple[float, list[int]]] = {}
        provider, tier = self.labels.index("provider"), self.labels.index("tier")
        for values, tally in tallies:
            count, spent, cost, buckets = tally.snapshot()
            hits.add_metric(values, count)
            saved.add_metric(values, cost)
            key = (values[provider], values[tier])
            total, counts = histograms.get(key, (0.0, [0] * len(buckets)))
            histograms[key] = (total + spent, [a + b for a, b in zip(counts, buckets, strict=True)])
        for key, (total, counts) in histograms.items():
            seconds.add_metric(key, _cumulative(counts), total)
        yield from (hits, saved, seconds)

    def _families(self) -> tuple[CounterMetricFamily, CounterMetricFamily, HistogramMetricFamily]:
        return (
            CounterMetricFamily(HITS, HITS_HELP, labels=self.labels),
            CounterMetricFamily(SAVED, SAVED_HELP, labels=self.labels),
            HistogramMetricFamily(HIT_SECONDS, HIT_SECONDS_HELP, labels=("provider", "tier")),
        )


class HitChildren:
    """The hits of one label set, in ``prometheus_client``'s own metrics (multiprocess mode)."""

    __slots__ = ("hits", "saved", "seconds")

    def __init__(self, hits: Counter, seconds: Histogram, saved: Counter) -> None:
        self.hits = hits
        self.seconds = seconds
        self.saved = saved

    def record(self, seconds: float, saved_usd: float | None) -> None:
        """Count a hit that took ``seconds`` and saved ``saved_usd`` (None: not priced)."""
        self.hits.inc()
        self.seconds.observe(seconds)
        if saved_usd:
            self.saved.inc(saved_usd)


def hit_metrics(labels: Sequence[str]) -> tuple[Counter, Histogram, Counter]:
    """The hits counter, the lookup histogram and the saved cost counter, unregistered."""
    return (
        Counter(HITS, HITS_HELP, labels, registry=None),
        Histogram(
            HIT_SECONDS, HIT_SECONDS_HELP, ("provider", "tier"), registry=None, buckets=HIT_BUCKETS
        ),
        Counter(SAVED, SAVED_HELP, labels, registry=None),
    )


def _cumulative(counts: list[int]) -> list[tuple[str, float]]:
    """Per-bucket counts as the exposition wants them: each bucket counts all below it too."""
    running = 0
    cumulative = []
    for name, count in zip(_BUCKET_NAMES, counts, strict=True):
        running += count
        cumulative.append((name, float(running)))
    return cumulative
