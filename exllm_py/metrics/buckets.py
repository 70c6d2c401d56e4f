"""Histogram bucket boundaries, in seconds, for the cache's two latencies.

Both bridges may use them, so that a dashboard reads the same buckets
whichever exported the data. This module imports nothing: a bridge takes
it without pulling in the other bridge's library.
"""

from __future__ import annotations

from typing import Final

__all__ = ["HIT_BUCKETS", "MISS_BUCKETS"]

#: A MemoryStore hit takes microseconds, a Redis or disk hit up to milliseconds.
HIT_BUCKETS: Final = (
    5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1,
)  # fmt: skip
#: A provider answers in a fraction of a second to minutes (long generations).
MISS_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
