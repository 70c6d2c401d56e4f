"""Telemetry: one event bus that both cache strategies report through.

Handlers are attached under an id for a list of event names (tuples such as
``("exllm", "cache", "hit")``) and called synchronously with
``(event, measurements, metadata)``. A handler that raises is detached and
the failure logged; it never breaks the call that emitted the event.

Every event is also logged through structlog (logger ``exllm_py``), see
:mod:`exllm_py.telemetry.structlog_sink`. Emitters on hot paths ask
:func:`wanted` first, so that with no handler attached and debug logging off
an event costs a dict lookup and a clock read. structlog's level is re-read
at most once a second (:func:`refresh_logging` re-reads it at once).

May import: :mod:`exllm_py.telemetry.events`, :mod:`exllm_py.forksafe` (a
leaf) and structlog, nothing else of the package, so that every layer can
report through it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from exllm_py.forksafe import renew_after_fork
from exllm_py.telemetry import structlog_sink
from exllm_py.telemetry.events import (
    CACHE_ERROR,
    CACHE_EVICT,
    CACHE_HIT,
    CACHE_MISS,
    CACHE_PUT,
    REQUEST_RETRY,
    TEST_CACHE_ERROR,
    TEST_CACHE_HIT,
    TEST_CACHE_MISS,
    TEST_CACHE_SAVE,
    Event,
)

__all__ = [
    "CACHE_ERROR",
    "CACHE_EVICT",
    "CACHE_HIT",
    "CACHE_MISS",
    "CACHE_PUT",
    "REQUEST_RETRY",
    "TEST_CACHE_ERROR",
    "TEST_CACHE_HIT",
    "TEST_CACHE_MISS",
    "TEST_CACHE_SAVE",
    "Event",
    "Handler",
    "attach",
    "detach",
    "emit",
    "handlers",
    "refresh_logging",
    "wanted",
]

Handler: TypeAlias = Callable[[Event, dict[str, Any], dict[str, Any]], object]

_lock = threading.Lock()
renew_after_fork(sys.modules[__name__], "_lock")
_by_id: dict[str, tuple[frozenset[Event], Handler]] = {}
# event -> handlers, rebuilt on attach/detach so emit() reads one immutable tuple.
_by_event: dict[Event, tuple[tuple[str, Handler], ...]] = {}


def attach(handler_id: str, events: Iterable[Event], handler: Handler) -> None:
    """Call ``handler`` for each of ``events``; a second attach with the same id replaces it."""
    names = frozenset(tuple(event) for event in events)
    if not names:
        raise ValueError("attach() needs at least one event, e.g. ('exllm', 'cache', 'hit')")
    with _lock:
        _by_id[handler_id] = (names, handler)
        _rebuild()


def detach(handler_id: str) -> bool:
    """Stop calling the handler attached under ``handler_id``; False if there was none."""
    with _lock:
        found = _by_id.pop(handler_id, None) is not None
        _rebuild()
    return found


def handlers() -> Mapping[str, frozenset[Event]]:
    """The attached handler ids and the events each listens to."""
    with _lock:
        return {handler_id: names for handler_id, (names, _) in _by_id.items()}


def refresh_logging() -> None:
    """Pick up a new structlog level now; otherwise a change is seen within a second."""
    structlog_sink.refresh()


def wanted(event: Event) -> bool:
    """Whether emitting ``event`` would reach a handler or the log right now."""
    return event in _by_event or structlog_sink.enabled_for(event)


def emit(event: Event, measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
    """Report ``event`` to its handlers and the log. Never raises."""
    for handler_id, handler in _by_event.get(event, ()):
        try:
            handler(event, measurements, metadata)
        except Exception as exc:  # a handler must never break the call
            detach(handler_id)
            with contextlib.suppress(Exception):
                structlog_sink.handler_failed(handler_id, event, exc)
    # Logging is the application's; a broken log setup must not break the call either.
    # (try/except rather than contextlib.suppress: this runs on every hit a handler sees.)
    try:  # noqa: SIM105
        structlog_sink.log(event, measurements, metadata)
    except Exception:
        pass


def _rebuild() -> None:
    global _by_event
    table: dict[Event, list[tuple[str, Handler]]] = {}
    for handler_id, (names, handler) in _by_id.items():
        for name in names:
            table.setdefault(name, []).append((handler_id, handler))
    _by_event = {name: tuple(entries) for name, entries in table.items()}
