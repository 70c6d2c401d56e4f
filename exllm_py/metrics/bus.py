"""Which method of a bridge's recorder handles which telemetry event, for both bridges.

A recorder (Prometheus's instruments, OpenTelemetry's recorder) has one
``on_<what>`` method per event; :func:`handlers_of` pairs them with the
events, so the two bridges listen to the same events by construction.

May import: :mod:`exllm_py.telemetry` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from exllm_py import telemetry

__all__ = ["EVENT_METHODS", "handlers_of"]

#: Each event a bridge listens to, and the recorder method that handles it.
EVENT_METHODS: Final[Mapping[telemetry.Event, str]] = {
    telemetry.CACHE_HIT: "on_hit",
    telemetry.CACHE_MISS: "on_miss",
    telemetry.CACHE_PUT: "on_put",
    telemetry.CACHE_EVICT: "on_evict",
    telemetry.CACHE_ERROR: "on_error",
    telemetry.REQUEST_RETRY: "on_retry",
    telemetry.TEST_CACHE_HIT: "on_test_hit",
    telemetry.TEST_CACHE_MISS: "on_test_miss",
    telemetry.TEST_CACHE_SAVE: "on_test_save",
    telemetry.TEST_CACHE_ERROR: "on_test_error",
}


def handlers_of(recorder: object) -> Mapping[telemetry.Event, telemetry.Handler]:
    """``recorder``'s bound ``on_<what>`` method for each event of :data:`EVENT_METHODS`."""
    return {event: getattr(recorder, name) for event, name in EVENT_METHODS.items()}
