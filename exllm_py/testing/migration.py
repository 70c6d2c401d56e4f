"""Cassettes named by the earlier naming rule, moved to where the current rule puts them.

Before names were kept apart on case-insensitive file systems
(:mod:`exllm_py.testing.paths`), a test whose name had a capital letter
(every test in a class), a ``.`` in a folder or a ``::`` in a parameter id
was recorded under its plain name: ``TestChat.test_reply.json``. Such a
file is *adopted* when its test next runs: moved to the test's current
name, so the move shows up once in version control and the file is found
from then on. A file is adopted only by the test it belongs to: the one
its metadata names (or, without metadata, the one its name reads back
as), since under the old rule two tests could share one name.

Until its test runs, ``exllm-cache clean --orphans`` counts a file under
its old name as its test's (:func:`legacy_cassette_path_for`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path, PurePosixPath

import orjson

from exllm_py.testing.paths import cassette_path_for, nodeid_for

__all__ = ["adopt_legacy_cassette", "legacy_cassette_path_for"]

# The earlier rule, frozen here as it was: it must go on naming the old files.
_LEGACY_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=+,@]")
_LEGACY_MAX_NAME = 200


def legacy_cassette_path_for(root: Path, nodeid: str) -> Path:
    """Where the earlier naming rule put the cassette of ``nodeid``."""
    file_part, _, test_part = nodeid.partition("::")
    path = PurePosixPath(file_part.replace("\\", "/"))
    if path.name:
        path = path.with_suffix("")
    module = ".".join("__" if part == ".." else part for part in path.parts if part != ".")
    name = test_part.replace("::", ".") or "module"
    return root / _legacy_safe(module) / f"{_legacy_safe(name)}.json"


def adopt_legacy_cassette(root: Path, nodeid: str) -> Path:
    """The cassette path of ``nodeid``, after moving its file from its old name if it has one.

    When the move fails (a read-only checkout), the file is used where it is.
    """
    path = cassette_path_for(root, nodeid)
    if path.exists():
        return path  # the common case: nothing to adopt, and no old name to work out
    legacy = legacy_cassette_path_for(root, nodeid)
    if legacy == path or not _belongs_to(root, legacy, nodeid):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(legacy, path)
    except OSError:
        return legacy
    with contextlib.suppress(OSError):
        legacy.parent.rmdir()  # only when the move left it empty
    return path


def _belongs_to(root: Path, legacy: Path, nodeid: str) -> bool:
    try:
        document = orjson.loads(legacy.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False  # absent, or not for us to move
    metadata = document.get("metadata") if isinstance(document, dict) else None
    recorded = metadata.get("test") if isinstance(metadata, dict) else None
    if isinstance(recorded, str) and recorded:
        return recorded == nodeid
    return nodeid_for(root, legacy) == nodeid


def _legacy_safe(name: str) -> str:
    safe = _LEGACY_UNSAFE.sub("_", name)
    if safe.startswith("."):
        safe = "_" + safe[1:]
    if safe == name and len(name) <= _LEGACY_MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[:_LEGACY_MAX_NAME]}~{digest}"
