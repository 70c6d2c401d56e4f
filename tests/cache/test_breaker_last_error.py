"""What a ``CircuitBreaker`` remembers of its store's errors: ``last_error``, redacted.

``strategy.health()`` shows it; the breaker is driven by hand here with a
fake clock, as in ``test_breaker.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import telemetry
from exllm_py.cache.stores.breaker import CircuitBreaker
from tests.clocks import FakeClock

Report = tuple[dict[str, Any], dict[str, Any]]
PASSWORD = "hunter2-in-the-url"
LEAKY = ConnectionError(f"cannot reach redis://default:{PASSWORD}@10.0.0.7:6379/0")


@pytest.fixture
def reports() -> Iterator[list[Report]]:
    """The (measurements, metadata) of every ("exllm", "cache", "error") event in the test."""
    seen: list[Report] = []
    telemetry.attach(
        "test-breaker-last-error",
        [telemetry.CACHE_ERROR],
        lambda _event, measurements, metadata: seen.append((measurements, metadata)),
    )
    yield seen
    telemetry.detach("test-breaker-last-error")


def _breaker(clock: FakeClock, threshold: int = 2) -> CircuitBreaker:
    return CircuitBreaker(threshold, 10.0, name="l2", clock=clock)


class TestFailures:
    """A failure with an error is remembered: reason, type, message, and when."""

    def test_a_new_breaker_remembers_nothing(self) -> None:
        assert _breaker(FakeClock()).last_error is None

    def test_the_failure_is_remembered_with_both_clocks(self) -> None:
        clock = FakeClock()
        breaker = _breaker(clock)
        before = time.time()
        breaker.failure("timeout", TimeoutError("no answer in 50 ms"))
        error = breaker.last_error
        assert error is not None
        assert (error.reason, error.type, error.message) == (
            "timeout",
            "TimeoutError",
            "no answer in 50 ms",
        )
        assert before <= error.at <= time.time()
        assert error.clock_at == clock()

    def test_the_latest_error_replaces_the_earlier_one(self) -> None:
        clock = FakeClock()
        breaker = _breaker(clock, threshold=5)
        breaker.failure("timeout", TimeoutError("first"))
        clock.tick(2)
        breaker.failure("connection", ConnectionRefusedError("second"))
        error = breaker.last_error
        assert error is not None
        assert (error.reason, error.message, error.clock_at) == ("connection", "second", clock())

    def test_a_failure_without_an_error_keeps_the_last_one(self) -> None:
        breaker = _breaker(FakeClock(), threshold=5)
        breaker.failure("timeout", TimeoutError("with a cause"))
        breaker.failure("connection")
        error = breaker.last_error
        assert error is not None
        assert error.message == "with a cause"

    def test_a_success_does_not_forget_it(self) -> None:
        breaker = _breaker(FakeClock())
        breaker.failure("timeout", TimeoutError("earlier"))
        breaker.success()
        assert breaker.state == "closed"
        error = breaker.last_error
        assert error is not None
        assert error.message == "earlier"


class TestReport:
    """``report()`` remembers an error that is no failure: the state and the count stay."""

    def test_it_is_remembered_and_reported_but_not_counted(self, reports: list[Report]) -> None:
        breaker = _breaker(FakeClock(), threshold=1)
        breaker.report("redis_error", ValueError("WRONGTYPE"), key="k1")
        assert (breaker.state, breaker.consecutive_failures) == ("closed", 0)
        error = breaker.last_error
        assert error is not None
        assert (error.reason, error.type, error.message) == (
            "redis_error",
            "ValueError",
            "WRONGTYPE",
        )
        assert reports == [
            (
                {},
                {
                    "store": "l2",
                    "reason": "redis_error",
                    "state": "closed",
                    "key": "k1",
                    "error": "ValueError: WRONGTYPE",
                },
            )
        ]

    def test_a_report_without_an_error_changes_nothing_remembered(
        self, reports: list[Report]
    ) -> None:
        breaker = _breaker(FakeClock())
        breaker.report("stats_failed")
        assert breaker.last_error is None
        assert [metadata["reason"] for _, metadata in reports] == ["stats_failed"]


class TestRedaction:
    """A credential in an error's message reaches neither ``last_error`` nor the telemetry."""

    def test_a_url_password_is_redacted_when_remembered(self) -> None:
        breaker = _breaker(FakeClock())
        breaker.failure("connection", LEAKY)
        error = breaker.last_error
        assert error is not None
        assert PASSWORD not in error.message
        assert "10.0.0.7:6379" in error.message  # the rest stays, to act on

    def test_a_url_password_is_redacted_in_the_reports(self, reports: list[Report]) -> None:
        breaker = _breaker(FakeClock())
        breaker.failure("connection", LEAKY)
        breaker.report("redis_error", LEAKY)
        assert len(reports) == 2
        assert all(PASSWORD not in metadata["error"] for _, metadata in reports)
