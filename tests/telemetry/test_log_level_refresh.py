"""structlog's level is re-read at most once a second; ``refresh_logging()`` re-reads it at once.

The README promises the first half (reading structlog's configuration
costs about as much as the rest of a cache hit's bookkeeping); the
``telemetry.refresh_logging`` docstring adds that without it a change "is
seen within a second". The sink's monotonic clock is replaced by a fake one,
so the tests step through the second instead of sleeping.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterator

import pytest
import structlog

from exllm_py import telemetry
from exllm_py.telemetry import structlog_sink
from tests.clocks import FakeClock

HIT = telemetry.CACHE_HIT  # logged at debug


def _log_at(level: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The sink's monotonic clock, faked; structlog configured at debug and read at time 0."""
    fake = FakeClock(1_000.0)
    monkeypatch.setattr(structlog_sink, "time", types.SimpleNamespace(monotonic=fake))
    assert not any(HIT in events for events in telemetry.handlers().values())
    _log_at(logging.DEBUG)
    telemetry.refresh_logging()
    yield fake
    structlog.reset_defaults()
    monkeypatch.undo()
    telemetry.refresh_logging()


class TestAtMostOnceASecond:
    """A new level is not read before a second has passed since the last reading."""

    def test_debug_is_wanted_at_first(self, clock: FakeClock) -> None:
        assert telemetry.wanted(HIT) is True

    def test_a_raised_level_is_not_seen_right_away(self, clock: FakeClock) -> None:
        _log_at(logging.WARNING)
        assert telemetry.wanted(HIT) is True

    def test_nor_at_0_99_seconds(self, clock: FakeClock) -> None:
        _log_at(logging.WARNING)
        clock.tick(0.99)
        assert telemetry.wanted(HIT) is True

    def test_the_reading_itself_waits_a_second_again(self, clock: FakeClock) -> None:
        """After a re-read at 1 s, the next change waits until 2 s."""
        clock.tick(1.0)
        assert telemetry.wanted(HIT) is True  # re-read here: still debug
        _log_at(logging.WARNING)
        clock.tick(0.99)
        assert telemetry.wanted(HIT) is True
        clock.tick(0.01)
        assert telemetry.wanted(HIT) is False


class TestWithinASecond:
    """A new level is read once a second has passed, without anyone asking."""

    def test_a_raised_level_is_seen_at_1_second(self, clock: FakeClock) -> None:
        _log_at(logging.WARNING)
        clock.tick(1.0)
        assert telemetry.wanted(HIT) is False

    def test_a_lowered_level_is_seen_at_1_second(self, clock: FakeClock) -> None:
        _log_at(logging.WARNING)
        telemetry.refresh_logging()
        assert telemetry.wanted(HIT) is False
        _log_at(logging.DEBUG)
        clock.tick(0.99)
        assert telemetry.wanted(HIT) is False
        clock.tick(0.01)
        assert telemetry.wanted(HIT) is True


class TestRefreshLogging:
    """refresh_logging() makes the new level count at once."""

    def test_a_raised_level_counts_at_once(self, clock: FakeClock) -> None:
        _log_at(logging.WARNING)
        telemetry.refresh_logging()
        assert telemetry.wanted(HIT) is False

    def test_a_lowered_level_counts_at_once(self, clock: FakeClock) -> None:
        _log_at(logging.ERROR)
        telemetry.refresh_logging()
        assert telemetry.wanted(HIT) is False
        _log_at(logging.DEBUG)
        telemetry.refresh_logging()
        assert telemetry.wanted(HIT) is True

    def test_errors_follow_the_level_too(self, clock: FakeClock) -> None:
        """A cache error (a warning) is not wanted when only errors are logged."""
        _log_at(logging.ERROR)
        telemetry.refresh_logging()
        assert telemetry.wanted(telemetry.CACHE_ERROR) is False
        _log_at(logging.WARNING)
        telemetry.refresh_logging()
        assert telemetry.wanted(telemetry.CACHE_ERROR) is True
