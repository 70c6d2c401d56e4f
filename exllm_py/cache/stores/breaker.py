"""``CircuitBreaker``: stop calling a failing store for a while, then try again by itself.

Three states::

    closed ──(failure_threshold consecutive failures)──▶ open
    open ──(cooldown seconds later, one caller)──▶ half-open (a single probe)
    half-open ──(the probe succeeds)──▶ closed
    half-open ──(the probe fails)──▶ open (another cooldown)

While open, :meth:`CircuitBreaker.allow` answers ``False`` at once, so a
store that is down costs its callers nothing until the cooldown ends. Each
failure, and each opening, is reported as ``("exllm", "cache", "error")``
with a ``reason``. Time comes from an injected monotonic ``clock``.

A breaker also remembers the last error reported for its store
(:attr:`CircuitBreaker.last_error`, a :class:`StoreError`): every failure
with an exception, and the errors its store reports through
:meth:`CircuitBreaker.report` that do not count as failures (an error reply
from a Redis that answered, a value that does not decode). This is what
``strategy.health()`` shows as a store's ``last_error``. Error texts go
through :func:`~exllm_py.secret_patterns.redact_secrets`, here and in the
telemetry, so that a password in a URL a driver quotes never travels on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, Literal

import attrs

from exllm_py import telemetry
from exllm_py.cache.arguments import (
    MAX_TIMEOUT,
    check_callable,
    check_count,
    check_seconds,
    check_text,
)
from exllm_py.forksafe import renew_after_fork
from exllm_py.secret_patterns import redact_secrets

__all__ = ["BreakerState", "CircuitBreaker", "StoreError", "describe_error", "report_cache_error"]

BreakerState = Literal["closed", "open", "half_open"]

_CLOSED: Final = "closed"
_OPEN: Final = "open"
_HALF_OPEN: Final = "half_open"


@attrs.frozen
class StoreError:
    """An error reported for a store: why (``reason``), what (``type``, ``message``), and when.

    ``message`` is redacted (:func:`describe_error`). ``at`` is wall-clock
    epoch seconds; ``clock_at`` is the breaker's own clock reading then,
    against which its age is measured.
    """

    reason: str
    type: str
    message: str
    at: float
    clock_at: float = attrs.field(repr=False)

    @classmethod
    def of(cls, reason: str, error: BaseException, clock_at: float) -> StoreError:
        """``error`` reported for ``reason`` now, ``clock_at`` being the breaker's clock reading."""
        return cls(reason, type(error).__name__, redact_secrets(str(error)), time.time(), clock_at)


class CircuitBreaker:
    """Counts consecutive failures of one resource and decides whether to try it.

    Thread-safe. The closed-state checks read one attribute without taking
    the lock, so a healthy store pays next to nothing for the breaker.
    ``name`` labels the telemetry (``store`` in the event metadata).
    ``cooldown`` is at most :data:`~exllm_py.cache.arguments.MAX_TIMEOUT`
    seconds (a week); every setting is checked when the breaker is made.
    """

    def __init__(
        self,
        failure_threshold: int = 3,
        cooldown: float = 5.0,
        *,
        name: str = "redis",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = check_count("CircuitBreaker failure_threshold", failure_threshold)
        self.cooldown = check_seconds("CircuitBreaker cooldown", cooldown, maximum=MAX_TIMEOUT)
        self.name = check_text("CircuitBreaker name", name)
        check_callable("CircuitBreaker clock", clock, "a function returning monotonic seconds")
        self.clock = clock
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        self._state: BreakerState = _CLOSED
        self._failures = 0
        # When the breaker opened, or when the half-open probe was let through.
        self._since = 0.0
        self._last_error: StoreError | None = None

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name} {self._state} failures={self._failures}>"

    @property
    def state(self) -> BreakerState:
        """``closed``, ``open`` or ``half_open``, as of the last call (time alone changes none)."""
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    @property
    def last_error(self) -> StoreError | None:
        """The last error reported with an exception (a failure, or :meth:`report`), else None."""
        return self._last_error

    def allow(self) -> bool:
        """Whether the caller may use the resource now (if so, it must report the outcome)."""
        if self._state == _CLOSED:
            return True
        with self._lock:
            now = self.clock()
            if self.state == _CLOSED:  # closed by a success while this caller waited
                return True
            # Open: wait out the cooldown. Half-open: one probe at a time, but a
            # probe that never reported back is replaced after another cooldown.
            if now - self._since < self.cooldown:
                return False
            self._state = _HALF_OPEN
            self._since = now
            return True

    def refusing(self) -> bool:
        """Whether :meth:`allow` would refuse now; unlike it, this never starts a probe."""
        if self._state == _CLOSED:
            return False
        return self.clock() - self._since < self.cooldown

    def success(self) -> None:
        """Report a successful use: closes the breaker and forgets past failures."""
        if self._state == _CLOSED and not self._failures:
            return
        with self._lock:
            self._state = _CLOSED
            self._failures = 0

    def failure(self, reason: str, error: BaseException | None = None) -> None:
        """Report a failed use (``reason``: ``timeout``, ``connection``, …); may open it."""
        noted = None if error is None else self._noted(reason, error)
        with self._lock:
            self._failures += 1
            failures = self._failures
            if noted is not None:
                self._last_error = noted
            opens = self._state == _HALF_OPEN or (
                self._state == _CLOSED and failures >= self.failure_threshold
            )
            if opens:
                self._state = _OPEN
                self._since = self.clock()
            state = self._state
        report_cache_error(self.name, reason, error, state=state, consecutive_failures=failures)
        if opens:
            report_cache_error(
                self.name,
                "breaker_open",
                state=state,
                consecutive_failures=failures,
                cooldown_s=self.cooldown,
            )

    def report(
        self, reason: str, error: BaseException | None = None, *, key: str | None = None
    ) -> None:
        """Report an error that is no failure of the store (it answered): remembered, not counted.

        For an error reply from a Redis that answered, a stored value that does
        not decode, a health probe that failed: the breaker's state does not
        change, :attr:`last_error` does (when there is an ``error``).
        """
        if error is not None:
            noted = self._noted(reason, error)
            with self._lock:
                self._last_error = noted
        report_cache_error(self.name, reason, error, state=self._state, key=key)

    def _noted(self, reason: str, error: BaseException) -> StoreError:
        return StoreError.of(reason, error, self.clock())


def describe_error(error: BaseException) -> str:
    """``"Type: message"``, with any credential in the message redacted."""
    return f"{type(error).__name__}: {redact_secrets(str(error))}"


def report_cache_error(
    store: str,
    reason: str,
    error: BaseException | None = None,
    *,
    state: str | None = None,
    key: str | None = None,
    **measurements: float,
) -> None:
    """Emit ``("exllm", "cache", "error")``: which store, why, and the error if there was one."""
    if not telemetry.wanted(telemetry.CACHE_ERROR):
        return
    metadata = {"store": store, "reason": reason}
    if state is not None:
        metadata["state"] = state
    if key is not None:
        metadata["key"] = key
    if error is not None:
        metadata["error"] = describe_error(error)
    telemetry.emit(telemetry.CACHE_ERROR, dict(measurements), metadata)
