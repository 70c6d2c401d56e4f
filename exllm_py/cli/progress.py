"""A progress bar on stderr, for commands that walk large trees; only on a terminal.

When stderr is not a terminal (CI logs, pipes, tests) nothing is drawn, so
scripts never see control characters. Redraws are limited to ten a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import TextIO, TypeVar

__all__ = ["Progress", "is_terminal", "track"]

T = TypeVar("T")

_WIDTH = 30
_INTERVAL = 0.1


class Progress:
    """A bar of ``done/total`` items with a label, redrawn in place on ``stream``."""

    def __init__(
        self,
        stream: TextIO,
        label: str,
        total: int,
        *,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.done = 0
        self.enabled = is_terminal(stream) if enabled is None else enabled
        self._clock = clock
        self._drawn_at: float | None = None

    def advance(self, count: int = 1) -> None:
        """``count`` more items are done; redraws if enough time has passed."""
        self.done += count
        if not self.enabled:
            return
        now = self._clock()
        if self._drawn_at is None or now - self._drawn_at >= _INTERVAL or self.done >= self.total:
            self._drawn_at = now
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def line(self) -> str:
        """The bar as text: ``label [#####-----] 12/40``."""
        filled = _WIDTH * self.done // self.total if self.total else _WIDTH
        return f"{self.label} [{'#' * filled}{'-' * (_WIDTH - filled)}] {self.done}/{self.total}"

    def close(self) -> None:
        """Erase the bar, leaving the line for what follows."""
        if self.enabled and self._drawn_at is not None:
            self.stream.write("\r" + " " * len(self.line()) + "\r")
            self.stream.flush()
            self._drawn_at = None


def track(items: Iterable[T], stream: TextIO, label: str) -> Iterator[T]:
    """Yield ``items``, drawing their progress on ``stream`` when it is a terminal."""
    sequence = items if isinstance(items, Sized) else list(items)
    bar = Progress(stream, label, len(sequence))
    try:
        for item in sequence:
            yield item
            bar.advance()
    finally:
        bar.close()


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is attached to a terminal (a replaced or closed stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
