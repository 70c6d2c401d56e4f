"""Cross-process single-flight: identical calls in different processes make one provider call.

Opt-in, through ``ProductionStrategy(store, lock=RedisFlightLock(redis_store))``.
The strategy already gives each key one in-process leader; with a lock, that
leader asks the :class:`FlightLock` to decide, across processes, who calls
the provider:

1. Take the lock: ``SET <namespace>@lock:<key> <token> NX PX <lock_ttl>``.
   Taken: compute and store (``produce()``), then release the lock, only if
   the token is still ours (a ``GET``-and-``DEL`` script).
2. Held by another process: poll every ``poll_interval`` seconds for its
   entry in the store (found: return it) or for the lock to go away. Gone
   with no entry means the holder failed or died (its lock expired after
   ``lock_ttl``): go back to 1 and take over.
3. Never wait longer than ``max_wait`` (nor the call's own timeout): then
   compute without the lock. If Redis cannot be used at all, compute at once.
4. Never wait for a holder on the waiter's own thread: a sync call inside a
   coroutine, while an async call on that loop holds the lock (through
   another strategy on the same Redis namespace), would block its holder
   until ``max_wait``. This process remembers which thread holds which of
   its locks (forgotten in a forked child, which holds none), and such a
   waiter computes at once, without the lock.

Polling rather than pub/sub keeps the waiters stateless (no subscriber
connection per waiting call) and tolerant of a holder that dies silently;
it only runs on misses that another process is already computing. The
protocol's sync and async twins share one decision flow
(:meth:`RedisFlightLock._flow`, a generator of steps); the shells only
perform the steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from typing import Any, Protocol

import attrs

from exllm_py.cache.arguments import MAX_TIMEOUT, check_callable, check_instance, check_seconds
from exllm_py.cache.entry import CacheEntry
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.redis_faults import FAULT
from exllm_py.types import LLMResponse

__all__ = ["FlightLock", "RedisFlightLock", "lock_name"]

# Deletes the lock only if it still holds our token: a holder whose lock
# expired must not release the lock a successor has taken since.
_RELEASE = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"""


class FlightLock(Protocol):
    """Decides which process computes an answer that none has stored yet.

    ``run(key, store, produce, wait)`` returns the answer for ``key``:
    either by calling ``produce()`` (which computes and stores it) exactly
    once, or, while another process computes the same key, by waiting at
    most ``wait`` seconds (``None``: the lock's own bound) for that entry to
    appear in ``store``. Errors from ``produce`` propagate. The lock itself
    never fails a call: when it cannot coordinate, it calls ``produce()``.
    ``arun`` is the same for async callers.
    """

    def run(
        self,
        key: str,
        store: CacheStore,
        produce: Callable[[], LLMResponse],
        wait: float | None,
    ) -> LLMResponse: ...

    async def arun(
        self,
        key: str,
        store: CacheStore,
        produce: Callable[[], Awaitable[LLMResponse]],
        wait: float | None,
    ) -> LLMResponse: ...


def lock_name(namespace: str, key: str) -> str:
    """The Redis key of ``key``'s lock (outside the namespace's ``<namespace>:*`` entries)."""
    return f"{namespace}@lock:{key}"


# The steps of the decision flow, performed by the sync or async shell.


@attrs.frozen
class _Acquire:
    token: str


@attrs.frozen
class _Release:
    token: str


@attrs.frozen
class _Pause:
    seconds: float


class _Look:
    """Read the store (answer: the entry or ``None``)."""


class _Held:
    """Ask whether the lock exists (answer: bool, or ``FAULT``)."""


@attrs.frozen
class _Produce:
    """The flow's verdict: compute, holding the lock under ``token`` (``None``: not holding)."""

    token: str | None


_LOOK = _Look()
_HELD = _Held()
_Step = _Acquire | _Release | _Pause | _Look | _Held
_Flow = Generator[_Step, Any, LLMResponse | _Produce]


class RedisFlightLock:
    """A :class:`FlightLock` kept in the Redis (and under the namespace) of ``store``.

    It runs its commands through ``store``'s connections, timeout and
    breaker, so an unreachable Redis costs no more than it does the store.
    ``lock_ttl`` should exceed a provider call: it is also how long a
    holder that died keeps the others waiting. ``lock_ttl``, ``max_wait``
    and ``poll_interval`` are seconds above 0, at most
    :data:`~exllm_py.cache.arguments.MAX_TIMEOUT` (a week). ``clock``,
    ``sleep`` and ``asleep`` are injectable for tests.
    """

    def __init__(
        self,
        store: RedisStore,
        *,
        lock_ttl: float = 20.0,
        max_wait: float = 20.0,
        poll_interval: float = 0.025,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
    ) -> None:
        check_instance("RedisFlightLock store", store, RedisStore, "a RedisStore")
        self.store = store
        self.lock_ttl = check_seconds("RedisFlightLock lock_ttl", lock_ttl, maximum=MAX_TIMEOUT)
        self.max_wait = check_seconds("RedisFlightLock max_wait", max_wait, maximum=MAX_TIMEOUT)
        self.poll_interval = check_seconds(
            "RedisFlightLock poll_interval", poll_interval, maximum=MAX_TIMEOUT
        )
        check_callable("RedisFlightLock clock", clock, "a function returning monotonic seconds")
        check_callable("RedisFlightLock sleep", sleep, "a function such as time.sleep")
        check_callable(
            "RedisFlightLock asleep", asleep, "a coroutine function such as asyncio.sleep"
        )
        self.clock = clock
        self.sleep = sleep
        self.asleep = asleep

    def __repr__(self) -> str:
        return f"<RedisFlightLock namespace={self.store.namespace!r} lock_ttl={self.lock_ttl}>"

    def run(
        self,
        key: str,
        store: CacheStore,
        produce: Callable[[], LLMResponse],
        wait: float | None,
    ) -> LLMResponse:
        flow, name, answer = self._flow(wait), lock_name(self.store.namespace, key), None
        if _HOLDERS.held_here(name):
            return produce()  # its holder runs on this thread: waiting would block it
        while True:
            try:
                step = flow.send(answer)
            except StopIteration as stop:
                verdict: LLMResponse | _Produce = stop.value
                break
            if isinstance(step, _Look):
                answer = store.get(key)
            elif isinstance(step, _Pause):
                self.sleep(step.seconds)
                answer = None
            else:
                answer = self.store.execute(key, *self._command(step, name))
        if isinstance(verdict, LLMResponse):
            return verdict
        try:
            with _HOLDERS.holding(name, verdict.token):
                return produce()
        finally:
            if verdict.token is not None:
                self.store.execute(key, *self._command(_Release(verdict.token), name))

    async def arun(
        self,
        key: str,
        store: CacheStore,
        produce: Callable[[], Awaitable[LLMResponse]],
        wait: float | None,
    ) -> LLMResponse:
        flow, name, answer = self._flow(wait), lock_name(self.store.namespace, key), None
        while True:
            try:
                step = flow.send(answer)
            except StopIteration as stop:
                verdict: LLMResponse | _Produce = stop.value
                break
            if isinstance(step, _Look):
                answer = await store.aget(key)
            elif isinstance(step, _Pause):
                await self.asleep(step.seconds)
                answer = None
            else:
                answer = await self.store.aexecute(key, *self._command(step, name))
        if isinstance(verdict, LLMResponse):
            return verdict
        try:
            with _HOLDERS.holding(name, verdict.token):
                return await produce()
        finally:
            if verdict.token is not None:
                await self.store.aexecute(key, *self._command(_Release(verdict.token), name))

    def _command(self, step: _Acquire | _Release | _Held, name: str) -> tuple[Any, ...]:
        if isinstance(step, _Acquire):
            return ("SET", name, step.token, "NX", "PX", max(1, round(self.lock_ttl * 1000)))
        if isinstance(step, _Release):
            return ("EVAL", _RELEASE, 1, name, step.token)
        return ("EXISTS", name)

    def _flow(self, wait: float | None) -> _Flow:
        """The decision, as steps to perform; returns an answer found, or the verdict to compute."""
        deadline = self.clock() + (self.max_wait if wait is None else min(wait, self.max_wait))
        waited = False
        while True:
            token = secrets.token_hex(8)
            taken = yield _Acquire(token)
            if taken is FAULT:
                return _Produce(None)  # Redis is unusable: no coordination, just compute
            if taken:
                if waited:
                    # The holder may have stored its answer just before its lock went away.
                    entry = yield _LOOK
                    if isinstance(entry, CacheEntry):
                        yield _Release(token)
                        return entry.response
                return _Produce(token)
            while True:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return _Produce(None)  # waited long enough: call the provider anyway
                yield _Pause(min(self.poll_interval, remaining))
                waited = True
                entry = yield _LOOK
                if isinstance(entry, CacheEntry):
                    return entry.response
                held = yield _HELD
                if held is FAULT:
                    return _Produce(None)
                if not held:
                    break  # the holder finished without storing, or died: take over


class _Holders:
    """The locks this process holds, by name and token, and the thread each holder runs on.

    Keyed by token too: a holder whose lock expired, and a successor in this
    process that took it since, each remove only their own record.
    """

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        # A fresh lock too: a parent thread may have held the old one at the fork.
        self._lock = threading.Lock()
        self._threads: dict[tuple[str, str], int] = {}

    def held_here(self, name: str) -> bool:
        if not self._threads:
            return False
        me = threading.get_ident()
        with self._lock:
            return any(held == name and thread == me for (held, _), thread in self._threads.items())

    @contextlib.contextmanager
    def holding(self, name: str, token: str | None) -> Iterator[None]:
        if token is None:  # computing without the lock: nothing to remember
            yield
            return
        with self._lock:
            self._threads[name, token] = threading.get_ident()
        try:
            yield
        finally:
            with self._lock:
                self._threads.pop((name, token), None)


_HOLDERS = _Holders()
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_HOLDERS.forget)
