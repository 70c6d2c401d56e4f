"""What a shared store keeps of its own use: lookups answered and missed, and the money saved.

A ``DiskStore`` or ``RedisStore`` outlives the processes that use it, and
so do these counters: ``exllm-cache stats`` reads them from the store
(:class:`StoreUsage`). Every process adds its own, from memory, in batches
(:class:`UsageBatch`), so that a hit pays for no write of its own: the
disk store writes them with the uses it records anyway, the Redis store at
most once a second. The saved cost of a hit is its entry's
``metadata["saved_cost"]`` (what the call cost when it was paid for).

A miss is counted once per call. A call that misses looks twice: a
flight's leader checks the store again before it calls the provider, in
case an identical call just landed. So the misses of a key pair up: a miss
counted is remembered, and the next miss of the same key, if less than
:data:`SAME_CALL` seconds later, is taken for that call's second look and
not counted (the one after is counted again). The hit rate is then about
hits / (hits + calls that went to the provider), as ``strategy.stats()``
has it; callers that joined an identical call in flight (one miss each,
no second look) may pair with its leader's miss instead.

A batch that fails to be written (the store down, its breaker open) is
dropped, and so are counts not yet written when a process dies: the
figures are a hint for an operator, not a ledger.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final

import attrs

from exllm_py.forksafe import renew_after_fork

__all__ = ["FLUSH_INTERVAL", "SAME_CALL", "StoreUsage", "UsageBatch", "saved_cost_of"]

#: Seconds between two writes of a process's counts, at most one per interval.
FLUSH_INTERVAL: Final = 1.0
#: Seconds within which a key's second miss is the same call's (see the module docstring).
SAME_CALL: Final = 1.0
# Keys remembered for that, at most (the oldest forgotten first).
_MISSED_KEYS: Final = 1024


@attrs.frozen
class StoreUsage:
    """Lookups a store answered (``hits``) and missed, and the USD its hits saved."""

    hits: int = 0
    misses: int = 0
    saved_cost_usd: float = 0.0

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float | None:
        """hits / lookups, ``None`` before the first lookup."""
        return self.hits / self.lookups if self.lookups else None

    def __bool__(self) -> bool:
        return bool(self.hits or self.misses or self.saved_cost_usd)

    def as_dict(self) -> dict[str, float | None]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": self.hit_rate,
            "saved_cost_usd": self.saved_cost_usd,
        }


def saved_cost_of(metadata: Mapping[str, object]) -> float:
    """The USD a hit on a response with this metadata saved (0 when its cost was unknown)."""
    saved = metadata.get("saved_cost")
    return float(saved) if isinstance(saved, int | float) and not isinstance(saved, bool) else 0.0


class UsageBatch:
    """One process's counts not yet written to its store. Thread-safe.

    ``hit``/``miss`` count (a miss once per call: see the module
    docstring); :meth:`due` says, without a lock, whether ``interval``
    seconds have passed since the last :meth:`take`, which hands over the
    counts and starts a new batch. ``clock`` is monotonic seconds.
    """

    def __init__(
        self, interval: float = FLUSH_INTERVAL, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        self._hits = self._misses = 0
        self._saved = 0.0
        self._taken_at = clock()
        self._missed: OrderedDict[str, float] = OrderedDict()

    def __repr__(self) -> str:
        return f"<UsageBatch hits={self._hits} misses={self._misses} saved={self._saved:g}>"

    def hit(self, saved_cost_usd: float) -> None:
        with self._lock:
            self._hits += 1
            self._saved += saved_cost_usd

    def miss(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            missed = self._missed
            counted = missed.pop(key, None)
            if counted is not None and now - counted < SAME_CALL:
                return  # the second look of the call whose miss was counted
            self._misses += 1
            missed[key] = now
            if len(missed) > _MISSED_KEYS:
                missed.popitem(last=False)

    def __bool__(self) -> bool:
        """Whether anything was counted since the last take (read without the lock: a hint)."""
        return bool(self._hits or self._misses)

    def due(self) -> bool:
        return self.clock() - self._taken_at >= self.interval

    def take(self) -> StoreUsage:
        """The counts since the last take (possibly nothing: falsy); a new batch begins."""
        with self._lock:
            batch = StoreUsage(self._hits, self._misses, self._saved)
            self._hits = self._misses = 0
            self._saved = 0.0
            self._taken_at = self.clock()
        return batch
