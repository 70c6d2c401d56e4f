"""Single-flight: concurrent identical calls make one provider call.

The first caller of a key becomes the leader and computes; callers that
arrive while it does become followers and wait for its outcome, whether
they are threads (blocking on an event) or asyncio tasks on any loop
(awaiting a future resolved thread-safely). A failure wakes every follower
with the same error. The bookkeeping is shared; only the waiting differs.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import copy
import threading
from typing import Generic, TypeVar

from exllm_py.errors import TimeoutError

__all__ = ["Flight", "Flights", "LeaderGone"]

T = TypeVar("T")


class Flight(Generic[T]):
    """One in-progress computation and the followers waiting for it."""

    __slots__ = ("_done", "_error", "_futures", "_lock", "_result", "key")

    def __init__(self, key: str) -> None:
        self.key = key
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._result: T | None = None
        self._error: BaseException | None = None

    def _finish(self, result: T | None, error: BaseException | None) -> None:
        with self._lock:
            self._result, self._error = result, error
            self._done.set()
            futures, self._futures = self._futures, []
        for loop, future in futures:
            # A follower whose loop has closed is gone: nobody is left to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_wake, future)

    def wait(self, timeout: float | None) -> T:
        """Block until the leader finishes (at most ``timeout`` seconds)."""
        if not self._done.wait(timeout):
            raise _waited_too_long(self.key, timeout)
        return self._outcome()

    async def await_(self, timeout: float | None) -> T:  # noqa: ASYNC109 - the call's timeout
        """Wait, without blocking the loop, until the leader finishes."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if not self._done.is_set():
                self._futures.append((loop, future))
            else:
                future.set_result(None)
        try:
            await asyncio.wait_for(future, timeout)
        except builtins.TimeoutError:
            raise _waited_too_long(self.key, timeout) from None
        return self._outcome()

    def _outcome(self) -> T:
        error = self._error
        if error is not None:
            raise _for_follower(error)
        assert self._result is not None
        return self._result


class Flights(Generic[T]):
    """The flights in progress, by key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Flight[T]] = {}

    def join(self, key: str) -> tuple[Flight[T], bool]:
        """The flight for ``key`` and whether the caller leads it (must compute)."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = self._flights[key] = Flight(key)
            return flight, True

    def resolve(self, flight: Flight[T], result: T) -> None:
        self._land(flight)
        flight._finish(result, None)

    def fail(self, flight: Flight[T], error: Exception) -> None:
        self._land(flight)
        flight._finish(None, error)

    def abandon(self, flight: Flight[T]) -> None:
        """The leader stopped without an outcome (cancelled, interrupted): followers retry.

        A cancelled leader's ``CancelledError`` is about the leader, not the
        call: handing it to followers would cancel tasks nobody cancelled.
        """
        self._land(flight)
        flight._finish(None, LeaderGone(flight.key))

    def __len__(self) -> int:
        return len(self._flights)

    def _land(self, flight: Flight[T]) -> None:
        with self._lock:
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]


class LeaderGone(Exception):
    """Raised to a follower whose leader stopped without an outcome; it should join again."""


def _for_follower(error: BaseException) -> BaseException:
    # Each follower raises its own copy: one exception object raised in many
    # threads and tasks would collect all their tracebacks.
    if isinstance(error, LeaderGone):
        return error
    try:
        copied = copy.copy(error)
    except Exception:
        return error
    copied.__cause__ = error.__cause__
    return copied


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _waited_too_long(key: str, timeout: float | None) -> TimeoutError:
    return TimeoutError(
        f"waited {timeout}s for an identical call in flight (cache key {key[:12]}…) "
        "without an answer; pass a larger timeout=... if the model needs longer"
    )
