"""A ``RecordingNotFound`` failure shown from the test's own line.

Between the test's call and the recorder that refuses it lie a dozen
frames of exllm_py, httpx (or httpx2) and whatever SDK the test used; none
of them says anything the error's message does not. This cuts the
traceback after the last frame of the user's own code (a file outside
exllm_py, the standard library and installed packages), so pytest shows
the test's line and then the message: the request, the diff against the
closest recording, and how to record it, in that order. ``--full-trace``,
``--tb=long``, ``--tb=native`` and ``--pdb`` keep every frame.
"""

from __future__ import annotations

import functools
import sysconfig
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from exllm_py.errors import RecordingNotFound

__all__ = ["is_library_path", "trim_recording_not_found"]


def trim_recording_not_found(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Drop the frames below the user's last one, when a ``RecordingNotFound`` failed the test.

    Directly, or wrapped by an SDK (the openai SDK raises ``APIConnectionError``
    from it): then the refusal keeps no frame at all (every one of them is
    the SDK's or the HTTP stack's) and shows first, as the cause.
    """
    refusal = _recording_not_found(excinfo.value)
    if refusal is None:
        return
    if refusal is not excinfo.value:
        refusal.__traceback__ = None
    last_own: TracebackType | None = None
    frame: TracebackType | None = excinfo.tb
    while frame is not None:
        if not is_library_path(frame.tb_frame.f_code.co_filename):
            last_own = frame
        frame = frame.tb_next
    if last_own is None:
        return
    # The raw chain itself is cut: pytest rebuilds tracebacks from it when it
    # renders them, so a trimmed copy alone would not last.
    last_own.tb_next = None
    excinfo.traceback = type(excinfo.traceback)(excinfo.tb)


def _recording_not_found(error: BaseException) -> RecordingNotFound | None:
    """``error`` or the first exception it was raised from (or while handling) that is one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, RecordingNotFound):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def is_library_path(path: Any) -> bool:
    """Whether ``path`` is exllm_py's, the standard library's or an installed package's."""
    try:
        resolved = Path(str(path)).resolve()
    except (OSError, ValueError):
        return True
    if not resolved.is_file():
        return True  # "<string>" and the like: not a file the user can open
    return any(resolved.is_relative_to(root) for root in _library_roots())


@functools.cache
def _library_roots() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    roots = {Path(paths[name]).resolve() for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.add(Path(__file__).resolve().parent.parent)  # exllm_py itself, installed or not
    return tuple(roots)
