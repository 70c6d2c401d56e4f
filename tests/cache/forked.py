"""Running test work in a forked child: the one way the fork-safety tests start one."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable

__all__ = ["fork_running"]


def fork_running(work: Callable[[], object]) -> int:
    """Fork a child that runs ``work`` and exits 0, or 1 with the traceback on stderr; its pid."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            work()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid
