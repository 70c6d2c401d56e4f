"""A forked child can use a ``DiskStore`` even if a parent thread held its lock at the fork.

The child inherits that lock held, but not the thread that would release
it. The store's lock is held in a second thread across a real
``os.fork()``; the child must finish a miss and a hit within a bounded
time, or it is killed and the test fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exllm_py.cache.stores.disk import DiskStore
from tests.cache.test_fork_safety import cached_twice, run_in_child_while_held, strategy_on

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


class TestALockHeldAtTheFork:
    """The child gets a lock of its own, and its cache calls complete."""

    def test_disk_store(self, tmp_path: Path) -> None:
        store = DiskStore(tmp_path)
        client, strategy = strategy_on(store)
        run_in_child_while_held(store, "_lock", lambda: cached_twice(client, strategy))
