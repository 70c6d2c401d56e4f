"""Snapshots of the production cache's counters, appended to a JSON Lines file over time.

``exllm-cache report --html`` draws such a file: hit rate and saved cost
over time, the models that saved the most, evictions by reason::

    from exllm_py.metrics.snapshots import SnapshotRecorder

    recorder = SnapshotRecorder("cache-snapshots.jsonl", interval=60)
    ...                       # the application makes its calls
    recorder.close()          # one last line, and the handler detached

A :class:`SnapshotRecorder` attaches to the telemetry bus and counts the
cache's hits (with the cost each saved, per model), misses, puts and
evictions (per reason). On the hit path that is a few additions under a
lock; the file is written by a daemon thread every ``interval`` seconds
and by :meth:`~SnapshotRecorder.close`. The format is in
:mod:`exllm_py.metrics.snapshot_format`.

Model names and eviction reasons are capped as the metric bridges cap their
labels (:mod:`exllm_py.metrics.labels`): a line stays small however many
model names callers make up.

Each line is appended with one ``write`` to a file opened ``O_APPEND``, so
the workers of a pre-forking server may share one file: their lines carry
their own ``recorder`` name. Create the recorder in each worker (after the
fork): a forked child does not inherit the parent's thread.

May import: :mod:`exllm_py.telemetry`, the other ``exllm_py.metrics``
modules, :mod:`exllm_py.forksafe` and the standard library.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

from exllm_py import telemetry
from exllm_py.forksafe import renew_after_fork
from exllm_py.metrics.labels import MAX_MODELS, MAX_REASONS, OTHER, Cap
from exllm_py.metrics.snapshot_format import Counters, ModelCounts, Snapshot

__all__ = ["SnapshotRecorder", "Wait"]

#: How the thread waits out an interval: ``wait(interval, closing)`` returns
#: ``True`` once ``closing`` is set (stop), ``False`` when it is time to write.
Wait: TypeAlias = Callable[[float, threading.Event], bool]

_EVENTS = (telemetry.CACHE_HIT, telemetry.CACHE_MISS, telemetry.CACHE_PUT, telemetry.CACHE_EVICT)


def _wait_out(interval: float, closing: threading.Event) -> bool:
    return closing.wait(interval)


class SnapshotRecorder:
    """Counts the cache's events and appends them to ``path`` every ``interval`` seconds.

    ``interval=None``: no thread; lines are written by :meth:`write` and
    :meth:`close` only. ``clock`` gives each line's ``at`` (epoch seconds);
    ``wait`` is how the thread waits between lines (see :data:`Wait`). The
    parent directory is created; a path that cannot be appended to fails here,
    not later in the thread. A line the thread could not write is skipped and
    its error kept in :attr:`last_error`; the next line still carries every
    count, since counts are cumulative.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        interval: float | None = 60.0,
        *,
        clock: Callable[[], float] = time.time,
        wait: Wait = _wait_out,
    ) -> None:
        if interval is not None and not 0 < interval < math.inf:
            raise ValueError(
                f"SnapshotRecorder interval must be positive, finite seconds "
                f"(or None for no thread), got {interval!r}"
            )
        self.path = Path(path)
        self.interval = interval
        self.name = secrets.token_hex(6)
        self.last_error: OSError | None = None
        self._clock = clock
        self._wait = wait
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        self._counts = _Tally()
        # (provider, model) as the events give them -> their counts in _counts.models.
        self._by_call: dict[tuple[object, object], list[float]] = {}
        self._models = Cap(MAX_MODELS)
        self._reasons = Cap(MAX_REASONS)
        self._closing = threading.Event()
        self._write_lock = threading.Lock()
        self._handler_id = f"exllm-snapshots-{self.name}"
        os.close(self._open_for_append())  # fail now, in the caller, if it cannot be written
        telemetry.attach(self._handler_id, _EVENTS, self._on_event)
        self._thread: threading.Thread | None = None
        if interval is not None:
            self._thread = threading.Thread(
                target=self._run, args=(interval,), name=f"exllm-snapshots-{self.name}", daemon=True
            )
            self._thread.start()

    def __repr__(self) -> str:
        return f"<SnapshotRecorder {self.name} {str(self.path)!r} interval={self.interval}>"

    def __enter__(self) -> SnapshotRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closing.is_set()

    def counters(self) -> Counters:
        """The counts so far (what the next line will say, unless more events come)."""
        with self._lock:
            return self._counts.frozen()

    def snapshot(self) -> Snapshot:
        """The counts so far, stamped with the clock's time and this recorder's name."""
        return Snapshot(at=self._clock(), counters=self.counters(), recorder=self.name)

    def write(self) -> Snapshot:
        """Append a line now; the snapshot written. ``OSError`` if the file refuses it."""
        snapshot = self.snapshot()
        line = snapshot.to_line()
        # One write per line, so that lines of other writers never cut into it.
        with self._write_lock:
            fd = self._open_for_append()
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        return snapshot

    def close(self) -> None:
        """Stop counting and the thread, then append the last line. A second call does nothing."""
        with self._lock:
            if self._closing.is_set():
                return
            self._closing.set()
        telemetry.detach(self._handler_id)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self.write()

    def _open_for_append(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _run(self, interval: float) -> None:
        while not self._wait(interval, self._closing):
            try:
                self.write()
            except OSError as exc:  # a full disk must not end the recording for good
                self.last_error = exc

    def _on_event(
        self, event: telemetry.Event, measurements: dict[str, Any], metadata: dict[str, Any]
    ) -> None:
        if event == telemetry.CACHE_HIT:
            saved = _usd(measurements.get("saved_cost_usd"))
            call = (metadata.get("provider"), metadata.get("model"))
            with self._lock:
                counts = self._by_call.get(call) or self._model_counts(call)
                counts[0] += 1
                counts[1] += saved
                self._counts.hits += 1
                self._counts.saved_cost_usd += saved
        elif event == telemetry.CACHE_MISS:
            with self._lock:
                self._counts.misses += 1
        elif event == telemetry.CACHE_PUT:
            with self._lock:
                self._counts.puts += 1
        else:
            reason = self._reasons(str(metadata.get("reason")))
            with self._lock:
                self._counts.evictions[reason] = self._counts.evictions.get(reason, 0) + 1

    def _model_counts(self, call: tuple[object, object]) -> list[float]:
        """The [hits, saved] of a call's model, the first time it is seen (under the lock)."""
        name = self._models(f"{call[0]}/{call[1]}")
        counts = self._counts.models.setdefault(name, [0, 0.0])
        # The calls counted as OTHER have no bound: looked up again each time, never remembered.
        if name != OTHER:
            self._by_call[call] = counts
        return counts


class _Tally:
    """The mutable counts behind the lock (:class:`Counters` is their frozen copy)."""

    __slots__ = ("evictions", "hits", "misses", "models", "puts", "saved_cost_usd")

    def __init__(self) -> None:
        self.hits = self.misses = self.puts = 0
        self.saved_cost_usd = 0.0
        self.evictions: dict[str, int] = {}
        self.models: dict[str, list[float]] = {}  # name -> [hits, saved]

    def frozen(self) -> Counters:
        models: Mapping[str, ModelCounts] = {
            name: ModelCounts(int(hits), saved) for name, (hits, saved) in self.models.items()
        }
        return Counters(
            self.hits, self.misses, self.puts, self.saved_cost_usd, dict(self.evictions), models
        )


def _usd(value: object) -> float:
    if type(value) is float and math.isfinite(value):  # a price: the common case, checked first
        return value
    # A hit of a free model, or of a response with no price, saved nothing.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return float(value)
