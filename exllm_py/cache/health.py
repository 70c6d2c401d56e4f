"""``strategy.health()``: per store, whether it answers, its breaker, hit rate and last error.

One entry per store, named by kind (``memory``, ``disk``, ``redis``: a
store class's name without ``Store``, lowercased). A ``TieredStore`` is
not a store of its own but its two tiers, ``l1:<kind>`` and ``l2:<kind>``.
Each entry (:class:`StoreHealth`, shown by :meth:`StoreHealth.to_mapping`)
says:

- ``ok``: the store answers now. A store that can fail offers ``ping()``
  (``RedisStore``: a ``PING`` within its ``timeout``; ``DiskStore``: a
  trivial read), which raises when it cannot answer; a store without one
  (``MemoryStore``) lives in this process and always answers. The probe
  runs outside the store's breaker, as ``RedisStore.stats()``'s scan does:
  asking about health never cuts live traffic off a store, and it tells
  whether a store whose breaker is open has come back. A failed probe is
  reported (``reason="health_check"``) and becomes the ``last_error``.
- ``breaker``: the state of the store's circuit breaker (``closed``,
  ``open``, ``half_open``, as of its last use), ``None`` for a store with none.
- ``hit_rate``: the share of the strategy's calls the store answered,
  over the last ``window`` seconds (five minutes by default); ``None``
  when no call reached it then. ``lookups`` is how many did, ``window_s``
  the span the figure covers. A lone store's figure is the strategy's hit
  rate (single-flight followers count as hits, as in ``stats()``, and
  misses are provider calls: a leader's second look at the store is not
  counted twice). L1 of a tiered store is reached by every call, L2 by
  those L1 did not answer.
- ``last_error``: the last error reported for the store (reason, type,
  redacted message, ``at`` in epoch seconds, ``age_s``), or ``None``.

The window costs the hit path nothing: it is derived from the cumulative
counters the strategy and its stores already keep, sampled when health is
asked for. Each call keeps a sample (time on the store's ``clock``, hits,
misses); the rate is the difference between now and the oldest sample
within the last ``window`` seconds, or, when health was not asked for
within it, the last sample before it (the figure then covers more than the
window: ``window_s`` says how much). The very first call has no earlier
sample and reports everything counted so far (``window_s`` ``None``).
Samples are kept at least ``window / 60`` seconds apart (the newest
excepted), so however often health is asked for, a store keeps about
sixty, and the window is exact to that resolution. Samples belong to
their strategy (weakly held); a strategy that cannot be weakly referenced
keeps none, and every call reports everything counted so far.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import attrs

from exllm_py.cache.arguments import MAX_TTL, check_seconds
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.breaker import CircuitBreaker, StoreError, report_cache_error
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.forksafe import renew_after_fork

__all__ = [
    "DEFAULT_WINDOW",
    "HitRate",
    "HitRateWindow",
    "StoreHealth",
    "astrategy_health",
    "health_of",
    "strategy_health",
]

#: The default span of ``hit_rate``, in seconds.
DEFAULT_WINDOW: Final = 300.0
#: Samples a window keeps apart: ``window / _RESOLUTION`` seconds at least.
_RESOLUTION: Final = 60
#: The ``reason`` a failed probe is reported with.
_PROBE_FAILED: Final = "health_check"


@attrs.frozen
class HitRate:
    """Hits and lookups over ``span`` seconds (``None``: everything counted so far)."""

    hits: int
    lookups: int
    span: float | None

    @property
    def rate(self) -> float | None:
        return self.hits / self.lookups if self.lookups else None


@attrs.frozen
class _Sample:
    at: float
    hits: int
    misses: int


class HitRateWindow:
    """The hit rate over the last ``window`` seconds, from cumulative counters sampled when asked.

    Thread-safe. :meth:`observe` takes the counters as of ``at`` and
    returns the rate since the baseline (see the module docstring).
    """

    def __init__(self, window: float = DEFAULT_WINDOW) -> None:
        self.window = window
        self.resolution = window / _RESOLUTION
        self._samples: deque[_Sample] = deque()
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")

    def __len__(self) -> int:
        """How many samples the window keeps now."""
        return len(self._samples)

    def __repr__(self) -> str:
        return f"<HitRateWindow {self.window:g}s samples={len(self._samples)}>"

    def observe(self, at: float, hits: int, misses: int) -> HitRate:
        """The hit rate up to ``at``, when the store had counted ``hits`` and ``misses``."""
        sample = _Sample(at, hits, misses)
        with self._lock:
            baseline = self._baseline(sample)
            self._keep(sample)
        if baseline is None:
            return HitRate(hits, hits + misses, None)
        new_hits = hits - baseline.hits
        return HitRate(new_hits, new_hits + misses - baseline.misses, at - baseline.at)

    def _baseline(self, sample: _Sample) -> _Sample | None:
        """The oldest sample within the window, else the newest before it; drops older ones."""
        samples = self._samples
        if samples and (
            sample.at < samples[-1].at
            or sample.hits < samples[-1].hits
            or sample.misses < samples[-1].misses
        ):
            samples.clear()  # the clock or the counters went back: start over
        start = sample.at - self.window
        while len(samples) > 1 and samples[0].at < start:
            samples.popleft()
        return samples[0] if samples else None

    def _keep(self, sample: _Sample) -> None:
        samples = self._samples
        if len(samples) > 1 and samples[-1].at - samples[-2].at < self.resolution:
            # The newest is too close to the one before to be kept: this one replaces it.
            samples[-1] = sample
        else:
            samples.append(sample)


@attrs.frozen
class StoreHealth:
    """One store's health (see the module docstring).

    ``last_error_age`` is how many seconds ago ``last_error`` happened, by
    the breaker's clock (``None`` with no error).
    """

    name: str
    ok: bool
    breaker: str | None
    hit_rate: HitRate
    last_error: StoreError | None = None
    last_error_age: float | None = None

    def to_mapping(self) -> dict[str, Any]:
        """What ``strategy.health()`` gives for the store: plain values, ready for JSON."""
        error = self.last_error
        return {
            "ok": self.ok,
            "breaker": self.breaker,
            "hit_rate": self.hit_rate.rate,
            "lookups": self.hit_rate.lookups,
            "window_s": self.hit_rate.span,
            "last_error": None
            if error is None
            else {
                "reason": error.reason,
                "type": error.type,
                "message": error.message,
                "at": error.at,
                "age_s": self.last_error_age,
            },
        }


class _Strategy(Protocol):
    """What health reads of a strategy (``ProductionStrategy``): its store and its counters."""

    @property
    def store(self) -> CacheStore: ...

    def stats(self) -> CacheStats: ...


@attrs.frozen
class _Part:
    """A store of the strategy, as health names it, and the lookups it saw and answered."""

    name: str
    store: CacheStore
    hits: int
    lookups: int


def strategy_health(
    strategy: _Strategy, window: float = DEFAULT_WINDOW
) -> dict[str, Mapping[str, Any]]:
    """The health of ``strategy``'s store (of each tier, for a ``TieredStore``), by store name."""
    check_seconds("health window", window, maximum=MAX_TTL)
    stats = strategy.stats()
    store = strategy.store
    now = store.clock()
    windows = _windows_of(strategy, window)
    health: dict[str, Mapping[str, Any]] = {}
    for part in _parts_of(store, stats.hits, stats.hits + stats.misses):
        rate = windows(part.name).observe(now, part.hits, part.lookups - part.hits)
        health[part.name] = health_of(part.store, part.name, rate).to_mapping()
    return health


async def astrategy_health(
    strategy: _Strategy, window: float = DEFAULT_WINDOW
) -> dict[str, Mapping[str, Any]]:
    """:func:`strategy_health` in a worker thread: probes wait on I/O, the event loop does not."""
    return await asyncio.to_thread(strategy_health, strategy, window)


def _parts_of(store: CacheStore, hits: int, lookups: int, prefix: str = "") -> list[_Part]:
    """``store``'s parts, each with its hits out of the lookups that reached it.

    A lone store answered ``hits`` of ``lookups``. A ``TieredStore``'s L1
    saw every lookup that reached the tiered store, and its L2 those that
    L1 did not answer.
    """
    if isinstance(store, TieredStore):
        tiers = store.tier_hits()
        return [
            *_parts_of(store.l1, tiers["l1"], lookups, f"{prefix}l1:"),
            *_parts_of(store.l2, tiers["l2"], lookups - tiers["l1"], f"{prefix}l2:"),
        ]
    kind = type(store).__name__
    return [_Part(prefix + (kind.removesuffix("Store") or kind).lower(), store, hits, lookups)]


def health_of(store: CacheStore, name: str, rate: HitRate) -> StoreHealth:
    """Probe ``store`` and read its breaker: its :class:`StoreHealth`, with ``rate``."""
    breaker = getattr(store, "breaker", None)
    if not isinstance(breaker, CircuitBreaker):
        breaker = None
    failure = _probe(store, breaker)
    if breaker is None:
        # No breaker to remember errors: the probe's, just now, is the only one known.
        if failure is None:
            return StoreHealth(name, True, None, rate)
        return StoreHealth(name, False, None, rate, StoreError.of(_PROBE_FAILED, failure, 0.0), 0.0)
    last = breaker.last_error
    age = None if last is None else max(0.0, breaker.clock() - last.clock_at)
    return StoreHealth(name, failure is None, breaker.state, rate, last, age)


def _probe(store: CacheStore, breaker: CircuitBreaker | None) -> Exception | None:
    """None if ``store`` answers its ``ping()`` (or has none), else the error, reported."""
    ping: Callable[[], object] | None = getattr(store, "ping", None)
    if ping is None:
        return None  # an in-process store: it answers whenever this code runs
    try:
        ping()
    except Exception as exc:  # whatever the backend raises: health reports, never raises
        if breaker is None:
            report_cache_error(type(store).__name__, _PROBE_FAILED, exc)
        else:
            breaker.report(_PROBE_FAILED, exc)  # remembered as its last error
        return exc
    return None


# The windows of each strategy, by store name and window length. Weak: they live
# as long as their strategy.
_WINDOWS: weakref.WeakKeyDictionary[object, dict[tuple[str, float], HitRateWindow]] = (
    weakref.WeakKeyDictionary()
)
_WINDOWS_LOCK = threading.Lock()
renew_after_fork(sys.modules[__name__], "_WINDOWS_LOCK")


def _windows_of(strategy: object, window: float) -> Callable[[str], HitRateWindow]:
    """The strategy's window of ``window`` seconds for a store name (made on first use)."""
    with _WINDOWS_LOCK:
        try:
            windows = _WINDOWS.setdefault(strategy, {})
        except TypeError:  # not weakly referenceable: no memory of samples
            windows = {}

    def of(name: str) -> HitRateWindow:
        with _WINDOWS_LOCK:
            found = windows.get((name, window))
            if found is None:
                found = windows[name, window] = HitRateWindow(window)
            return found

    return of
