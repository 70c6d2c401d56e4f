"""The OpenTelemetry instruments of the bridge, made once per meter provider.

OpenTelemetry cannot take an instrument back: a meter asked again for an
instrument it has returns the first one, callbacks and all. So the
instruments are made once per meter provider and kept (weakly, by
provider) for as long as the provider lives: a bridge installed again on
it records through the same instruments, whose callbacks read the same
:class:`~exllm_py.metrics.otel_tallies.Tallies` (so the counters never go
back) and :class:`~exllm_py.metrics.otel_stores.WatchedStores`.

Hits, misses, puts and saved cost are observable counters over the
tallies (see :mod:`exllm_py.metrics.otel_tallies` for why); exported, they
are monotonic sums like the synchronous counters.

Names, units and what they count (attributes: see :mod:`exllm_py.metrics.otel`):

=============================  ===========  ==============================================
``exllm.cache.hits``           ``{call}``   calls answered from the cache
``exllm.cache.misses``         ``{call}``   calls the cache could not answer
``exllm.cache.puts``           ``{entry}``  answers stored
``exllm.cache.evictions``      ``{entry}``  entries removed, by ``reason``
``exllm.cache.errors``         ``{error}``  store failures, by ``reason``
``exllm.cache.saved_cost``     ``USD``      what the hits would have cost
``exllm.cache.hit.duration``   ``s``        a hit's lookup (histogram)
``exllm.cache.miss.duration``  ``s``        the provider call behind an answer stored
``gen_ai.client.token.usage``  ``{token}``  tokens of those provider calls (histogram)
``exllm.request.retries``      ``{call}``   provider calls tried again, by ``reason``
``exllm.test_cache.*``         ``{call}``   ``hits``, ``misses``, ``saves``, ``errors``
``exllm.cache.store.entries``  ``{entry}``  entries per watched store (gauge)
``exllm.cache.store.size``     ``By``       bytes per watched store (gauge)
=============================  ===========  ==============================================

An OpenTelemetry Collector exporting to Prometheus turns these into the
Prometheus bridge's names (``exllm_cache_hits_total``,
``exllm_cache_hit_duration_seconds``...), with the same ``reason``,
``store``, ``tier`` and ``namespace`` labels.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Sequence

from opentelemetry.metrics import CallbackT as Callback
from opentelemetry.metrics import Counter, Histogram, Meter, MeterProvider, get_meter

from exllm_py import __version__
from exllm_py.forksafe import renew_after_fork
from exllm_py.metrics.buckets import HIT_BUCKETS, MISS_BUCKETS
from exllm_py.metrics.otel_semconv import TOKEN_BUCKETS, TOKEN_USAGE
from exllm_py.metrics.otel_stores import WatchedStores
from exllm_py.metrics.otel_tallies import Tallies

__all__ = ["METER_NAME", "Instruments", "instruments_for"]

#: The instrumentation scope: the meter every instrument comes from.
METER_NAME = "exllm_py"

_made: weakref.WeakKeyDictionary[MeterProvider, Instruments] = weakref.WeakKeyDictionary()
_made_lock = threading.Lock()
renew_after_fork(sys.modules[__name__], "_made_lock")


def instruments_for(provider: MeterProvider) -> Instruments:
    """The instruments for ``provider``, made on its first use."""
    with _made_lock:
        made = _made.get(provider)
        if made is None:
            made = _made[provider] = Instruments(get_meter(METER_NAME, __version__, provider))
        return made


class Instruments:
    """Every instrument of the bridge, from one meter, and what the asynchronous ones read.

    The call counters are observable: they report :attr:`tallies`, which the
    hit path adds to without calling the SDK (:mod:`exllm_py.metrics.otel_tallies`).
    """

    def __init__(self, meter: Meter) -> None:
        self.hit_duration = _histogram(
            meter,
            "exllm.cache.hit.duration",
            "s",
            "Time a cache hit took to look up, from the call's arrival at the cache.",
            HIT_BUCKETS,
        )
        self.tallies = Tallies(self.hit_duration)
        tallies = self.tallies
        # The pending hit durations are recorded by the hits counter's collection.
        _observed(
            meter, "hits", [tallies.hits, tallies.flush], "{call}", "Calls answered from the cache."
        )
        _observed(
            meter,
            "misses",
            [tallies.misses],
            "{call}",
            "Calls the cache could not answer (provider calls).",
        )
        _observed(meter, "puts", [tallies.puts], "{entry}", "Answers stored in the cache.")
        _observed(
            meter,
            "saved_cost",
            [tallies.saved_cost],
            "USD",
            "What the hits would have cost at the provider.",
        )
        self.evictions = _counter(meter, "evictions", "{entry}", "Entries removed, by reason.")
        self.errors = _counter(
            meter, "errors", "{error}", "Cache store failures (timeouts, breaker), by reason."
        )
        self.miss_duration = _histogram(
            meter,
            "exllm.cache.miss.duration",
            "s",
            "Time the provider took to produce an answer the cache then stored.",
            MISS_BUCKETS,
        )
        self.token_usage = _histogram(
            meter,
            TOKEN_USAGE,
            "{token}",
            "Tokens of the provider calls whose answers the cache stored.",
            TOKEN_BUCKETS,
        )
        self.retries = meter.create_counter(
            "exllm.request.retries", "{call}", "Provider calls tried again, by reason."
        )
        self.test_hits = _test_counter(meter, "hits", "Requests replayed from cassettes.")
        self.test_misses = _test_counter(
            meter, "misses", "Requests no cassette interaction matched."
        )
        self.test_saves = _test_counter(meter, "saves", "Cassettes written.")
        self.test_errors = _test_counter(meter, "errors", "Test cache failures, by error type.")
        self.stores = WatchedStores()
        meter.create_observable_gauge(
            "exllm.cache.store.entries",
            [self.stores.entries],
            "{entry}",
            "Entries a watched store holds, read at collection time.",
        )
        meter.create_observable_gauge(
            "exllm.cache.store.size",
            [self.stores.sizes],
            "By",
            "Bytes a watched store's entries take, read at collection time.",
        )

    def __repr__(self) -> str:
        return f"<Instruments {self.tallies!r} {self.stores!r}>"


def _observed(
    meter: Meter, name: str, callbacks: list[Callback], unit: str, description: str
) -> None:
    meter.create_observable_counter(f"exllm.cache.{name}", callbacks, unit, description)


def _counter(meter: Meter, name: str, unit: str, description: str) -> Counter:
    return meter.create_counter(f"exllm.cache.{name}", unit, description)


def _test_counter(meter: Meter, name: str, description: str) -> Counter:
    return meter.create_counter(f"exllm.test_cache.{name}", "{call}", description)


def _histogram(
    meter: Meter, name: str, unit: str, description: str, buckets: Sequence[float]
) -> Histogram:
    # The advisory boundaries are in the API since 1.23; the otel extra asks for >= 1.25.
    return meter.create_histogram(
        name, unit, description, explicit_bucket_boundaries_advisory=buckets
    )
