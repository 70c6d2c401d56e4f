"""The circuit breaker's documented defaults: open after 3 consecutive failures, for 5 seconds.

The README promises that after 3 consecutive failures the breaker "stops
trying for 5 s" and recovers by itself. These tests use the defaults (no
``failure_threshold`` or ``cooldown`` argument) and a fake clock, so a
changed default fails them at once, and no test waits for real time.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import telemetry
from exllm_py.cache.entry import make_entry
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock

JUST_BEFORE = 4.99
COOLDOWN = 5.0


def _opened(clock: FakeClock) -> CircuitBreaker:
    breaker = CircuitBreaker(clock=clock)
    for _ in range(3):
        breaker.failure("timeout")
    return breaker


class TestDefaultThreshold:
    """Three consecutive failures open a default breaker; two do not."""

    def test_two_failures_leave_it_closed(self) -> None:
        breaker = CircuitBreaker(clock=FakeClock())
        breaker.failure("timeout")
        breaker.failure("timeout")
        assert breaker.state == "closed"
        assert breaker.allow() is True

    def test_the_third_failure_opens_it(self) -> None:
        breaker = _opened(FakeClock())
        assert breaker.state == "open"
        assert breaker.allow() is False


class TestDefaultCooldown:
    """A default breaker refuses for 5 s after opening: still at 4.99 s, no longer at 5 s."""

    def test_it_still_refuses_at_4_99_seconds(self) -> None:
        clock = FakeClock()
        breaker = _opened(clock)
        clock.tick(JUST_BEFORE)
        assert breaker.refusing() is True
        assert breaker.allow() is False
        assert breaker.state == "open"

    def test_it_half_opens_at_5_seconds(self) -> None:
        clock = FakeClock()
        breaker = _opened(clock)
        clock.tick(COOLDOWN)
        assert breaker.refusing() is False
        assert breaker.allow() is True
        assert breaker.state == "half_open"

    def test_a_failed_probe_refuses_for_another_5_seconds(self) -> None:
        clock = FakeClock()
        breaker = _opened(clock)
        clock.tick(COOLDOWN)
        assert breaker.allow() is True
        breaker.failure("timeout")
        clock.tick(JUST_BEFORE)
        assert breaker.allow() is False
        clock.tick(COOLDOWN - JUST_BEFORE)
        assert breaker.allow() is True

    def test_the_opening_reports_the_cooldown(self) -> None:
        errors: list[dict[str, Any]] = []
        telemetry.attach(
            "test-breaker-cooldown",
            [telemetry.CACHE_ERROR],
            lambda _event, measurements, metadata: errors.append({**measurements, **metadata}),
        )
        try:
            _opened(FakeClock())
        finally:
            telemetry.detach("test-breaker-cooldown")
        assert [error["cooldown_s"] for error in errors if error["reason"] == "breaker_open"] == [
            COOLDOWN
        ]


def _unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unreachable_store() -> Iterator[RedisStore]:
    """A RedisStore with its default breaker, pointed at a loopback port nobody listens on."""
    store = RedisStore(f"redis://127.0.0.1:{_unused_port()}/0", namespace="cooldown", timeout=0.5)
    yield store
    store.close()


@pytest.fixture
def attempts() -> Iterator[list[str]]:
    """The reason of every failed Redis attempt reported in the test (openings aside)."""
    seen: list[str] = []

    def record(_event: Any, _measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
        if metadata["reason"] != "breaker_open":
            seen.append(metadata["reason"])

    telemetry.attach("test-breaker-attempts", [telemetry.CACHE_ERROR], record)
    yield seen
    telemetry.detach("test-breaker-attempts")


class TestRedisStoreDefaultBreaker:
    """A RedisStore built without a breaker stops trying after 3 failures, for 5 s."""

    def test_it_tries_again_at_5_seconds_and_not_before(
        self, unreachable_store: RedisStore, attempts: list[str]
    ) -> None:
        clock = FakeClock()
        unreachable_store.breaker.clock = clock  # time as the breaker sees it
        for key in ("k1", "k2", "k3"):  # distinct keys: a failed key is spared on its own
            assert unreachable_store.get(key) is None
        assert len(attempts) == 3
        assert unreachable_store.breaker.state == "open"

        clock.tick(JUST_BEFORE)
        assert unreachable_store.get("k4") is None
        assert len(attempts) == 3  # refused without trying

        clock.tick(COOLDOWN - JUST_BEFORE)
        assert unreachable_store.get("k5") is None
        assert len(attempts) == 4  # the probe went to Redis (and failed again)

    def test_writes_are_refused_during_the_cooldown_too(
        self, unreachable_store: RedisStore, attempts: list[str]
    ) -> None:
        clock = FakeClock()
        unreachable_store.breaker.clock = clock
        for key in ("k1", "k2", "k3"):
            unreachable_store.get(key)
        entry = make_entry(LLMResponse(content="x", model="m", provider="mock"), "k", 0.0, None)
        clock.tick(JUST_BEFORE)
        unreachable_store.set("k6", entry)
        assert len(attempts) == 3
