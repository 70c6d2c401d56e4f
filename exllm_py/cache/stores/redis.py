"""``RedisStore``: the production cache in Redis (or Valkey), shared by every process.

Layout. An entry lives at ``<namespace>:<cache key>`` as one string value
that Redis expires by itself (``SET … PX``). Cross-process single-flight
locks (:mod:`exllm_py.cache.distributed_lock`) live at
``<namespace>@lock:<cache key>``. Namespaces are limited to
``[A-Za-z0-9_./-]``, so the ``SCAN`` pattern of one namespace never matches
the keys of another (``a:*`` would otherwise also match namespace ``a:b``).

Values. The compact JSON of :func:`~exllm_py.cache.entry.dump_entry`, or,
above ``compress_threshold`` bytes, ``b"z"`` followed by the zlib stream
(level 1). A JSON entry always starts with ``{``, so the first byte tells
the forms apart and small values stay readable in ``redis-cli``.
Compression is worth it: an entry holds the answer's text twice (the
response and the provider's raw JSON), and zlib level 1 stores a 3 kB entry
in under 30% of its size and a 17 kB one in under 25%. Inflating adds
7-30 µs to a hit's 100-200 µs round trip (a read 1.1-1.3x as long), and
writes, which follow a provider call, pay 20-150 µs; level 6 saves a few
percent more for twice the compression time. ``bench/redis_bench.py``
prints the figures. Values larger than ``max_value_bytes`` once encoded are
not stored, so one huge answer cannot fill Redis.

Faults. A cache must never break a call: every Redis problem (refused,
timed out, an error reply, a value that is not an entry) makes the
operation a miss or a no-op. redis-py's retries are off, and sockets time
out slightly before ``timeout`` (leaving room for the OS timer's slack and
redis-py's cleanup, about a millisecond), so one operation adds at most
``timeout``. Once an operation on a key has failed, that key skips Redis
(its second look, its write, its lock) until any operation succeeds again
or a minute has passed, so one call meets at most one timeout. A
:class:`~exllm_py.cache.stores.breaker.CircuitBreaker` stops trying after
consecutive failures and probes again after its cooldown. A value that does
not decode is reported (``reason="corrupt_value"``), deleted and missed.

The ``redis`` package is imported when a store is created; without it,
``ImportError`` names the extra to install. :func:`namespace_stats` and
:func:`clear_namespace` serve the housekeeping CLI.
"""

from __future__ import annotations

import asyncio
import enum
import math
import re
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

import attrs

from exllm_py import telemetry
from exllm_py.cache.entry import CacheEntry, dump_entry, load_entry
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.breaker import CircuitBreaker, report_cache_error
from exllm_py.errors import ConfigurationError

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = [
    "FAULT",
    "NamespaceStats",
    "RedisStore",
    "check_namespace",
    "clear_namespace",
    "decode_value",
    "encode_value",
    "import_redis",
    "namespace_stats",
    "redact",
]

P = ParamSpec("P")
T = TypeVar("T")

_KiB = 1024
_INSTALL_HINT = "RedisStore needs the redis package: pip install 'exllm_py[redis]'"
_NAMESPACE = re.compile(r"[A-Za-z0-9_./-]+")
_COMPRESSED: Final = b"z"
_PLAIN: Final = b"{"
# A value never decompresses to more than this many times max_value_bytes
# (a bound against a hostile or garbled value, far above real compression ratios).
_MAX_EXPANSION = 64
_SCAN_COUNT = 500
# Sockets time out this much before ``timeout``: a timed-out read overshoots its
# deadline by the OS timer's slack, and redis-py then drops the connection.
_SLACK_S = 0.002
# How long a key whose operation failed keeps skipping Redis (unless an operation
# succeeds first): longer than a read-compute-write cycle, the client's default timeout.
_FAULT_MEMORY_S = 60.0
_FAULT_MEMORY_KEYS = 1024


class _Signal(enum.Enum):
    FAULT = "fault"
    CORRUPT = "corrupt"


#: What :meth:`RedisStore.execute` returns when Redis could not answer.
FAULT: Final = _Signal.FAULT
_CORRUPT: Final = _Signal.CORRUPT


def import_redis() -> ModuleType:
    """The ``redis`` package (with ``redis.asyncio``); ``ImportError`` with the fix if missing."""
    try:
        import redis
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
        import redis.retry
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return redis


def check_namespace(namespace: str) -> str:
    """``namespace`` if it is one (letters, digits, ``_ . / -``); else ``ValueError``."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValueError(
            f"Redis namespace must be letters, digits, '_', '.', '/' or '-', got {namespace!r} "
            "(':' is reserved as the separator between namespace and key)"
        )
    return namespace


def encode_value(payload: bytes, compress_threshold: int | None) -> bytes:
    """The stored form of an entry's JSON: itself, or ``b"z"`` + zlib when above the threshold."""
    if compress_threshold is not None and len(payload) > compress_threshold:
        compressed = _COMPRESSED + zlib.compress(payload, 1)
        if len(compressed) < len(payload):
            return compressed
    return payload


def decode_value(value: bytes, max_bytes: int) -> bytes:
    """The entry JSON inside a stored value; ``ValueError`` if it is neither form."""
    flag = value[:1]
    if flag == _PLAIN:
        return value
    if flag != _COMPRESSED:
        raise ValueError(f"stored value starts with {flag!r}, not b'{{' or b'z'")
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(memoryview(value)[1:], max_bytes)
    except zlib.error as exc:
        raise ValueError(f"stored value is not a zlib stream: {exc}") from exc
    if not inflater.eof:
        raise ValueError(f"stored value is truncated or inflates beyond {max_bytes} bytes")
    return payload


@attrs.frozen
class NamespaceStats:
    """What a namespace holds: ``bytes`` as stored (compressed where compressed).

    ``memory_bytes`` is Redis's own accounting (``MEMORY USAGE``: key,
    value and overhead), ``None`` when the server does not offer it.
    """

    namespace: str
    entries: int
    bytes: int
    memory_bytes: int | None = None


class RedisStore:
    """Entries in Redis under ``namespace``, shared by every process that uses the same URL.

    ``timeout`` bounds each Redis operation (connect and read), in seconds.
    ``breaker`` decides when to stop trying a failing server (by default 3
    consecutive failures open it for 5 seconds). ``clock`` (epoch seconds)
    turns ``expires_at`` into the ``PX`` milliseconds and double-checks
    expiry on reads. Thread-safe; async callers get one ``redis.asyncio``
    client per event loop (close it with :meth:`aclose` inside that loop).
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        namespace: str = "exllm",
        default_ttl: float | None = 900.0,
        timeout: float = 0.05,
        *,
        max_value_bytes: int = 1024 * _KiB,
        compress_threshold: int | None = 1 * _KiB,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
        if max_value_bytes <= 0:
            raise ValueError(f"max_value_bytes must be positive, got {max_value_bytes!r}")
        self._redis = import_redis()
        self.url = url
        self.namespace = check_namespace(namespace)
        self.default_ttl = default_ttl
        self.timeout = timeout
        self.max_value_bytes = max_value_bytes
        self.compress_threshold = compress_threshold
        self.breaker = breaker or CircuitBreaker(name=f"redis:{namespace}")
        self.clock = clock
        self.prefix = namespace + ":"
        self._client: redis.Redis = _connect(self._redis.Redis, url, timeout, self._redis.retry)
        self._async_clients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}
        self._lock = threading.Lock()
        self._faulty: OrderedDict[str, float] = OrderedDict()
        self._hits = self._misses = self._puts = self._evictions = self._expirations = 0

    def __repr__(self) -> str:
        return f"<RedisStore {redact(self.url)} namespace={self.namespace!r} {self.breaker.state}>"

    # -- the CacheStore protocol, sync --------------------------------------------------

    def get(self, key: str) -> CacheEntry | None:
        name = self.prefix + key
        entry = self._received(key, self._run(key, self._client.get, name))
        if entry is _CORRUPT:
            self._run(None, self._client.delete, name)
            return None
        return entry

    def set(self, key: str, entry: CacheEntry) -> None:
        command = self._set_command(key, entry)
        if command is None:
            return
        name, value, px = command
        if self._run(key, self._client.set, name, value, px=px) is not FAULT:
            self._count_put()

    def delete(self, key: str) -> bool:
        removed = self._run(None, self._client.delete, self.prefix + key)
        return self._deleted(key, removed)

    def clear(self) -> None:
        """Remove this namespace's entries (``SCAN`` + ``UNLINK``; other namespaces stay)."""
        self._run(None, _unlink_matching, self._client, self.prefix + "*")

    # -- the CacheStore protocol, async -------------------------------------------------

    async def aget(self, key: str) -> CacheEntry | None:
        client, name = self._aclient(), self.prefix + key
        entry = self._received(key, await self._arun(key, client.get, name))
        if entry is _CORRUPT:
            await self._arun(None, client.delete, name)
            return None
        return entry

    async def aset(self, key: str, entry: CacheEntry) -> None:
        command = self._set_command(key, entry)
        if command is None:
            return
        name, value, px = command
        if await self._arun(key, self._aclient().set, name, value, px=px) is not FAULT:
            self._count_put()

    async def adelete(self, key: str) -> bool:
        removed = await self._arun(None, self._aclient().delete, self.prefix + key)
        return self._deleted(key, removed)

    # -- raw commands, for the cross-process lock ---------------------------------------

    def execute(self, key: str | None, *args: Any) -> Any:
        """Run one raw Redis command under this store's fault handling; :data:`FAULT` if it failed.

        ``key`` is the cache key the command serves (its failure then also
        spares the rest of that key's cycle), or ``None``.
        """
        return self._run(key, self._client.execute_command, *args)

    async def aexecute(self, key: str | None, *args: Any) -> Any:
        """Async twin of :meth:`execute`."""
        return await self._arun(key, self._aclient().execute_command, *args)

    # -- housekeeping -------------------------------------------------------------------

    def stats(self) -> CacheStats:
        """This process's counters; ``entries`` and ``bytes`` come from a ``SCAN`` of the namespace.

        The scan costs a round trip per 500 keys; when Redis cannot answer,
        ``entries`` and ``bytes`` are 0.
        """
        totals = self._run(None, _scan_totals, self._client, self.namespace, memory=False)
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                puts=self._puts,
                evictions=self._evictions,
                expirations=self._expirations,
                entries=0 if totals is FAULT else totals.entries,
                bytes=0 if totals is FAULT else totals.bytes,
            )

    def close(self) -> None:
        """Close the sync connections (async ones: :meth:`aclose`, in their loop)."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the running loop's async connections."""
        with self._lock:
            client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    # -- the shared logic: commands in, entries and counters out ------------------------

    def _set_command(self, key: str, entry: CacheEntry) -> tuple[str, bytes, int | None] | None:
        if self._spared(key) or self.breaker.refusing():
            return None  # it would not be sent: spare the encoding too
        px = None
        if entry.expires_at is not None:
            px = math.ceil((entry.expires_at - self.clock()) * 1000)
            if px <= 0:
                return None
        value = encode_value(dump_entry(entry), self.compress_threshold)
        if len(value) > self.max_value_bytes:
            return None
        return self.prefix + key, value, px

    def _received(self, key: str, value: object) -> CacheEntry | Literal[_Signal.CORRUPT] | None:
        if value is None or value is FAULT:
            self._count_miss()
            return None
        try:
            if not isinstance(value, bytes):
                raise ValueError(f"Redis returned {type(value).__name__}, not bytes")
            entry = load_entry(decode_value(value, _MAX_EXPANSION * self.max_value_bytes))
        except (ValueError, TypeError) as exc:
            self._count_miss()
            report_cache_error(self.breaker.name, "corrupt_value", exc, key=key)
            return _CORRUPT
        expires_at = entry.expires_at
        if expires_at is not None and expires_at <= self.clock():
            with self._lock:
                self._misses += 1
                self._expirations += 1
            return None
        with self._lock:
            self._hits += 1
        return entry

    def _deleted(self, key: str, removed: object) -> bool:
        if not isinstance(removed, int) or removed <= 0:
            return False
        with self._lock:
            self._evictions += 1
        if telemetry.wanted(telemetry.CACHE_EVICT):
            telemetry.emit(
                telemetry.CACHE_EVICT,
                {"size_bytes": 0},
                {"key": key, "reason": "explicit", "store": "redis"},
            )
        return True

    def _count_miss(self) -> None:
        with self._lock:
            self._misses += 1

    def _count_put(self) -> None:
        with self._lock:
            self._puts += 1

    # -- fault handling -----------------------------------------------------------------

    def _run(
        self, key: str | None, command: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T | Literal[_Signal.FAULT]:
        if not self._may_try(key):
            return FAULT
        try:
            result = command(*args, **kwargs)
        except Exception as exc:
            self._failed(key, exc)
            return FAULT
        self._succeeded()
        return result

    async def _arun(
        self,
        key: str | None,
        command: Callable[P, Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T | Literal[_Signal.FAULT]:
        if not self._may_try(key):
            return FAULT
        try:
            result = await command(*args, **kwargs)
        except Exception as exc:
            self._failed(key, exc)
            return FAULT
        self._succeeded()
        return result

    def _may_try(self, key: str | None) -> bool:
        return not self._spared(key) and self.breaker.allow()

    def _spared(self, key: str | None) -> bool:
        """Whether ``key`` failed lately, with no success since: it skips Redis for now."""
        if not self._faulty or key is None:
            return False
        failed_at = self._faulty.get(key)
        return failed_at is not None and self.breaker.clock() - failed_at < _FAULT_MEMORY_S

    def _succeeded(self) -> None:
        self.breaker.success()
        if self._faulty:
            with self._lock:
                self._faulty.clear()

    def _failed(self, key: str | None, exc: Exception) -> None:
        if isinstance(exc, self._redis.exceptions.ResponseError):
            # Redis answered, quickly: an error reply is no reason to stop trying.
            self._succeeded()
            report_cache_error(self.breaker.name, "redis_error", exc)
            return
        if key is not None:
            with self._lock:
                self._faulty[key] = self.breaker.clock()
                self._faulty.move_to_end(key)
                while len(self._faulty) > _FAULT_MEMORY_KEYS:
                    self._faulty.popitem(last=False)
        self.breaker.failure(self._reason(exc), exc)

    def _reason(self, exc: Exception) -> str:
        errors = self._redis.exceptions
        if isinstance(exc, errors.TimeoutError | TimeoutError):
            return "timeout"
        if isinstance(exc, errors.ConnectionError | OSError):
            return "connection"
        if isinstance(exc, errors.RedisError):
            return "redis_error"
        return "unexpected"

    def _aclient(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            with self._lock:
                client = self._async_clients.get(loop)
                if client is None:
                    # Clients of loops that have ended cannot be closed any more: drop them.
                    for ended in [other for other in self._async_clients if other.is_closed()]:
                        del self._async_clients[ended]
                    client = _connect(
                        self._redis.asyncio.Redis, self.url, self.timeout, self._redis.asyncio.retry
                    )
                    self._async_clients[loop] = client
        return client


# -- housekeeping, for the CLI -----------------------------------------------------------


def namespace_stats(url: str, namespace: str = "exllm", *, timeout: float = 5.0) -> NamespaceStats:
    """How many entries ``namespace`` holds at ``url``, and their bytes; ``ConfigurationError``
    when Redis cannot be reached."""
    check_namespace(namespace)
    with _admin_client(url, timeout) as client:
        return _admin(url, lambda: _scan_totals(client, namespace, memory=True))


def clear_namespace(url: str, namespace: str = "exllm", *, timeout: float = 5.0) -> int:
    """Remove every entry of ``namespace`` (``SCAN`` + ``UNLINK``, never ``FLUSHDB``); how many."""
    check_namespace(namespace)
    with _admin_client(url, timeout) as client:
        return _admin(url, lambda: _unlink_matching(client, namespace + ":*"))


def redact(url: str) -> str:
    """``url`` without its password, for messages and reprs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _admin_client(url: str, timeout: float) -> redis.Redis:
    redis_module = import_redis()
    client: redis.Redis = _connect(redis_module.Redis, url, timeout, redis_module.retry)
    return client


def _admin(url: str, work: Callable[[], T]) -> T:
    errors = import_redis().exceptions
    try:
        return work()
    except (errors.RedisError, OSError) as exc:
        raise ConfigurationError(
            f"could not use Redis at {redact(url)}: {exc}; check the URL and that the server "
            "is running and reachable"
        ) from exc


def _scan_totals(client: redis.Redis, namespace: str, *, memory: bool) -> NamespaceStats:
    entries = stored = 0
    used: int | None = 0
    for names in _batches(client.scan_iter(match=namespace + ":*", count=_SCAN_COUNT)):
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.strlen(name)
        lengths = pipe.execute()
        live = [name for name, length in zip(names, lengths, strict=True) if length]
        entries += len(live)
        stored += sum(lengths)
        if memory and used is not None and live:
            used = _memory_usage(client, live, used)
    return NamespaceStats(namespace, entries, stored, used if memory else None)


def _memory_usage(client: redis.Redis, names: list[bytes], total: int) -> int | None:
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.memory_usage(name)
    try:
        sizes = pipe.execute()
    except import_redis().exceptions.ResponseError:
        return None  # a server without MEMORY USAGE (some managed offerings)
    return total + sum(size or 0 for size in sizes)


def _unlink_matching(client: redis.Redis, pattern: str) -> int:
    removed = 0
    for names in _batches(client.scan_iter(match=pattern, count=_SCAN_COUNT)):
        removed += int(client.unlink(*names))
    return removed


def _batches(names: Iterator[Any]) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for name in names:
        batch.append(name)
        if len(batch) >= _SCAN_COUNT:
            yield batch
            batch = []
    if batch:
        yield batch


def _connect(factory: Any, url: str, timeout: float, retry_module: ModuleType) -> Any:
    """A client from ``url`` whose operations end within ``timeout`` and that never retries.

    redis-py retries failed commands by default (with backoff), which would
    multiply the time a dead server costs; the breaker does the retrying here.
    """
    backoff = import_redis().backoff.NoBackoff()
    socket_timeout = timeout - min(_SLACK_S, timeout / 4)
    try:
        return factory.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=retry_module.Retry(backoff, 0),
        )
    except ValueError as exc:
        raise ConfigurationError(
            f"{redact(url)!r} is not a Redis URL ({exc}); expected redis://[user:password@]host"
            ":port/db, rediss://… for TLS or unix:///path/to/socket"
        ) from exc
