"""Cache counters, as ``strategy.stats()`` reports them."""

from __future__ import annotations

import attrs

__all__ = ["CacheStats"]


@attrs.frozen
class CacheStats:
    """A snapshot of a strategy's counters; ``hit_rate`` is hits / (hits + misses).

    ``semantic_hits`` are counted in ``hits`` too.
    """

    hits: int = 0
    misses: int = 0
    puts: int = 0
    evictions: int = 0
    expirations: int = 0
    entries: int = 0
    bytes: int = 0
    #: Of ``hits``, those served by a semantic match (a question asked in other words).
    semantic_hits: int = 0

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**attrs.asdict(self), "hit_rate": self.hit_rate}
