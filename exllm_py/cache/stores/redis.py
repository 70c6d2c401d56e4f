"""``RedisStore``: the production cache in Redis (or Valkey), shared by every process.

Layout. An entry lives at ``<namespace>:<cache key>`` as one string value
that Redis expires by itself (``SET … PX``); cross-process single-flight
locks (:mod:`exllm_py.cache.distributed_lock`) live at
``<namespace>@lock:<cache key>``; the tag index, one sorted set per tag of
the calls' ``cache_tags``, at ``<namespace>@tag:<tag>``
(:mod:`~exllm_py.cache.stores.redis_tags`: a tagged entry is written with
its index entries in one ``MULTI``). Values are encoded by
:mod:`~exllm_py.cache.stores.redis_codec` (JSON, zlib above a threshold);
values larger than ``max_value_bytes`` once encoded are not stored, so one
huge answer cannot fill Redis.

Faults. Every command runs through a
:class:`~exllm_py.cache.stores.redis_faults.FaultGuard`: a Redis problem
makes the operation a miss or a no-op, one operation adds at most
``timeout``, and a circuit breaker stops trying a failing server. A value
that does not decode is reported (``reason="corrupt_value"``), deleted and
missed. :meth:`RedisStore.invalidate` is the exception: it raises.

Use. The store counts its hits, misses and the money its hits saved in
Redis itself, every process's, for ``exllm-cache stats``
(:meth:`RedisStore.usage`; :mod:`~exllm_py.cache.stores.redis_usage`):
each process adds its counts at most once a second, from a ``get``.

The companions: :mod:`~exllm_py.cache.stores.redis_connect` (the optional
``redis`` package, clients, namespaces),
:mod:`~exllm_py.cache.stores.redis_admin` (namespace-wide ``SCAN`` work) and
:mod:`~exllm_py.cache.stores.redis_invalidation` (``invalidate``'s walk).
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from exllm_py import telemetry
from exllm_py.cache.arguments import (
    MAX_STORE_TIMEOUT,
    check_callable,
    check_count,
    check_instance,
    check_seconds,
    check_ttl,
)
from exllm_py.cache.entry import CacheEntry, dump_entry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.redis_admin import scan_totals, unlink_namespace
from exllm_py.cache.stores.redis_codec import DEFAULT_COMPRESS_THRESHOLD, decode_entry, encode_value
from exllm_py.cache.stores.redis_connect import (
    LoopClients,
    check_namespace,
    connect,
    redact_url_password,
)
from exllm_py.cache.stores.redis_faults import FAULT, FaultGuard
from exllm_py.cache.stores.redis_invalidation import Removed, Scope, arun, plan, run
from exllm_py.cache.stores.redis_tags import Command, tagged_write
from exllm_py.cache.stores.redis_usage import (
    aadd_usage,
    add_usage,
    aread_usage,
    read_usage,
    usage_key,
)
from exllm_py.cache.stores.usage import StoreUsage, UsageBatch, saved_cost_of
from exllm_py.errors import ValidationError
from exllm_py.forksafe import renew_after_fork

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["RedisStore"]


class _Corrupt(enum.Enum):
    CORRUPT = "corrupt"


_CORRUPT: Final = _Corrupt.CORRUPT


@attrs.frozen
class _Write:
    """A ``SET`` to send, with the tag index commands that go in its ``MULTI`` (if tagged)."""

    name: str
    value: bytes
    px: int | None
    index: tuple[Command, ...] = ()


class RedisStore:
    """Entries in Redis under ``namespace``, shared by every process that uses the same URL.

    ``timeout`` bounds each Redis operation (connect and read), in seconds.
    ``breaker`` decides when to stop trying a failing server (by default 3
    consecutive failures open it for 5 seconds). ``clock`` (epoch seconds)
    turns ``expires_at`` into the ``PX`` milliseconds and double-checks
    expiry on reads. ``stats_max_scans`` bounds what :meth:`stats` asks of
    Redis. Thread-safe; async callers get one ``redis.asyncio`` client per
    event loop (close it with :meth:`aclose` inside that loop).

    Every argument is checked before anything connects (``ValidationError``
    naming it): ``default_ttl`` is ``None`` or seconds in (0, ten years]
    (:data:`~exllm_py.cache.arguments.MAX_TTL`), ``timeout`` seconds in
    (0, 60] (:data:`~exllm_py.cache.arguments.MAX_STORE_TIMEOUT`),
    ``max_value_bytes`` an integer of at least 1, ``compress_threshold``
    ``None`` or an integer of at least 0, ``stats_max_scans`` an integer of
    at least 0.

    A ``set`` that stores nothing (the value is too large, already expired,
    or Redis refused it, as it refuses writes at ``maxmemory``) deletes the
    key's previous value, so a refresh never leaves the stale answer behind.
    Redis down or the breaker open: nothing can be deleted either, and the
    old value lives out its TTL.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        namespace: str = "exllm",
        default_ttl: float | None = 900.0,
        timeout: float = 0.05,
        *,
        max_value_bytes: int = 1024 * 1024,
        compress_threshold: int | None = DEFAULT_COMPRESS_THRESHOLD,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.time,
        stats_max_scans: int = 20,
    ) -> None:
        _check_arguments(url, namespace, breaker, clock, compress_threshold)
        self.url = url
        self.namespace = namespace
        self.default_ttl = check_ttl("RedisStore default_ttl", default_ttl)
        self.timeout = check_seconds("RedisStore timeout", timeout, maximum=MAX_STORE_TIMEOUT)
        self.max_value_bytes = check_count("RedisStore max_value_bytes", max_value_bytes)
        self.compress_threshold = compress_threshold
        self.breaker = breaker or CircuitBreaker(name=f"redis:{namespace}")
        self.guard = FaultGuard(self.breaker)
        self.clock = clock
        self.stats_max_scans = check_count("RedisStore stats_max_scans", stats_max_scans, minimum=0)
        self.prefix = namespace + ":"
        self._client = connect(url, timeout)
        self._aclients = LoopClients(url, timeout)
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        self._hits = self._misses = self._puts = self._evictions = self._expirations = 0
        self._usage = UsageBatch()

    def __repr__(self) -> str:
        url = redact_url_password(self.url)
        return f"<RedisStore {url} namespace={self.namespace!r} {self.breaker.state}>"

    # -- the CacheStore protocol, sync --------------------------------------------------

    def get(self, key: str) -> CacheEntry | None:
        if self._usage.due():
            self._add_usage()
        name = self.prefix + key
        entry = self._received(key, self.guard.run(key, self._client.get, name))
        if entry is _CORRUPT:
            self.guard.run(None, self._client.delete, name)
            return None
        return entry

    def set(self, key: str, entry: CacheEntry) -> None:
        write = self._write(key, entry)
        if write is not None and self.guard.run(key, _stored, self._client, write) is not FAULT:
            self._count_put()
            return
        # Not stored (too large, born expired, or Redis refused it): neither is the
        # previous answer kept, or a refresh would leave the stale one served.
        self._deleted(key, self.guard.run(key, _measured_delete, self._client, self.prefix + key))

    def delete(self, key: str) -> bool:
        name = self.prefix + key
        return self._deleted(key, self.guard.run(None, _measured_delete, self._client, name))

    def clear(self) -> None:
        """Remove this namespace's entries and tag index (``SCAN`` + ``UNLINK``; others stay)."""
        self.guard.run(None, unlink_namespace, self._client, self.namespace)

    def invalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int:
        """Remove the live entries ``selector`` matches (``explicit`` evictions); how many went.

        ``tag=`` reads that tag's index, ``key=`` that key; other filters walk
        the namespace (``SCAN`` + pipelined reads + ``UNLINK``, never ``KEYS``
        or ``FLUSHDB``). Each candidate is confirmed against the labels it
        holds when read; an entry re-set by another process between that read
        and its removal is removed all the same (over-invalidation, never
        under: see :mod:`~exllm_py.cache.stores.redis_invalidation`).
        ``dry_run``: remove nothing, count what would go.

        Raises ``ConfigurationError`` (its ``__cause__`` the redis-py error)
        naming the URL, without its password, and the namespace when Redis
        cannot be reached or refuses: entries removed before the failure stay
        removed, and running it again is safe. Tried even while the breaker is
        open, and its failures are not counted by it. Each round trip is
        bounded by ``timeout``: a store with a hit path's 50 ms may be too
        short for a large namespace over a slow link.
        """
        with self.guard.raising(self._failed_invalidation(selector)):
            removed = run(self._client, plan(self._scope(selector, dry_run)))
        return self._invalidated(removed, dry_run)

    # -- the CacheStore protocol, async -------------------------------------------------

    async def aget(self, key: str) -> CacheEntry | None:
        if self._usage.due():
            await self._aadd_usage()
        client, name = self._aclients.current(), self.prefix + key
        entry = self._received(key, await self.guard.arun(key, client.get, name))
        if entry is _CORRUPT:
            await self.guard.arun(None, client.delete, name)
            return None
        return entry

    async def aset(self, key: str, entry: CacheEntry) -> None:
        client = self._aclients.current()
        write = self._write(key, entry)
        if write is not None and await self.guard.arun(key, _astored, client, write) is not FAULT:
            self._count_put()
            return
        outcome = await self.guard.arun(key, _ameasured_delete, client, self.prefix + key)
        self._deleted(key, outcome)

    async def adelete(self, key: str) -> bool:
        client, name = self._aclients.current(), self.prefix + key
        return self._deleted(key, await self.guard.arun(None, _ameasured_delete, client, name))

    async def ainvalidate(self, selector: Invalidation, *, dry_run: bool = False) -> int:
        """Async twin of :meth:`invalidate`, on the running loop's client."""
        client = self._aclients.current()
        with self.guard.raising(self._failed_invalidation(selector)):
            removed = await arun(client, plan(self._scope(selector, dry_run)))
        return self._invalidated(removed, dry_run)

    # -- raw commands, for the cross-process lock ---------------------------------------

    def execute(self, key: str | None, *args: Any) -> Any:
        """One raw Redis command, run through :attr:`guard`; ``FAULT`` if Redis failed.

        ``key`` is the cache key the command serves (its failure then also
        spares the rest of that key's cycle), or ``None``. ``FAULT`` is
        :data:`exllm_py.cache.stores.redis_faults.FAULT`.
        """
        return self.guard.run(key, self._client.execute_command, *args)

    async def aexecute(self, key: str | None, *args: Any) -> Any:
        """Async twin of :meth:`execute`."""
        return await self.guard.arun(key, self._aclients.current().execute_command, *args)

    # -- housekeeping -------------------------------------------------------------------

    def stats(self) -> CacheStats:
        """Counters as this process saw them, and the namespace's size from a bounded ``SCAN``.

        Hits, misses, puts, evictions (explicit deletes) and expirations are
        this store object's own. ``entries`` and ``bytes`` (as stored) come
        from at most ``stats_max_scans`` ``SCAN`` calls of 500 keys, which
        run outside the fault guard: a slow or failing scan is reported
        (``reason="stats_failed"``) and leaves both at 0, but neither opens
        the breaker nor marks keys, so a stats call cannot cut live traffic
        off Redis. While the breaker refuses, no scan is tried. A namespace
        larger than the bound (about 10,000 keys in its database by default)
        reads low: exact figures are
        :func:`~exllm_py.cache.stores.redis_admin.namespace_stats`'s job.
        ``stats_max_scans=0`` makes this call never touch Redis.
        """
        entries, stored = self._namespace_size()
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                puts=self._puts,
                evictions=self._evictions,
                expirations=self._expirations,
                entries=entries,
                bytes=stored,
            )

    def ping(self) -> None:
        """``PING`` Redis within ``timeout``, outside the breaker; raises redis-py's error if not.

        For ``strategy.health()``: whether the server answers now, whatever
        the breaker says, without counting for it.
        """
        self._client.ping()

    def usage(self) -> StoreUsage:
        """Hits, misses and saved cost counted in Redis by every process, this one's included.

        This process's counts not yet added are added first. Raises
        ``ConfigurationError`` (naming the URL, without its password, and the
        namespace) when Redis cannot be reached.
        """
        where = f"RedisStore could not read its counts in namespace {self.namespace!r} at "
        with self.guard.raising(where + redact_url_password(self.url)):
            batch = self._usage.take()
            if batch:
                add_usage(self._client, usage_key(self.namespace), batch)
            return read_usage(self._client, usage_key(self.namespace))

    async def ausage(self) -> StoreUsage:
        """Async twin of :meth:`usage`."""
        client = self._aclients.current()
        where = f"RedisStore could not read its counts in namespace {self.namespace!r} at "
        with self.guard.raising(where + redact_url_password(self.url)):
            batch = self._usage.take()
            if batch:
                await aadd_usage(client, usage_key(self.namespace), batch)
            return await aread_usage(client, usage_key(self.namespace))

    def close(self) -> None:
        """Add this process's pending counts, close the sync connections (async: :meth:`aclose`)."""
        self._add_usage()
        self._client.close()

    async def aclose(self) -> None:
        """Add this process's pending counts, close the running loop's async connections."""
        await self._aadd_usage()
        await self._aclients.aclose()

    # -- the shared logic: commands in, entries and counters out ------------------------

    def _write(self, key: str, entry: CacheEntry) -> _Write | None:
        if self.guard.refusing(key):
            return None  # it would not be sent: spare the encoding too
        now = self.clock()
        px = None
        if entry.expires_at is not None:
            px = math.ceil((entry.expires_at - now) * 1000)
            if px <= 0:
                return None
        value = encode_value(dump_entry(entry), self.compress_threshold)
        if len(value) > self.max_value_bytes:
            return None
        tags = entry.labels.tags
        if not tags:
            return _Write(self.prefix + key, value, px)
        index = tagged_write(self.namespace, key, tags, entry.expires_at, px, now)
        return _Write(self.prefix + key, value, px, tuple(index))

    def _scope(self, selector: Invalidation, dry_run: bool) -> Scope:
        return Scope(selector, self.namespace, self.clock(), self.max_value_bytes, dry_run)

    def _failed_invalidation(self, selector: Invalidation) -> str:
        where = f"namespace {self.namespace!r} at {redact_url_password(self.url)}"
        return f"RedisStore could not invalidate ({selector.describe()}) in {where}"

    def _invalidated(self, removed: list[Removed], dry_run: bool) -> int:
        if dry_run or not removed:
            return len(removed)
        with self._lock:
            self._evictions += len(removed)
        if telemetry.wanted(telemetry.CACHE_EVICT):
            for gone in removed:
                telemetry.emit(
                    telemetry.CACHE_EVICT,
                    {"size_bytes": gone.size},
                    {"key": gone.key, "reason": "explicit", "store": "redis"},
                )
        return len(removed)

    def _received(self, key: str, value: object) -> CacheEntry | Literal[_Corrupt.CORRUPT] | None:
        if value is None or value is FAULT:
            self._count_miss(key)
            return None
        try:
            entry = decode_entry(value, self.max_value_bytes)
        except ValueError as exc:
            self._count_miss(key)
            self.breaker.report("corrupt_value", exc, key=key)
            return _CORRUPT
        expires_at = entry.expires_at
        if expires_at is not None and expires_at <= self.clock():
            with self._lock:
                self._misses += 1
                self._expirations += 1
            self._usage.miss(key)
            return None
        with self._lock:
            self._hits += 1
        self._usage.hit(saved_cost_of(entry.response.metadata))
        return entry

    def _deleted(self, key: str, outcome: object) -> bool:
        if not isinstance(outcome, tuple):
            return False  # FAULT
        size, removed = outcome
        if not removed:
            return False
        with self._lock:
            self._evictions += 1
        if telemetry.wanted(telemetry.CACHE_EVICT):
            telemetry.emit(
                telemetry.CACHE_EVICT,
                {"size_bytes": size},
                {"key": key, "reason": "explicit", "store": "redis"},
            )
        return True

    def _namespace_size(self) -> tuple[int, int]:
        if self.stats_max_scans == 0 or self.breaker.refusing():
            return 0, 0
        try:
            totals = scan_totals(
                self._client, self.namespace, memory=False, max_scans=self.stats_max_scans
            )
        except self.guard.faults as exc:
            self.breaker.report("stats_failed", exc)
            return 0, 0
        return totals.entries, totals.bytes

    def _count_miss(self, key: str) -> None:
        with self._lock:
            self._misses += 1
        self._usage.miss(key)

    # A batch that cannot be added (Redis down, the breaker open) is dropped: the
    # counts are a hint (see exllm_py.cache.stores.usage).

    def _add_usage(self) -> None:
        batch = self._usage.take()
        if batch:
            self.guard.run(None, add_usage, self._client, usage_key(self.namespace), batch)

    async def _aadd_usage(self) -> None:
        batch = self._usage.take()
        if batch:
            client = self._aclients.current()
            await self.guard.arun(None, aadd_usage, client, usage_key(self.namespace), batch)

    def _count_put(self) -> None:
        with self._lock:
            self._puts += 1


def _check_arguments(
    url: object,
    namespace: object,
    breaker: object,
    clock: object,
    compress_threshold: object,
) -> None:
    """Refuse the constructor arguments that the attribute assignments do not check."""
    check_instance("RedisStore url", url, str, "a string such as redis://host:6379/0")
    try:
        check_namespace(namespace)  # type: ignore[arg-type]  # checked there
    except ValueError as exc:
        raise ValidationError(f"RedisStore namespace: {exc}") from None
    if breaker is not None:
        check_instance("RedisStore breaker", breaker, CircuitBreaker, "a CircuitBreaker or None")
    check_callable("RedisStore clock", clock, "a function returning epoch seconds")
    if compress_threshold is not None:
        check_count("RedisStore compress_threshold", compress_threshold, minimum=0)


# A tagged entry and its index entries go in one MULTI: no reader ever sees the entry
# outside its tags' index (see redis_tags). An untagged entry is one plain SET.


def _stored(client: redis.Redis, write: _Write) -> object:
    if not write.index:
        return client.set(write.name, write.value, px=write.px)
    pipe = client.pipeline(transaction=True)
    pipe.set(write.name, write.value, px=write.px)
    for command in write.index:
        pipe.execute_command(*command)  # type: ignore[no-untyped-call]  # unannotated in redis-py
    return pipe.execute()


async def _astored(client: redis.asyncio.Redis, write: _Write) -> object:
    if not write.index:
        return await client.set(write.name, write.value, px=write.px)
    pipe = client.pipeline(transaction=True)
    pipe.set(write.name, write.value, px=write.px)
    for command in write.index:
        pipe.execute_command(*command)
    return await pipe.execute()


# A delete reports the bytes it freed: STRLEN then DEL, pipelined (one round trip).
# Not in MULTI/EXEC: a Redis at maxmemory refuses every command queued in a
# transaction, and a full Redis is when deleting must work (a refresh whose write was
# refused must still drop the old answer). The cost: a value replaced by another
# process between the two commands reports the replaced value's length. The lengths
# are (size, removed); a key of another type has no length (its STRLEN error comes
# back as a result).


def _measured_delete(client: redis.Redis, name: str) -> tuple[int, int]:
    pipe = client.pipeline(transaction=False)
    pipe.strlen(name)
    pipe.delete(name)
    return _lengths(pipe.execute(raise_on_error=False))


async def _ameasured_delete(client: redis.asyncio.Redis, name: str) -> tuple[int, int]:
    pipe = client.pipeline(transaction=False)
    pipe.strlen(name)
    pipe.delete(name)
    return _lengths(await pipe.execute(raise_on_error=False))


def _lengths(results: list[Any]) -> tuple[int, int]:
    size, removed = results
    return (size if isinstance(size, int) else 0), (removed if isinstance(removed, int) else 0)
