"""Numbers, money and times as the report writes them for people.

May import: the standard library only.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["count", "percent", "size", "usd", "utc"]


def percent(rate: float | None) -> str:
    """A hit rate (0 to 1) as ``75.0%``; ``-`` when there was nothing to rate."""
    return "-" if rate is None else f"{rate * 100:.1f}%"


def usd(amount: float) -> str:
    """Dollars: to the cent from a cent up (``$1,234.50``); below, two significant digits.

    One cached call often saves a fraction of a cent (``$0.00021``): rounded
    to the cent it would read as nothing.
    """
    if amount == 0:
        return "$0.00"
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    if round(value, 2) >= 0.01:
        return f"{sign}${value:,.2f}"
    decimals = 1 - math.floor(math.log10(value))
    return f"{sign}${value:.{decimals}f}"


def count(number: int) -> str:
    """A count with thousands separators: ``12,345``."""
    return f"{number:,}"


def utc(at: float, layout: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Epoch seconds as a UTC time in ``layout`` (strftime)."""
    return datetime.fromtimestamp(at, UTC).strftime(layout)


def size(count: int) -> str:
    """A byte count: ``512 B``, ``12.3 KiB``, ``4.0 MiB``, up to GiB."""
    if count < 1024:
        return f"{count} B"
    value, unit = count / 1024, "KiB"
    for larger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{value:.1f} {unit}"
