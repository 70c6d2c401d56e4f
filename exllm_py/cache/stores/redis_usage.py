"""Where a :class:`~exllm_py.cache.stores.redis.RedisStore` keeps the counts of its use.

One hash per namespace, ``<namespace>@usage``, with the fields ``hits``,
``misses`` and ``saved_cost_usd`` (see :mod:`~exllm_py.cache.stores.usage`).
Namespaces never hold ``@`` or ``:``, so no entry key (``<namespace>:…``),
lock (``<namespace>@lock:…``) or tag index (``<namespace>@tag:…``) can be
this key, and neither the statistics' ``SCAN`` of ``<namespace>:*`` nor
clearing a namespace touches it: the counts outlive the entries they
counted, as a record of what the cache did. The hash has no expiry; it is
three numbers per namespace.

Each process adds its batch with ``HINCRBY``/``HINCRBYFLOAT``, pipelined
(one round trip), so that concurrent writers never lose each other's counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from exllm_py.cache.stores.usage import StoreUsage

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["aadd_usage", "add_usage", "aread_usage", "read_usage", "usage_key"]

_HITS: Final = "hits"
_MISSES: Final = "misses"
_SAVED: Final = "saved_cost_usd"


def usage_key(namespace: str) -> str:
    """The hash that holds ``namespace``'s counts."""
    return namespace + "@usage"


def add_usage(client: redis.Redis, name: str, batch: StoreUsage) -> None:
    """Add ``batch`` to the counts in hash ``name``."""
    pipe = client.pipeline(transaction=False)
    _queue(pipe, name, batch)
    pipe.execute()


async def aadd_usage(client: redis.asyncio.Redis, name: str, batch: StoreUsage) -> None:
    """Async twin of :func:`add_usage`."""
    pipe = client.pipeline(transaction=False)
    _queue(pipe, name, batch)
    await pipe.execute()


def read_usage(client: redis.Redis, name: str) -> StoreUsage:
    """The counts in hash ``name`` (all zero when nothing was counted yet)."""
    return _usage(client.hgetall(name))


async def aread_usage(client: redis.asyncio.Redis, name: str) -> StoreUsage:
    """Async twin of :func:`read_usage`."""
    return _usage(await client.hgetall(name))


def _queue(pipe: Any, name: str, batch: StoreUsage) -> None:
    # Only what changed: a batch of misses alone leaves the other fields be.
    if batch.hits:
        pipe.hincrby(name, _HITS, batch.hits)
    if batch.misses:
        pipe.hincrby(name, _MISSES, batch.misses)
    if batch.saved_cost_usd:
        pipe.hincrbyfloat(name, _SAVED, batch.saved_cost_usd)


def _usage(fields: Any) -> StoreUsage:
    # Replies are bytes unless the client decodes them: read either.
    values = {
        (field.decode() if isinstance(field, bytes) else str(field)): value
        for field, value in dict(fields).items()
    }
    return StoreUsage(
        hits=int(values.get(_HITS, 0)),
        misses=int(values.get(_MISSES, 0)),
        saved_cost_usd=float(values.get(_SAVED, 0.0)),
    )
