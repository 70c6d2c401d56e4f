"""The disk store's labels in SQL: the columns ``set`` writes, the statements ``invalidate`` runs.

No I/O here: :class:`~exllm_py.cache.stores.disk.DiskStore` runs what
these functions build, and the tests ask SQLite how it would run it
(``EXPLAIN QUERY PLAN``). Every filter of an
:class:`~exllm_py.cache.invalidation.Invalidation` becomes a condition on an
indexed column (see :mod:`~exllm_py.cache.stores.disk_schema`): ``key`` on
the primary key, ``tag`` on the tags table's, ``provider``, ``model``,
``namespace`` and ``older_than`` on their own indexes. A label that is not
known (``""`` in :class:`~exllm_py.cache.entry.EntryLabels`, no tags) is
stored as ``NULL``, which no filter matches and no partial index holds.

May import: ``orjson``, ``exllm_py.cache.entry``, ``exllm_py.cache.invalidation``.
"""

from __future__ import annotations

import functools
from typing import Final

import orjson

from exllm_py.cache.entry import EntryLabels
from exllm_py.cache.invalidation import Invalidation

__all__ = ["RELABEL", "count_statement", "invalidation_statement", "label_columns"]

#: Set an entry's label columns (``?1``-``?4``, as :func:`label_columns` gives them)
#: only where they differ: an UPDATE that names a column rewrites its index pages
#: even for an equal value, and a replaced entry almost always keeps its labels.
RELABEL: Final = """
    UPDATE entries SET provider = ?1, model = ?2, namespace = ?3, tags = ?4 WHERE key = ?5
    AND (provider IS NOT ?1 OR model IS NOT ?2 OR namespace IS NOT ?3 OR tags IS NOT ?4)
"""


def label_columns(labels: EntryLabels) -> tuple[str | None, str | None, str | None, str | None]:
    """The ``provider``, ``model``, ``namespace`` and ``tags`` columns for these labels."""
    return labels.provider or None, labels.model or None, labels.namespace, _tags(labels.tags)


@functools.lru_cache(maxsize=1024)
def _tags(tags: tuple[str, ...]) -> str | None:
    # Cached: calls alike share their tags, and the text must be the same for the
    # same tags (RELABEL compares it).
    return orjson.dumps(tags).decode() if tags else None


def invalidation_statement(selector: Invalidation, now: float) -> tuple[str, tuple[object, ...]]:
    """The ``DELETE … RETURNING key, size, expires_at`` of the rows ``selector`` matches at ``now``.

    It removes matching rows whether live or expired: the caller counts
    the live ones (``expires_at`` ``NULL`` or after ``now``) as invalidated
    and the others as expired, as ``delete`` does.
    """
    where, parameters = _conditions(selector, now)
    return f"DELETE FROM entries WHERE {where} RETURNING key, size, expires_at", parameters


def count_statement(selector: Invalidation, now: float) -> tuple[str, tuple[object, ...]]:
    """The ``SELECT count(*)`` of the live rows ``selector`` matches at ``now`` (a dry run)."""
    where, parameters = _conditions(selector, now)
    live = "(expires_at IS NULL OR expires_at > ?)"
    return f"SELECT count(*) FROM entries WHERE {where} AND {live}", (*parameters, now)


def _conditions(selector: Invalidation, now: float) -> tuple[str, tuple[object, ...]]:
    conditions: list[str] = []
    parameters: list[object] = []
    for column, value in (
        ("key", selector.key),
        ("provider", selector.provider),
        ("model", selector.model),
        ("namespace", selector.namespace),
    ):
        if value is not None:
            conditions.append(f"{column} = ?")
            parameters.append(value)
    if selector.tag is not None:
        conditions.append("key IN (SELECT key FROM tags WHERE tag = ?)")
        parameters.append(selector.tag)
    if selector.older_than is not None:
        conditions.append("stored_at < ?")
        parameters.append(now - selector.older_than)
    if not conditions:
        # Invalidation refuses this when made; checked again because the statement
        # would otherwise remove every row.
        raise ValueError(f"an invalidation needs at least one filter, got {selector!r}")
    return " AND ".join(conditions), tuple(parameters)
