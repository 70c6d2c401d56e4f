"""Where a test's cassette lives: ``<cassette dir>/<test module>/<test name>.json``.

The test module is its path relative to the rootdir, dotted and without
``.py`` (``tests/live/test_openai.py`` → ``tests.live.test_openai``); the
test name is the rest of the node id with ``::`` as ``.``
(``test_reply[gpt-4o]`` stays ``test_reply[gpt-4o]``).

Two tests never share a cassette, on any file system. A name is used as is
only when it is *ordinary*: its characters are safe in file names on every
platform, it reads back to exactly the node id it came from (no dot of its
own in a module folder, no ``::`` or ``.`` ambiguity in a parameter id), it
has no capital letter (``test_x[A]`` and ``test_x[a]`` are one file on macOS
and Windows) and it is not a name Windows reserves (``con``, ``nul``, …).
Any other name is made safe and gets ``~`` and a short hash of the original
appended, so it can differ from no other test's: class-based tests read
``TestChat.test_reply~1a2b3c4d.json``. The hash of a name whose only change
is ``::`` → ``.`` covers that name (as it always has), of any other the
original text, so ``test_x[a::b]`` and ``test_x[a.b]`` part ways.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

__all__ = ["cassette_path_for", "iter_cassettes", "nodeid_for"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=+,@]")
# Room for the hash suffix and ".json" within the usual 255-byte name limit.
_MAX_NAME = 200
# Device names Windows will not create a file or folder under, whatever follows the dot.
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.IGNORECASE)
_HASHED = re.compile(r"~[0-9a-f]{8}$")


def cassette_path_for(root: Path, nodeid: str) -> Path:
    """The cassette of the test ``nodeid`` under the cassette directory ``root``."""
    file_part, separator, test_part = nodeid.partition("::")
    name = test_part.replace("::", ".") or "module"
    name_exact = bool(separator) and _test_name(name) == test_part
    return (
        root
        / _module_folder(file_part)
        / f"{_file_name(name, exact=name_exact, original=separator + test_part)}.json"
    )


@functools.lru_cache(maxsize=256)
def _module_folder(file_part: str) -> str:
    # Cached: a module's tests all ask for its folder, one test after another.
    module = _dotted_module(file_part)
    return _file_name(module, exact=_module_file(module) == file_part, original=file_part)


def nodeid_for(root: Path, path: Path) -> str | None:
    """The node id whose cassette is ``path``; ``None`` when the name is hashed (lossy)."""
    relative = path.relative_to(root)
    if len(relative.parts) != 2 or relative.suffix != ".json":
        return None
    module, name = relative.parts[0], relative.stem
    if _HASHED.search(name) or _HASHED.search(module):
        return None
    return f"{_module_file(module)}::{_test_name(name)}"


def iter_cassettes(root: Path) -> Iterator[Path]:
    """Every cassette under ``root``, sorted; hidden files and dot-folders are skipped."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*.json")):
        if not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def _dotted_module(file_part: str) -> str:
    path = PurePosixPath(file_part.replace("\\", "/"))
    if path.name:  # "" and "." have no suffix to drop (and with_suffix refuses them)
        path = path.with_suffix("")
    return ".".join("__" if part == ".." else part for part in path.parts if part != ".")


def _module_file(module: str) -> str:
    """The module file a dotted module name reads back as (the inverse of the ordinary case)."""
    return "/".join(".." if part == "__" else part for part in module.split(".")) + ".py"


def _test_name(name: str) -> str:
    """The test part of a node id a file name reads back as: dots before ``[`` are ``::``."""
    head, bracket, params = name.partition("[")
    return head.replace(".", "::") + bracket + params


def _file_name(name: str, *, exact: bool, original: str) -> str:
    safe = _UNSAFE.sub("_", name)
    if safe.startswith("."):
        safe = "_" + safe[1:]  # a leading dot would hide the file
    if _RESERVED.match(safe):
        safe = "_" + safe
    if exact and safe == name and len(name) <= _MAX_NAME and name == name.lower():
        return name
    # A name that reads back exactly is hashed as written, which keeps the
    # names cassettes have always had; any other is hashed from the original,
    # in a hash of its own so that no original can pose as a written name.
    if exact:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    else:
        digest = hashlib.blake2b(
            original.encode("utf-8", "surrogatepass"), digest_size=4, person=b"exllm-nodeid"
        ).hexdigest()
    return f"{safe[:_MAX_NAME]}~{digest}"
