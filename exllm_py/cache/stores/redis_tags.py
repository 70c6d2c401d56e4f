"""The tag index of :class:`~exllm_py.cache.stores.redis.RedisStore`: one sorted set per tag.

``invalidate(tag=...)`` reads the index of its tag instead of every entry
of the namespace. The index of tag ``T`` lives at ``<namespace>@tag:T``:
namespaces never hold ``@`` or ``:``, so no entry key (``<namespace>:…``)
and no other namespace's ``SCAN`` pattern can reach it. Its members are
cache keys; each scored by when the latest entry written under that key
with ``T`` expires (epoch seconds by the store's clock; ``+inf`` for an
entry that never expires).

The one rule the index keeps: **every live entry whose labels carry ``T``
is a member of ``T``'s set**. The converse need not hold (a key re-set
without ``T`` stays a member until pruned), which is why invalidation
reads each candidate's labels before it unlinks anything. What keeps the
rule:

- the entry and its memberships are written in one ``MULTI``
  (:func:`tagged_write`), so no reader sees one without the other;
- ``ZADD … GT`` only ever raises a member's score, so a score is never
  below the expiry of an entry written under that key with that tag;
- every tagged write prunes the members scored more than
  :data:`PRUNE_GRACE_S` in the past (whose entries expired by every
  clock within that much of the writer's), which keeps the set of a tag in
  constant use from growing without bound;
- the set expires (``PEXPIRE … NX`` gives a new set the entry's lifetime,
  ``PEXPIRE … GT`` only ever lengthens it), never before its longest-lived
  member, so the index of a tag no longer written does not stay forever;
- invalidation removes a member just before it unlinks the entry, in that
  order (see :mod:`~exllm_py.cache.stores.redis_invalidation`).

``PEXPIRE`` with ``NX``/``GT`` needs Redis 7.0 (or Valkey); on an older
server a tagged write is refused as a whole (reported as a
``redis_error``) and the entry is not stored: nothing is served that
invalidation could miss. Entries without tags are a plain ``SET``, as
before.

Everything here is pure: command tuples in, no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from exllm_py.cache.arguments import MAX_TTL

__all__ = [
    "PRUNE_GRACE_S",
    "TAG_SETS",
    "Command",
    "tag_set_name",
    "tag_sets_pattern",
    "tagged_write",
]

#: A Redis command as its arguments: ``("ZREM", name, member)``.
Command = tuple[Any, ...]

#: Between the namespace and the tag in a tag set's name.
TAG_SETS: Final = "@tag:"

#: Members are pruned this many seconds after their score: margin for clocks that
#: disagree between the processes sharing a namespace (NTP keeps them far closer).
PRUNE_GRACE_S: Final = 300.0

# A tag set of entries that never expire still expires, in ten years (the longest TTL
# an entry can have): a set with no expiry would take every later "PEXPIRE NX".
_FOREVER_MS: Final = MAX_TTL * 1000


def tag_set_name(namespace: str, tag: str) -> str:
    """Where the index of ``tag`` lives in ``namespace``."""
    return f"{namespace}{TAG_SETS}{tag}"


def tag_sets_pattern(namespace: str) -> str:
    """The ``SCAN`` pattern of ``namespace``'s tag sets (a namespace holds no glob character)."""
    return f"{namespace}{TAG_SETS}*"


def tagged_write(
    namespace: str,
    key: str,
    tags: tuple[str, ...],
    expires_at: float | None,
    px: int | None,
    now: float,
) -> list[Command]:
    """The index commands to queue in the ``MULTI`` of the ``SET`` that stores ``key``.

    ``px`` is the entry's lifetime in Redis (milliseconds, ``None``: never
    expires), ``expires_at`` the same in the store's clock; ``now`` is that
    clock's time.
    """
    score: float | str = "+inf" if expires_at is None else expires_at
    lifetime = _FOREVER_MS if px is None else px
    prune_below = f"({now - PRUNE_GRACE_S!r}"  # "(": strictly below
    commands: list[Command] = []
    for tag in dict.fromkeys(tags):  # a tag given twice is indexed once
        name = tag_set_name(namespace, tag)
        commands += [
            ("ZREMRANGEBYSCORE", name, "-inf", prune_below),
            ("ZADD", name, "GT", score, key),
            ("PEXPIRE", name, lifetime, "NX"),
            ("PEXPIRE", name, lifetime, "GT"),
        ]
    return commands
