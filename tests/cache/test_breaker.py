"""The circuit breaker's states and what it reports: ``exllm_py.cache.stores.breaker``.

The breaker is driven by hand here (``failure()``, ``success()``,
``allow()``) with a fake clock, and its ``("exllm", "cache", "error")``
events are read as an operator's handler would read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import telemetry
from exllm_py.cache.stores.breaker import CircuitBreaker, report_cache_error
from exllm_py.errors import ValidationError
from tests.clocks import FakeClock

Report = tuple[dict[str, Any], dict[str, Any]]


@pytest.fixture
def reports() -> Iterator[list[Report]]:
    """The (measurements, metadata) of every ("exllm", "cache", "error") event in the test."""
    seen: list[Report] = []
    telemetry.attach(
        "test-breaker-reports",
        [telemetry.CACHE_ERROR],
        lambda _event, measurements, metadata: seen.append((measurements, metadata)),
    )
    yield seen
    telemetry.detach("test-breaker-reports")


def _breaker(clock: FakeClock, threshold: int = 2, cooldown: float = 10.0) -> CircuitBreaker:
    return CircuitBreaker(threshold, cooldown, name="l2", clock=clock)


class TestFailureReports:
    """Each failure reports the store, the reason, the error, the state it left and the count."""

    def test_a_failure_below_the_threshold_reports_a_closed_breaker(
        self, reports: list[Report]
    ) -> None:
        _breaker(FakeClock()).failure("timeout", ConnectionError("refused by 10.0.0.7"))
        assert reports == [
            (
                {"consecutive_failures": 1},
                {
                    "store": "l2",
                    "reason": "timeout",
                    "state": "closed",
                    "error": "ConnectionError: refused by 10.0.0.7",
                },
            )
        ]

    def test_a_failure_without_an_error_reports_none(self, reports: list[Report]) -> None:
        _breaker(FakeClock()).failure("connection")
        [(_, metadata)] = reports
        assert "error" not in metadata
        assert metadata["reason"] == "connection"

    def test_the_opening_failure_reports_open_then_the_opening(self, reports: list[Report]) -> None:
        breaker = _breaker(FakeClock(), threshold=2, cooldown=7.5)
        breaker.failure("timeout")
        reports.clear()
        breaker.failure("timeout")
        assert reports == [
            ({"consecutive_failures": 2}, {"store": "l2", "reason": "timeout", "state": "open"}),
            (
                {"consecutive_failures": 2, "cooldown_s": 7.5},
                {"store": "l2", "reason": "breaker_open", "state": "open"},
            ),
        ]

    def test_a_failed_probe_reopens_and_reports_the_opening_again(
        self, reports: list[Report]
    ) -> None:
        clock = FakeClock()
        breaker = _breaker(clock, threshold=1, cooldown=3.0)
        breaker.failure("timeout")
        clock.tick(3.0)
        assert breaker.allow() is True
        reports.clear()
        breaker.failure("timeout")
        assert [metadata["reason"] for _, metadata in reports] == ["timeout", "breaker_open"]
        assert [measurements["consecutive_failures"] for measurements, _ in reports] == [2, 2]
        assert breaker.state == "open"

    def test_failures_while_open_are_reported_without_opening_again(
        self, reports: list[Report]
    ) -> None:
        breaker = _breaker(FakeClock(), threshold=1)
        breaker.failure("timeout")
        reports.clear()
        breaker.failure("timeout")
        assert [metadata["reason"] for _, metadata in reports] == ["timeout"]
        assert reports[0][1]["state"] == "open"


class TestReportCacheError:
    """``report_cache_error`` sends only what it is given, and nothing when nobody listens."""

    def test_key_and_measurements_are_passed_through(self, reports: list[Report]) -> None:
        report_cache_error("memory", "put_failed", OSError("disk"), key="k1", attempt=2)
        assert reports == [
            (
                {"attempt": 2},
                {"store": "memory", "reason": "put_failed", "key": "k1", "error": "OSError: disk"},
            )
        ]

    def test_nothing_optional_is_added_when_absent(self, reports: list[Report]) -> None:
        report_cache_error("memory", "put_failed")
        assert reports == [({}, {"store": "memory", "reason": "put_failed"})]


class TestRecovery:
    """A success closes the breaker and forgets the failures; a closed one lets everyone through."""

    def test_a_success_resets_the_count_of_a_closed_breaker(self) -> None:
        breaker = _breaker(FakeClock(), threshold=2)
        breaker.failure("timeout")
        breaker.success()
        assert breaker.consecutive_failures == 0
        breaker.failure("timeout")
        assert breaker.state == "closed"  # one failure since the success, not two

    def test_a_successful_probe_closes_it(self) -> None:
        clock = FakeClock()
        breaker = _breaker(clock, threshold=1, cooldown=2.0)
        breaker.failure("timeout")
        clock.tick(2.0)
        assert breaker.allow() is True
        breaker.success()
        assert (breaker.state, breaker.consecutive_failures) == ("closed", 0)
        assert breaker.refusing() is False

    def test_a_half_open_breaker_lets_one_probe_through_per_cooldown(self) -> None:
        clock = FakeClock()
        breaker = _breaker(clock, threshold=1, cooldown=2.0)
        breaker.failure("timeout")
        clock.tick(2.0)
        assert [breaker.allow(), breaker.allow()] == [True, False]
        assert breaker.refusing() is True
        clock.tick(1.5)
        assert breaker.allow() is False
        clock.tick(0.5)  # the probe never reported back: another one may go
        assert breaker.allow() is True

    def test_repr_shows_name_state_and_failures(self) -> None:
        breaker = _breaker(FakeClock(), threshold=3)
        breaker.failure("timeout")
        assert repr(breaker) == "<CircuitBreaker l2 closed failures=1>"


class TestArguments:
    """Every setting is checked when the breaker is made, by name."""

    @pytest.mark.parametrize(
        ("arguments", "named"),
        [
            ({"failure_threshold": 0}, "CircuitBreaker failure_threshold"),
            ({"cooldown": 0}, "CircuitBreaker cooldown"),
            ({"cooldown": 7 * 86_400 + 1}, "CircuitBreaker cooldown"),
            ({"name": ""}, "CircuitBreaker name"),
            ({"clock": 3.0}, "CircuitBreaker clock"),
        ],
    )
    def test_a_bad_setting_is_refused_by_name(self, arguments: dict[str, Any], named: str) -> None:
        with pytest.raises(ValidationError, match=named):
            CircuitBreaker(**arguments)

    def test_the_settings_are_kept(self) -> None:
        clock = FakeClock()
        breaker = CircuitBreaker(4, 0.5, name="disk", clock=clock)
        assert (breaker.failure_threshold, breaker.cooldown, breaker.name) == (4, 0.5, "disk")
        assert breaker.clock is clock
        assert (breaker.state, breaker.consecutive_failures) == ("closed", 0)

    def test_the_defaults_name_it_redis(self) -> None:
        assert CircuitBreaker().name == "redis"
