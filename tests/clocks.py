"""A clock for tests: time moves only when the test says so."""

from __future__ import annotations


class FakeClock:
    """Epoch seconds that advance by ``tick()``; pass it where a store takes ``clock=``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds
