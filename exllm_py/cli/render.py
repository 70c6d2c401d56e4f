"""Output for people (aligned tables, sizes, ages) and for scripts (JSON).

Tables are plain text: one header row, columns separated by two spaces,
numbers right-aligned, so that ``exllm-cache list | sort`` and a glance
both work. Text read from a cassette is printed through :func:`clean`: a
file written by an older exllm_py, or edited by hand, may hold a URL's
password or a key, and the CLI's output lands in terminals and CI logs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from exllm_py.secret_patterns import hide_url_credentials, redact_secrets
from exllm_py.testing.files import utc_timestamp

__all__ = ["ago", "clean", "json_text", "size", "table", "timestamp", "truncate"]


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Collection[int] = ()
) -> str:
    """``rows`` under ``headers`` as aligned columns; the columns in ``right`` right-aligned."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in (headers, *rows):
        cells = [
            cell.rjust(widths[index]) if index in right else cell.ljust(widths[index])
            for index, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


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
