"""The test cache's files on disk: atomic replacement and the one timestamp format.

Everything the test cache writes (cassettes, the usage file) is replaced
atomically by :func:`write_atomically`, so parallel workers (``pytest -n
auto``) and readers never see half a file. Every time it writes is a UTC
timestamp to the second, ``2025-01-31T12:00:00Z``: :func:`utc_timestamp`
formats one and :func:`parse_timestamp` reads one back. The housekeeping
CLI shows times in the same format.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["TIMESTAMP_FORMAT", "parse_timestamp", "utc_timestamp", "write_atomically"]

#: How the test cache writes a moment: UTC, to the second, with a ``Z``.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Cassettes and the usage file are shared through version control or between
# users of one checkout; mkstemp creates its file readable by its owner only.
_SHARED_MODE = 0o644


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step, creating its directory if needed.

    The data goes to a temporary file beside ``path`` that is then renamed over
    it: ``os.replace`` is atomic only within one file system. The temporary
    name starts with a dot and ends in ``.tmp``, so cassette listings skip it
    should a crash leave it behind; any failure removes it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name.lstrip('.')}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, _SHARED_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def utc_timestamp(moment: datetime | None = None) -> str:
    """``moment`` (now when omitted) in UTC, to the second: ``2025-01-31T12:00:00Z``.

    A naive ``moment`` is taken to be in UTC already.
    """
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """The UTC moment ``text`` names; raises ``ValueError`` when it is not an ISO timestamp.

    Reads what :func:`utc_timestamp` writes, and any other ISO 8601 form a
    hand-edited file may hold (an offset, fractions of a second); a time
    without an offset is taken to be in UTC.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 timestamp, got {type(text).__name__} {text!r}")
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
