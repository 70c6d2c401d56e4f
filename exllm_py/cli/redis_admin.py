"""The ``--redis`` commands' calls into the Redis store's housekeeping functions.

:func:`~exllm_py.cache.stores.redis_admin.namespace_stats` and
:func:`~exllm_py.cache.stores.redis_admin.clear_namespace` do the work, with
the store's own defaults and types. This module adds the one thing the CLI
needs on top: a missing ``redis`` package (an ``ImportError`` naming the
extra to install) becomes a :class:`~exllm_py.cli.context.CommandFailed`,
printed like any other failure, while the rest of the CLI works without the
package. Connection problems arrive as ``ConfigurationError`` and are
printed as they are.
"""

from __future__ import annotations

from exllm_py.cache.stores.redis_admin import NamespaceStats, clear_namespace, namespace_stats
from exllm_py.cli.context import CommandFailed

__all__ = ["clear", "stats"]


def stats(url: str, namespace: str | None) -> NamespaceStats:
    """Entries and bytes of ``namespace`` at ``url`` (``None``: the store's default namespace)."""
    try:
        return namespace_stats(url) if namespace is None else namespace_stats(url, namespace)
    except ImportError as exc:
        raise CommandFailed(str(exc)) from exc


def clear(url: str, namespace: str) -> int:
    """Remove every entry of ``namespace`` at ``url``; how many were removed."""
    try:
        return clear_namespace(url, namespace)
    except ImportError as exc:
        raise CommandFailed(str(exc)) from exc
