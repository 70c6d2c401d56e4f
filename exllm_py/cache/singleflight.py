"""Single-flight: concurrent identical calls make one provider call.

The first caller of a key becomes the leader and computes; callers that
arrive while it does become followers and wait for its outcome, whether
they are threads (blocking on an event) or asyncio tasks on any loop
(awaiting a future resolved thread-safely). The bookkeeping is shared; only
the waiting differs.

A leader's answer goes to every follower; so does its error, unless the
error is the leader's own rather than the request's (:func:`shared_with`):

- a client error (any 4xx status, or no key at all) goes only to followers
  that send the same credentials: a provider may answer a bad key with any
  of them (Gemini: 400 ``API_KEY_INVALID``), and another key may well get
  an answer;
- the leader's timeout goes only to followers that allowed no longer.

Other followers are told to join again (:class:`LeaderGone`): one of them
leads and makes its own call, and each still waits at most its own timeout.

Two things would make a follower wait forever, and neither may:

- a sync follower on the very thread that runs its leader (a sync call
  inside a coroutine while an async call for the same key is in flight on
  that loop, or a re-entrant call), or an async follower in the very task
  that leads (a task holding a half-read stream that starts an identical
  one): waiting would block the leader, so it is told at once
  (:class:`CannotWait`) to make its own call;
- a leader that is not there: a forked child inherits the parent's flights
  but not the threads leading them, so every ``Flights`` forgets its
  flights in the child (``os.register_at_fork``).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import copy
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from exllm_py.errors import ConfigurationError, ProviderError, TimeoutError

if TYPE_CHECKING:
    from exllm_py.cache.strategy import Caller

__all__ = [
    "CannotWait",
    "Flight",
    "Flights",
    "LeaderGone",
    "Party",
    "shared_with",
    "time_left",
]

T = TypeVar("T")


class Party(Protocol):
    """A caller in a flight: how long it may wait, and who it is (a ``CacheLookup`` is one)."""

    @property
    def timeout(self) -> float | None: ...

    @property
    def caller(self) -> Caller | None: ...


class Flight(Generic[T]):
    """One in-progress computation and the followers waiting for it."""

    __slots__ = (
        "_done",
        "_error",
        "_futures",
        "_lock",
        "_result",
        "_task",
        "_thread",
        "followers",
        "key",
        "leader",
    )

    def __init__(self, key: str, leader: Party | None = None) -> None:
        self.key = key
        self.leader = leader
        #: How many followers are waiting right now.
        self.followers = 0
        # The thread the leader runs on: a sync follower there would block it.
        self._thread = threading.get_ident()
        # And the task, if any: an async follower in it would wait on itself.
        self._task = _current_task()
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

    def wait(self, timeout: float | None, follower: Party | None = None) -> T:
        """Block until the leader finishes (at most ``timeout`` seconds).

        ``CannotWait`` at once if the leader runs on this very thread.
        """
        if self._thread == threading.get_ident() and not self._done.is_set():
            raise CannotWait(self.key)
        self._count(1)
        try:
            done = self._done.wait(timeout)
        finally:
            self._count(-1)
        if not done:
            raise _waited_too_long(self.key, timeout, follower)
        return self._outcome(follower)

    async def await_(
        self,
        timeout: float | None,  # noqa: ASYNC109 - the call's timeout
        follower: Party | None = None,
    ) -> T:
        """Wait, without blocking the loop, until the leader finishes.

        ``CannotWait`` at once if the leader is this very task.
        """
        task = self._task
        if task is not None and task is asyncio.current_task() and not self._done.is_set():
            raise CannotWait(self.key)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if not self._done.is_set():
                self._futures.append((loop, future))
            else:
                future.set_result(None)
        self._count(1)
        try:
            await asyncio.wait_for(future, timeout)
        except builtins.TimeoutError:
            raise _waited_too_long(self.key, timeout, follower) from None
        finally:
            self._count(-1)
        return self._outcome(follower)

    def _count(self, change: int) -> None:
        with self._lock:
            self.followers += change

    def _outcome(self, follower: Party | None) -> T:
        error = self._error
        if error is not None:
            if not shared_with(error, self.leader, follower):
                raise LeaderGone(self.key)  # the leader's own error: join again
            raise _for_follower(error)
        assert self._result is not None
        return self._result


class Flights(Generic[T]):
    """The flights in progress, by key."""

    def __init__(self) -> None:
        self._forget()
        _EVERY_FLIGHTS.add(self)

    def _forget(self) -> None:
        # A fresh lock too: a parent thread may have held the old one at the fork.
        self._lock = threading.Lock()
        self._flights: dict[str, Flight[T]] = {}

    def join(self, key: str, party: Party | None = None) -> tuple[Flight[T], bool]:
        """The flight for ``key`` and whether the caller (``party``) leads it (must compute)."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = self._flights[key] = Flight(key, party)
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

    def waiting(self) -> int:
        """How many followers are waiting, over all flights."""
        with self._lock:
            flights = list(self._flights.values())
        return sum(flight.followers for flight in flights)

    def _land(self, flight: Flight[T]) -> None:
        with self._lock:
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]


class LeaderGone(Exception):
    """Raised to a follower whose leader has no outcome for it; it should join again.

    The leader was cancelled or interrupted, or failed for a reason of its
    own (its credentials, its shorter timeout).
    """


class CannotWait(Exception):
    """Raised to a sync follower on the thread its leader runs on; it should compute itself.

    Blocking that thread would stop the leader (an async call on the loop this
    thread runs, or a call further up this thread's own stack) from ever finishing.
    """


def shared_with(error: BaseException, leader: Party | None, follower: Party | None) -> bool:
    """Whether ``leader``'s ``error`` is ``follower``'s answer too (see the module docstring)."""
    if isinstance(error, LeaderGone) or leader is None or follower is None:
        return True
    if isinstance(error, TimeoutError):
        patience = follower.timeout
        return patience is not None and (leader.timeout is None or patience <= leader.timeout)
    if isinstance(error, ConfigurationError) or _client_error(error):
        return _credential(leader) == _credential(follower)
    return True


def _client_error(error: BaseException) -> bool:
    # Any 4xx may be about the key rather than the request: refused (401, 403),
    # out of credit (402), a model this key may not use (OpenAI: 404), the key's
    # rate limit (429), or a key the provider rejects as a bad argument (Gemini:
    # 400 INVALID_ARGUMENT, reason API_KEY_INVALID).
    status = error.status if isinstance(error, ProviderError) else None
    return isinstance(status, int) and 400 <= status < 500


def time_left(timeout: float | None, started_ns: int) -> float | None:
    """What remains of ``timeout`` seconds counted from ``started_ns`` (``perf_counter_ns``)."""
    if timeout is None:
        return None
    return max(timeout - (time.perf_counter_ns() - started_ns) / 1e9, 0.0)


def _credential(party: Party) -> object:
    caller = party.caller
    return None if caller is None else caller.credential()


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


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no loop runs in this thread: a sync leader
        return None


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _waited_too_long(key: str, timeout: float | None, follower: Party | None) -> TimeoutError:
    allowed = timeout if follower is None else follower.timeout
    return TimeoutError(
        f"waited {allowed}s for an identical call in flight (cache key {key[:12]}…) "
        "without an answer; pass a larger timeout=... if the model needs longer"
    )


_EVERY_FLIGHTS: weakref.WeakSet[Flights[Any]] = weakref.WeakSet()


def _forget_flights_after_fork() -> None:
    for flights in list(_EVERY_FLIGHTS):
        flights._forget()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_flights_after_fork)
