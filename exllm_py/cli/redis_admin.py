"""The CLI's door to the Redis store's housekeeping functions.

:func:`~exllm_py.cache.stores.redis.namespace_stats` and
:func:`~exllm_py.cache.stores.redis.clear_namespace` do the work; this
module imports them only when a command uses ``--redis`` and turns a
missing ``redis`` package into a message that says what to install (the
rest of the CLI works without it). Connection problems arrive as
``ConfigurationError`` and are printed as they are.
"""

from __future__ import annotations

import attrs

from exllm_py.cli.context import CommandFailed

__all__ = ["DEFAULT_NAMESPACE", "NamespaceSummary", "clear", "shown_url", "summary"]

#: ``RedisStore``'s default namespace.
DEFAULT_NAMESPACE = "exllm"


@attrs.frozen
class NamespaceSummary:
    """What one namespace holds: entries, bytes as stored, and Redis's memory accounting."""

    url: str
    namespace: str
    entries: int
    bytes: int
    memory_bytes: int | None


def summary(url: str, namespace: str) -> NamespaceSummary:
    """Entries and bytes of ``namespace`` at ``url``."""
    from exllm_py.cache.stores.redis import namespace_stats

    try:
        stats = namespace_stats(url, namespace)
    except ImportError as exc:
        raise CommandFailed(str(exc)) from exc
    return NamespaceSummary(
        shown_url(url), namespace, stats.entries, stats.bytes, stats.memory_bytes
    )


def clear(url: str, namespace: str) -> int:
    """Remove every entry of ``namespace`` at ``url``; how many were removed."""
    from exllm_py.cache.stores.redis import clear_namespace

    try:
        return clear_namespace(url, namespace)
    except ImportError as exc:
        raise CommandFailed(str(exc)) from exc


def shown_url(url: str) -> str:
    """``url`` without its password, for output."""
    from exllm_py.cache.stores.redis import redact

    return redact(url)
