"""Where a test's cassette lives: ``<cassette dir>/<test module>/<test name>.json``.

The test module is its path relative to the rootdir, dotted and without
``.py`` (``tests/live/test_openai.py`` → ``tests.live.test_openai``); the
test name is the rest of the node id with ``::`` as ``.``
(``TestChat::test_reply[gpt-4o]`` → ``TestChat.test_reply[gpt-4o]``).
Characters that are not safe in file names on every platform become ``_``,
and a short hash of the original name is appended so that two ids never
share a cassette.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

__all__ = ["cassette_path_for", "iter_cassettes", "nodeid_for"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=+,@]")
# Room for the hash suffix and ".json" within the usual 255-byte name limit.
_MAX_NAME = 200


def cassette_path_for(root: Path, nodeid: str) -> Path:
    """The cassette of the test ``nodeid`` under the cassette directory ``root``."""
    file_part, _, test_part = nodeid.partition("::")
    parts = PurePosixPath(file_part.replace("\\", "/")).with_suffix("").parts
    module = ".".join("__" if part == ".." else part for part in parts if part != ".")
    name = test_part.replace("::", ".") or "module"
    return root / _safe(module) / f"{_safe(name)}.json"


def nodeid_for(root: Path, path: Path) -> str | None:
    """The node id whose cassette is ``path``; ``None`` when the name was made safe (lossy).

    Exact for ordinary names: module directories without dots of their own
    and test ids whose characters were all safe.
    """
    relative = path.relative_to(root)
    if len(relative.parts) != 2 or relative.suffix != ".json":
        return None
    module, name = relative.parts[0], relative.stem
    if _HASHED.search(name) or _HASHED.search(module):
        return None
    head, bracket, params = name.partition("[")
    test = "::".join(head.split(".")) + bracket + params
    return f"{module.replace('.', '/')}.py::{test}"


def iter_cassettes(root: Path) -> Iterator[Path]:
    """Every cassette under ``root``, sorted; hidden files (usage, temporaries) are skipped."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*.json")):
        if not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


_HASHED = re.compile(r"~[0-9a-f]{8}$")


def _safe(name: str) -> str:
    safe = _UNSAFE.sub("_", name)
    if safe.startswith("."):
        safe = "_" + safe[1:]  # a leading dot would hide the file
    if safe == name and len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{safe[:_MAX_NAME]}~{digest}"
