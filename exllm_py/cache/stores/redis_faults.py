"""``FaultGuard``: run Redis commands so that a Redis problem never breaks a call.

A cache must never break a call. :meth:`FaultGuard.run` (and its async twin
:meth:`FaultGuard.arun`) runs one command and returns :data:`FAULT` instead
of raising when Redis could not answer; the caller then behaves as on a
miss or a no-op. What counts as a Redis problem, and what it does:

- a timeout or a connection problem (redis-py's ``TimeoutError`` and
  ``ConnectionError``, any ``OSError``) or another ``RedisError`` (a garbled
  reply): a failure for the
  :class:`~exllm_py.cache.stores.breaker.CircuitBreaker`, which stops trying
  after consecutive failures and probes again after its cooldown;
- an error reply (``ResponseError``: ``WRONGTYPE`` and the like): reported,
  but Redis answered, quickly, so it counts as a success for the breaker.

Anything else propagates untouched: a ``TypeError`` from a bug, or
redis-py's ``DataError`` (arguments it cannot encode), is a programming
error to see in tests, not an outage to hide behind an open breaker.

Per-key fault memory: once an operation on a key has failed, that key
skips Redis (its second look, its write, its lock), so the rest of its call
costs no second timeout. The memory never outlives the outage: it ends as
soon as any operation succeeds (the breaker closes), and after the
breaker's cooldown the key tries Redis again by itself, as the breaker
would (a key that is the only traffic would otherwise never find out that
Redis is back). :class:`~exllm_py.cache.distributed_lock.RedisFlightLock`
runs its commands through the same guard (via ``RedisStore.execute``), so
its lock and the store's entries share that memory and the breaker.

Some operations must not pass for done when they were not:
``RedisStore.invalidate`` runs inside :meth:`FaultGuard.raising`, where the
same faults become a ``ConfigurationError`` (its ``__cause__`` the
redis-py error) instead of :data:`FAULT`. Those operations are tried even
while the breaker is open, and their faults are not counted by it: a long
administrative walk that times out says nothing about the hit path, and
must not cut live traffic off Redis.
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from typing import Final, Literal, ParamSpec, TypeVar

from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.redis_connect import import_redis
from exllm_py.errors import ConfigurationError
from exllm_py.forksafe import renew_after_fork

__all__ = ["FAULT", "Fault", "FaultGuard"]

P = ParamSpec("P")
T = TypeVar("T")

_FAULT_MEMORY_KEYS = 1024


class Fault(enum.Enum):
    """The type of :data:`FAULT` (an enum, so that ``Literal[Fault.FAULT]`` narrows)."""

    FAULT = "fault"


#: What :meth:`FaultGuard.run` returns when Redis could not answer.
FAULT: Final = Fault.FAULT


class FaultGuard:
    """Runs commands against one Redis server, turning its faults into :data:`FAULT`.

    ``breaker`` decides when to stop trying; its ``clock`` and ``cooldown``
    also time the per-key fault memory. Thread-safe, and shared by sync and
    async callers.
    """

    def __init__(self, breaker: CircuitBreaker) -> None:
        errors = import_redis().exceptions
        self.breaker = breaker
        #: The exceptions that mean "Redis could not answer" (the rest propagate).
        self.faults: tuple[type[Exception], ...] = (errors.RedisError, OSError)
        self._bugs: tuple[type[Exception], ...] = (errors.DataError,)
        self._error_reply: type[Exception] = errors.ResponseError
        self._timeouts: tuple[type[Exception], ...] = (errors.TimeoutError, TimeoutError)
        self._connection: tuple[type[Exception], ...] = (errors.ConnectionError, OSError)
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        self._faulty: OrderedDict[str, float] = OrderedDict()

    def __repr__(self) -> str:
        return f"<FaultGuard {self.breaker!r} spared_keys={len(self._faulty)}>"

    def run(
        self, key: str | None, command: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T | Literal[Fault.FAULT]:
        """``command(*args, **kwargs)``, or :data:`FAULT` if Redis failed or is being spared.

        ``key`` is the cache key the command serves: its failure then also
        spares the rest of that key's cycle. ``None`` for commands of no key.
        """
        if not self._may_try(key):
            return FAULT
        try:
            result = command(*args, **kwargs)
        except self.faults as exc:
            if isinstance(exc, self._bugs):
                raise
            self._failed(key, exc)
            return FAULT
        self._succeeded()
        return result

    async def arun(
        self,
        key: str | None,
        command: Callable[P, Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T | Literal[Fault.FAULT]:
        """Async twin of :meth:`run`: awaits ``command(*args, **kwargs)``."""
        if not self._may_try(key):
            return FAULT
        try:
            result = await command(*args, **kwargs)
        except self.faults as exc:
            if isinstance(exc, self._bugs):
                raise
            self._failed(key, exc)
            return FAULT
        self._succeeded()
        return result

    @contextlib.contextmanager
    def raising(self, what: str) -> Iterator[None]:
        """Run a block whose Redis faults raise ``ConfigurationError``: "``what``: the fault".

        ``what`` names the operation and the server (without its password).
        Bugs (``DataError``, anything not a Redis fault) propagate as they are.
        Works around ``await`` too: the block may be async code.
        """
        try:
            yield
        except self._bugs:
            raise
        except self.faults as exc:
            raise ConfigurationError(
                f"{what}: {type(exc).__name__}: {exc}; check that the server is running and "
                "reachable"
            ) from exc

    def refusing(self, key: str | None) -> bool:
        """Whether :meth:`run` would skip Redis now; unlike it, this never starts a probe."""
        return self.spared(key) or self.breaker.refusing()

    def spared(self, key: str | None) -> bool:
        """Whether ``key`` failed within a cooldown, with no success since: it skips Redis."""
        if not self._faulty or key is None:
            return False
        failed_at = self._faulty.get(key)
        breaker = self.breaker
        return failed_at is not None and breaker.clock() - failed_at < breaker.cooldown

    def _may_try(self, key: str | None) -> bool:
        return not self.spared(key) and self.breaker.allow()

    def _succeeded(self) -> None:
        self.breaker.success()
        if self._faulty:
            with self._lock:
                self._faulty.clear()

    def _failed(self, key: str | None, exc: Exception) -> None:
        if isinstance(exc, self._error_reply):
            # Redis answered, quickly: an error reply is no reason to stop trying.
            self._succeeded()
            self.breaker.report("redis_error", exc)  # remembered, not counted
            return
        if key is not None:
            with self._lock:
                self._faulty[key] = self.breaker.clock()
                self._faulty.move_to_end(key)
                while len(self._faulty) > _FAULT_MEMORY_KEYS:
                    self._faulty.popitem(last=False)
        self.breaker.failure(self._reason(exc), exc)

    def _reason(self, exc: Exception) -> str:
        if isinstance(exc, self._timeouts):
            return "timeout"
        if isinstance(exc, self._connection):
            return "connection"
        return "redis_error"
