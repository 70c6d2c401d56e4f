"""Output for people (aligned tables, sizes, ages, dollars, colour) and for scripts (JSON).

Tables are aligned text: one header row, columns separated by two spaces,
numbers right-aligned, so that ``exllm-cache list | sort`` and a glance
both work. Text read from a cassette is printed through :func:`clean`: a
file written by an older exllm_py, or edited by hand, may hold a URL's
password or a key, and the CLI's output lands in terminals and CI logs.

Colour (:class:`Palette`) is for terminals only, and follows the common
switches: ``NO_COLOR`` (any non-empty value) turns it off, else
``FORCE_COLOR`` (any non-empty value) turns it on, else it is on when the
stream is a terminal whose ``TERM`` is not ``dumb``. Styles are applied
after padding, so escape codes never shift a column.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO

import attrs
import orjson

from exllm_py.cli.progress import is_terminal
from exllm_py.secret_patterns import hide_url_credentials, redact_secrets
from exllm_py.testing.files import utc_timestamp

__all__ = [
    "PLAIN",
    "Palette",
    "ago",
    "clean",
    "dollars",
    "json_text",
    "size",
    "table",
    "timestamp",
    "truncate",
]

#: Cells that stand for "nothing here"; dimmed so that the values stand out.
_PLACEHOLDERS = frozenset({"-", "never", "unknown"})
_RESET = "\x1b[0m"


@attrs.frozen
class Palette:
    """ANSI styles for one output stream; with ``enabled`` false, text comes back unchanged."""

    enabled: bool = False

    @classmethod
    def for_stream(cls, stream: TextIO, env: Mapping[str, str]) -> Palette:
        """Colour for ``stream``: off with ``NO_COLOR``, on with ``FORCE_COLOR``, else if a tty."""
        if env.get("NO_COLOR"):
            return cls(enabled=False)
        if env.get("FORCE_COLOR"):
            return cls(enabled=True)
        return cls(enabled=env.get("TERM") != "dumb" and is_terminal(stream))

    def bold(self, text: str) -> str:
        """Headers and labels."""
        return self._style("1", text)

    def dim(self, text: str) -> str:
        """Placeholders and secondary detail."""
        return self._style("2", text)

    def red(self, text: str) -> str:
        """Problems: unreadable files, error answers."""
        return self._style("31", text)

    def green(self, text: str) -> str:
        """What went well: a 2xx status."""
        return self._style("32", text)

    def _style(self, code: str, text: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{code}m{text}{_RESET}"


#: No colour: what scripts, pipes and ``--json`` get.
PLAIN = Palette()


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Collection[int] = (),
    palette: Palette = PLAIN,
) -> str:
    """``rows`` under ``headers`` as aligned columns; the columns in ``right`` right-aligned.

    With a ``palette`` that is on, the header row is bold and placeholder
    cells (``-``, ``never``) are dim.
    """
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = [_line(headers, widths, right, palette.bold)]
    for row in rows:
        lines.append(_line(row, widths, right, lambda cell: _cell_style(cell, palette)))
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int], right: Collection[int], style: Any) -> str:
    padded = []
    for index, cell in enumerate(cells):
        padding = " " * (widths[index] - len(cell))
        styled = style(cell)
        padded.append(padding + styled if index in right else styled + padding)
    return "  ".join(padded).rstrip()


def _cell_style(cell: str, palette: Palette) -> str:
    return palette.dim(cell) if cell in _PLACEHOLDERS else cell


def size(count: int) -> str:
    """A byte count for people: ``512 B``, ``12.3 KiB``, ``4.0 MiB``."""
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def dollars(amount: float | None) -> str:
    """An amount in USD for people: ``$1.25``, ``$0.012``, ``$0.000007``; ``-`` for ``None``.

    From a cent up, to the cent; below it (what one call usually costs), to
    two significant digits without trailing zeros, never in exponent notation.
    """
    if amount is None:
        return "-"
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    if value == 0:
        return "$0.00"
    decimals = 1 - math.floor(math.log10(value))
    rounded = round(value, decimals)
    if rounded >= 0.01:
        return f"{sign}${value:,.2f}"
    return f"{sign}${rounded:.{decimals}f}".rstrip("0")


def ago(moment: datetime | None, now: datetime) -> str:
    """How long before ``now`` ``moment`` was (``45s ago``, ``40d ago``); ``never`` for ``None``."""
    if moment is None:
        return "never"
    elapsed = now - moment
    if elapsed < timedelta(0):
        return "just now"
    seconds = int(elapsed.total_seconds())
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit} ago"
    return f"{seconds}s ago"


def timestamp(moment: datetime | None) -> str | None:
    """``moment`` as the test cache writes times, ``2025-01-31T12:00:00Z``; ``None`` stays."""
    return None if moment is None else utc_timestamp(moment)


def clean(text: str) -> str:
    """``text`` fit to print: no URL userinfo, no credential query value, no key-shaped string."""
    return redact_secrets(hide_url_credentials(text))


def truncate(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def json_text(document: Any) -> str:
    """``document`` as indented JSON text."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8")
