"""``Deadlines``: a store's entry deadlines, soonest first, at a few bytes per entry.

``MemoryStore`` asks which keys have come due without scanning its entries.
A heap of ``(deadline, key)`` tuples answers that, at a tuple per entry.
But entries stored under one TTL by a clock that moves forward (the usual
store: one default TTL) come with deadlines in order, so most deadlines go
to the back of a *run*: two deques, of deadlines and of keys, in order, at
one reference each. Only a deadline earlier than the run's last (a shorter
TTL, a clock set back) goes to the heap. The soonest deadline is the head
of the run or of the heap, so every operation stays O(1) or O(log n).

Items are never removed but when they come due or at :meth:`reset`: the
store checks each due item against the entry it names (replaced and
deleted entries leave theirs behind) and rebuilds from its live entries
when stale items pile up.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable

__all__ = ["Deadlines"]


class Deadlines:
    """``(deadline, key)`` items, handed out soonest first once due; stale items included."""

    __slots__ = ("_heap", "_keys", "_times")

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self._keys: deque[str] = deque()
        self._heap: list[tuple[float, str]] = []

    def push(self, deadline: float, key: str) -> None:
        times = self._times
        if not times or deadline >= times[-1]:
            times.append(deadline)
            self._keys.append(key)
        else:
            heapq.heappush(self._heap, (deadline, key))

    def pop_due(self, now: float) -> tuple[float, str] | None:
        """The soonest item if its deadline is ``now`` or earlier (and remove it), else None."""
        times, heap = self._times, self._heap
        from_run = bool(times) and (not heap or times[0] <= heap[0][0])
        if from_run:
            if times[0] <= now:
                return times.popleft(), self._keys.popleft()
        elif heap and heap[0][0] <= now:
            return heapq.heappop(heap)
        return None

    def reset(self, items: Iterable[tuple[float, str]]) -> None:
        """Hold ``items`` only (a store's live deadlines): one run, in order."""
        ordered = sorted(items)
        self._times = deque(deadline for deadline, _ in ordered)
        self._keys = deque(key for _, key in ordered)
        self._heap = []

    def clear(self) -> None:
        self.reset(())

    def __len__(self) -> int:
        return len(self._times) + len(self._heap)
