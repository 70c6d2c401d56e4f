"""Housekeeping over a whole Redis namespace: what it holds, and emptying it.

:func:`namespace_stats` and :func:`clear_namespace` serve the
``exllm-cache stats|clear --redis`` commands: each opens its own client
with a generous timeout, walks the namespace with ``SCAN`` (never ``KEYS``,
which blocks the server) and turns a Redis that cannot be used into a
``ConfigurationError`` that names the URL (without its password).

The walks themselves, :func:`scan_totals`, :func:`unlink_namespace` and
:func:`unlink_matching`, take a client and raise redis-py's errors;
``RedisStore.clear()`` and ``RedisStore.stats()`` use them under their own
fault handling (``stats()`` with a bound on the number of ``SCAN`` calls).

A namespace is its entries (``<namespace>:…``), which the statistics
count, and the tag index (``<namespace>@tag:…``, see
:mod:`~exllm_py.cache.stores.redis_tags`), which clearing removes too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import attrs

from exllm_py.cache.stores.redis_connect import (
    check_namespace,
    connect,
    import_redis,
    redact_url_password,
)
from exllm_py.cache.stores.redis_tags import tag_sets_pattern
from exllm_py.errors import ConfigurationError

if TYPE_CHECKING:
    import redis

__all__ = [
    "SCAN_COUNT",
    "NamespaceStats",
    "clear_namespace",
    "namespace_stats",
    "scan_totals",
    "unlink_matching",
    "unlink_namespace",
]

T = TypeVar("T")
# A key name as redis-py returns it: bytes, unless a client decodes replies.
_Name = bytes | str

#: The ``COUNT`` of each ``SCAN`` call, and the size of each batch of keys worked on.
SCAN_COUNT = 500


@attrs.frozen
class NamespaceStats:
    """What a namespace holds: ``bytes`` as stored (compressed where compressed).

    ``memory_bytes`` is Redis's own accounting (``MEMORY USAGE``: key,
    value and overhead), ``None`` when it was not asked for or the server
    does not offer it.
    """

    namespace: str
    entries: int
    bytes: int
    memory_bytes: int | None = None


def namespace_stats(url: str, namespace: str = "exllm", *, timeout: float = 5.0) -> NamespaceStats:
    """How many entries ``namespace`` holds at ``url``, their bytes and Redis's memory for them.

    ``ConfigurationError`` when Redis cannot be reached or used.
    """
    check_namespace(namespace)
    with connect(url, timeout) as client:
        return _admin(url, lambda: scan_totals(client, namespace, memory=True))


def clear_namespace(url: str, namespace: str = "exllm", *, timeout: float = 5.0) -> int:
    """Remove every entry of ``namespace`` (``SCAN`` + ``UNLINK``, never ``FLUSHDB``); how many.

    Its tag index goes too. Other namespaces and the cross-process locks
    (``<namespace>@lock:…``) stay. ``ConfigurationError`` when Redis cannot
    be reached or used.
    """
    check_namespace(namespace)
    with connect(url, timeout) as client:
        return _admin(url, lambda: unlink_namespace(client, namespace))


def scan_totals(
    client: redis.Redis, namespace: str, *, memory: bool, max_scans: int | None = None
) -> NamespaceStats:
    """Entries and stored bytes of ``namespace``, and with ``memory`` Redis's accounting.

    ``max_scans`` bounds the ``SCAN`` calls (each examines about
    :data:`SCAN_COUNT` keys of the database); where it stops the walk short,
    the totals cover only the keys seen so far. ``None``: walk everything.
    """
    entries = stored = 0
    used: int | None = 0
    for names in _batches(_scan(client, namespace + ":*", max_scans)):
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


def unlink_namespace(client: redis.Redis, namespace: str) -> int:
    """``UNLINK`` the tag index, then the entries of ``namespace``; how many entries went.

    The index goes first: an entry written while the index is being
    removed is then still there for the walk over the entries, and one
    written after that walk began keeps its place in the index. The other
    order could leave a tagged entry outside its index, where no
    ``invalidate(tag=)`` would find it.
    """
    unlink_matching(client, tag_sets_pattern(namespace))
    return unlink_matching(client, namespace + ":*")


def unlink_matching(client: redis.Redis, pattern: str) -> int:
    """``UNLINK`` every key matching ``pattern``, a batch at a time; how many were removed."""
    removed = 0
    for names in _batches(_scan(client, pattern, None)):
        removed += int(client.unlink(*names))
    return removed


def _admin(url: str, work: Callable[[], T]) -> T:
    errors = import_redis().exceptions
    try:
        return work()
    except (errors.RedisError, OSError) as exc:
        raise ConfigurationError(
            f"could not use Redis at {redact_url_password(url)}: {exc}; check the URL and that "
            "the server is running and reachable"
        ) from exc


def _scan(client: redis.Redis, pattern: str, max_scans: int | None) -> Iterator[_Name]:
    # ``scan_iter`` with a bound: ``SCAN`` until the cursor comes back to 0 or
    # ``max_scans`` calls have been made.
    cursor, scans = 0, 0
    while max_scans is None or scans < max_scans:
        cursor, names = client.scan(cursor, match=pattern, count=SCAN_COUNT)
        scans += 1
        yield from names
        if cursor == 0:
            return


def _batches(names: Iterator[_Name]) -> Iterator[list[_Name]]:
    # With MATCH, a SCAN call may return few keys: gather them into full batches.
    batch: list[_Name] = []
    for name in names:
        batch.append(name)
        if len(batch) >= SCAN_COUNT:
            yield batch
            batch = []
    if batch:
        yield batch


def _memory_usage(client: redis.Redis, names: list[_Name], total: int) -> int | None:
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.memory_usage(name)
    try:
        sizes = pipe.execute()
    except import_redis().exceptions.ResponseError:
        return None  # a server without MEMORY USAGE (some managed offerings)
    return total + sum(size or 0 for size in sizes)
