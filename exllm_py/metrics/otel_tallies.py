"""What the OpenTelemetry bridge counts itself, so that a cache hit never calls the SDK.

One measurement through the OpenTelemetry SDK costs about as much as a
whole cache hit (the SDK checks the attributes, builds a measurement and
hashes the attributes again for each metric reader), so a hit that
recorded its counters and its duration through the SDK would take several
times as long. Instead a hit adds to a :class:`CallTally` and appends its
duration there: one short locked update. The SDK reads the tallies when a
metric reader collects:

- the call counters (hits, misses, puts, saved cost) are observable
  counters whose callbacks report the tallies' totals;
- the hit durations are recorded into the real histogram by
  :meth:`Tallies.flush`, a callback of the hits counter: the SDK calls
  every callback of a collection before it reads any instrument, so they
  are in the collection that flushed them. Each is recorded as it was
  measured: a view with buckets of its own sees the true values.

A collection thus does the SDK's work for the hits since the one before,
in the reader's thread. At most :data:`MAX_PENDING` durations wait in a
tally: past that (a reader that collects rarely, or none set up), a hit
records its duration through the SDK at once, so memory stays bounded and
no measurement is lost.
"""

from __future__ import annotations

import array
import threading
from collections.abc import Iterator, Mapping
from typing import Final

from opentelemetry.metrics import CallbackOptions, Histogram, Observation

from exllm_py.forksafe import renew_after_fork

__all__ = ["MAX_PENDING", "CallTally", "Tallies"]

#: Hit durations a tally holds between collections (8 bytes each).
MAX_PENDING: Final = 1 << 16


class CallTally:
    """The running totals of one set of call attributes, and its hit durations not yet recorded.

    ``attributes`` label the counters; ``duration_attributes`` (fewer) the
    hit durations, recorded into ``histogram``.
    """

    __slots__ = (
        "__weakref__",
        "_durations",
        "_lock",
        "attributes",
        "duration_attributes",
        "histogram",
        "hits",
        "misses",
        "puts",
        "saved_cost",
    )

    def __init__(
        self,
        attributes: Mapping[str, str],
        duration_attributes: Mapping[str, str],
        histogram: Histogram,
    ) -> None:
        self.attributes = attributes
        self.duration_attributes = duration_attributes
        self.histogram = histogram
        self.hits = self.misses = self.puts = 0
        self.saved_cost = 0.0
        self._durations = array.array("d")
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")

    def __repr__(self) -> str:
        return f"<CallTally hits={self.hits} misses={self.misses} puts={self.puts}>"

    def __len__(self) -> int:
        """How many hit durations wait for the next collection."""
        return len(self._durations)

    def hit(self, seconds: float, saved_cost: float | None) -> None:
        with self._lock:
            self.hits += 1
            if saved_cost:
                self.saved_cost += saved_cost
            if len(self._durations) < MAX_PENDING:
                self._durations.append(seconds)
                return
        self.histogram.record(seconds, self.duration_attributes)

    def miss(self) -> None:
        with self._lock:
            self.misses += 1

    def put(self) -> None:
        with self._lock:
            self.puts += 1

    def flush(self) -> None:
        """Record the waiting hit durations into the histogram."""
        with self._lock:
            durations, self._durations = self._durations, array.array("d")
        record, attributes = self.histogram.record, self.duration_attributes
        for seconds in durations:
            record(seconds, attributes)


class Tallies:
    """A meter provider's tallies, one per set of call attributes; the callbacks read them."""

    def __init__(self, hit_duration: Histogram) -> None:
        self.hit_duration = hit_duration
        self._calls: dict[tuple[tuple[str, str], ...], CallTally] = {}
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")

    def __repr__(self) -> str:
        return f"<Tallies {len(self._calls)}>"

    def call(
        self, attributes: Mapping[str, str], duration_attributes: Mapping[str, str]
    ) -> CallTally:
        """The tally of these call attributes (one per distinct set, made on first use).

        ``duration_attributes`` must be a function of ``attributes``
        (a subset of them): the first call for a set says them.
        """
        key = tuple(sorted(attributes.items()))
        with self._lock:
            found = self._calls.get(key)
            if found is None:
                found = CallTally(attributes, duration_attributes, self.hit_duration)
                self._calls[key] = found
            return found

    def pending(self) -> int:
        """How many hit durations wait for the next collection, in every tally."""
        return sum(len(tally) for tally in self._tallies())

    # The callbacks, called by a collection (``_options``: its timeout, which these
    # few reads do not need).

    def hits(self, _options: CallbackOptions) -> Iterator[Observation]:
        return (
            Observation(tally.hits, tally.attributes) for tally in self._tallies() if tally.hits
        )

    def misses(self, _options: CallbackOptions) -> Iterator[Observation]:
        tallies = self._tallies()
        return (Observation(tally.misses, tally.attributes) for tally in tallies if tally.misses)

    def puts(self, _options: CallbackOptions) -> Iterator[Observation]:
        return (
            Observation(tally.puts, tally.attributes) for tally in self._tallies() if tally.puts
        )

    def saved_cost(self, _options: CallbackOptions) -> Iterator[Observation]:
        tallies = self._tallies()
        return (
            Observation(tally.saved_cost, tally.attributes) for tally in tallies if tally.saved_cost
        )

    def flush(self, _options: CallbackOptions) -> Iterator[Observation]:
        """Record the pending hit durations; observes nothing itself."""
        for tally in self._tallies():
            tally.flush()
        return iter(())

    def _tallies(self) -> list[CallTally]:
        with self._lock:
            return list(self._calls.values())
