"""Where the tick marks of a chart go, and what they say.

Value axes start at zero and end on a round number a little above the
largest value (steps of 1, 2 or 5 times a power of ten); time axes put their
ticks on round UTC times (every 5 minutes, every hour, every day, …) so
that a reader can tell when something happened without reading a table.

May import: :mod:`exllm_py.report.numbers`, the standard library and attrs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs

from exllm_py.report.numbers import utc

__all__ = ["Axis", "time_axis", "value_axis"]

# Tick spacings on a time axis, in seconds: round to the eye, from a second to a year.
_DAY = 86_400
_TIME_STEPS = (
    *(1, 2, 5, 10, 15, 30),
    *(60, 120, 300, 600, 900, 1800),
    *(3600, 7200, 10_800, 21_600, 43_200),
    *(_DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY, 91 * _DAY, 365 * _DAY),
)


@attrs.frozen
class Axis:
    """A chart axis: the range it spans, its ticks (value, label) and its title."""

    lo: float
    hi: float
    ticks: tuple[tuple[float, str], ...]
    title: str


def value_axis(
    largest: float, title: str, label: Callable[[float], str], *, ticks: int = 5
) -> Axis:
    """An axis from 0 to a round number at or above ``largest``, with about ``ticks`` ticks."""
    if not largest > 0:  # nothing above zero (or NaN): one unit of room, so 0 sits at the bottom
        largest = 1.0
    raw = largest / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    # Rounded to the step's digits: 5 * 2e-06 is 9.999999999999999e-06 in binary floats.
    digits = 1 - math.floor(math.log10(step))
    values = [round(i * step, digits) for i in range(math.ceil(largest / step) + 1)]
    if values[-1] < largest:  # the rounding took the top under the largest value
        values.append(round(values[-1] + step, digits))
    return Axis(0.0, values[-1], tuple((v, label(v)) for v in values), title)


def time_axis(start: float, end: float, title: str, *, ticks: int = 6) -> Axis:
    """An axis from ``start`` to ``end`` (epoch seconds), ticks on round UTC times."""
    if end <= start:  # one moment: give it a minute either side, so it sits in the middle
        start, end = start - 60, end + 60
    span = end - start
    step = next((s for s in _TIME_STEPS if span / s <= ticks), None)
    if step is None:
        step = _TIME_STEPS[-1] * math.ceil(span / ticks / _TIME_STEPS[-1])
    layout = "%H:%M:%S" if step < 60 else "%H:%M" if step < _DAY else "%Y-%m-%d"
    first = math.ceil(start / step) * step
    marks = tuple((float(at), utc(at, layout)) for at in range(int(first), int(end) + 1, int(step)))
    return Axis(start, end, marks, title)
