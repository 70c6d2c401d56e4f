"""How :class:`~exllm_py.cache.stores.redis.RedisStore` finds, confirms and removes what goes.

The candidates come from the cheapest place that holds them all:

- ``key=``: that one key;
- ``tag=``: the tag's index (``ZSCAN`` of ``<namespace>@tag:<tag>``, see
  :mod:`~exllm_py.cache.stores.redis_tags`), skipping members whose score
  says every entry written under them with the tag has expired;
- otherwise: the namespace itself, ``SCAN <namespace>:* COUNT``
  :data:`SCAN_COUNT` (never ``KEYS``, which blocks the server).

Candidates are read in pipelined batches of :data:`BATCH` ``GET``\\ s, and
each is confirmed against what it holds now: its labels and ``stored_at``
(:func:`~exllm_py.cache.stores.redis_codec.decode_summary`), whether it is
live by the store's clock, and :meth:`Invalidation.matches`. An index
member whose entry was re-set without the tag is thereby left alone, as is
a value that is not an entry (another type, another format, corrupt: a
``get`` reports and deletes those). Matches go in one pipeline per batch:
``ZREM`` from the index of each of their tags, then ``UNLINK``; only the
keys ``UNLINK`` found count, each with the size read.

Races. Nothing here locks out other writers, and the outcome errs on the
side of removing too much, never too little:

- an entry re-set between its ``GET`` and its ``UNLINK`` is removed, new
  value and all (over-invalidation: its next call is a miss);
- an entry written while the walk runs may or may not be seen (it was not
  there when the invalidation began);
- the ``ZREM`` precedes the ``UNLINK``: a writer that slips between them
  re-adds the member along with an entry that is then unlinked (a member
  too many, pruned later), while the reverse order could leave a tagged
  entry outside its index, out of every later ``invalidate(tag=)``'s reach.

Sans-I/O. :func:`plan` is a generator that yields each round trip's
commands and is sent their replies; :func:`run` and :func:`arun` drive it
with a sync or an async client, so sync and async share every decision.
Replies are taken with ``raise_on_error=False``: an error reply to a ``GET``
only means the key holds something else, while an error reply to the walk
or the removal is raised.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

import attrs

from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stores.redis_codec import EntrySummary, decode_summary
from exllm_py.cache.stores.redis_tags import Command, tag_set_name

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["BATCH", "SCAN_COUNT", "Removed", "Scope", "arun", "plan", "run"]

#: The ``COUNT`` hint of each ``SCAN`` / ``ZSCAN`` call.
SCAN_COUNT: Final = 250
#: How many candidates one round trip reads (whole values: kept well under a megabyte
#: or two for typical entries, so a batch fits in a store's per-command timeout).
BATCH: Final = 100

Replies = list[Any]
#: What :func:`plan` yields (one round trip's commands), is sent and returns.
Plan = Generator[list[Command], Replies, list["Removed"]]


@attrs.frozen
class Scope:
    """One invalidation: what to match, where, at what time, and whether to remove."""

    selector: Invalidation
    namespace: str
    now: float
    max_value_bytes: int
    dry_run: bool = False

    @property
    def prefix(self) -> str:
        return self.namespace + ":"


@attrs.frozen
class Removed:
    """An entry the invalidation removed (or, in a dry run, would remove): key and stored bytes."""

    key: str
    size: int


def plan(scope: Scope) -> Plan:
    """The round trips of ``scope``'s invalidation; returns what went (a dry run: would go)."""
    selector = scope.selector
    if selector.key is not None:
        return (yield from _settle(scope, [selector.key]))
    removed: list[Removed] = []
    pending: list[str] = []
    cursor = 0
    while True:
        (reply,) = yield [_page(scope, cursor)]
        cursor, keys = _keys_of(scope, _checked(reply))
        pending += keys
        while len(pending) >= BATCH or (cursor == 0 and pending):
            batch, pending = pending[:BATCH], pending[BATCH:]
            removed += yield from _settle(scope, batch)
        if cursor == 0:
            return removed


def run(client: redis.Redis, steps: Plan) -> list[Removed]:
    """Drive ``steps`` with a sync client: one pipeline (no ``MULTI``) per round trip."""
    try:
        commands = next(steps)
        while True:
            pipe = client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)  # type: ignore[no-untyped-call]  # unannotated in redis-py
            commands = steps.send(pipe.execute(raise_on_error=False))
    except StopIteration as done:
        removed: list[Removed] = done.value
        return removed


async def arun(client: redis.asyncio.Redis, steps: Plan) -> list[Removed]:
    """Async twin of :func:`run`."""
    try:
        commands = next(steps)
        while True:
            pipe = client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            commands = steps.send(await pipe.execute(raise_on_error=False))
    except StopIteration as done:
        removed: list[Removed] = done.value
        return removed


def _page(scope: Scope, cursor: int) -> Command:
    tag = scope.selector.tag
    if tag is not None:
        return ("ZSCAN", tag_set_name(scope.namespace, tag), cursor, "COUNT", SCAN_COUNT)
    return ("SCAN", cursor, "MATCH", scope.prefix + "*", "COUNT", SCAN_COUNT)


def _keys_of(scope: Scope, reply: Any) -> tuple[int, list[str]]:
    cursor, items = reply
    if scope.selector.tag is None:  # SCAN: entry names
        start = len(scope.prefix)
        return int(cursor), [name[start:] for name in _texts(items)]
    # ZSCAN: (member, score) pairs. A score at or before now belongs to a member whose
    # every write with this tag has expired by the store's clock: nothing to read.
    return int(cursor), list(_texts(member for member, score in items if score > scope.now))


def _settle(scope: Scope, keys: list[str]) -> Plan:
    """Read ``keys``, confirm each, remove the matches: one or two round trips."""
    values = yield [("GET", scope.prefix + key) for key in keys]
    matched = [
        (key, len(value), summary.labels.tags)
        for key, value in zip(keys, values, strict=True)
        if (summary := _confirmed(scope, key, value)) is not None
    ]
    if scope.dry_run or not matched:
        return [Removed(key, size) for key, size, _ in matched]
    # ZREM before UNLINK (see the module's docstring): a pipeline keeps their order.
    unindex: list[Command] = [
        ("ZREM", tag_set_name(scope.namespace, tag), key)
        for key, _, tags in matched
        for tag in dict.fromkeys(tags)
    ]
    replies = yield [*unindex, *(("UNLINK", scope.prefix + key) for key, _, _ in matched)]
    unlinked = [_checked(reply) for reply in replies][len(unindex) :]
    return [
        Removed(key, size) for (key, size, _), gone in zip(matched, unlinked, strict=True) if gone
    ]


def _confirmed(scope: Scope, key: str, value: object) -> EntrySummary | None:
    """The entry's summary if it is a live entry the selector matches; else ``None``."""
    if not isinstance(value, bytes):
        return None  # gone (None), or an error reply: the key holds another type
    try:
        summary = decode_summary(value, scope.max_value_bytes)
    except ValueError:
        return None  # not an entry this store can read: get() reports and deletes it
    now = scope.now
    if summary.live(now) and scope.selector.matches(key, summary.labels, summary.stored_at, now):
        return summary
    return None


def _checked(reply: Any) -> Any:
    if isinstance(reply, Exception):
        raise reply
    return reply


def _texts(names: Iterable[bytes | str]) -> Iterator[str]:
    # Cache keys are ASCII: a name that is not UTF-8 is no entry of this store's.
    for name in names:
        if isinstance(name, str):
            yield name
            continue
        try:
            yield name.decode()
        except UnicodeDecodeError:
            continue
