"""A ``VectorFile``'s SQLite connection: a forked child's own, never its parent's; closed with it.

SQLite's rule is that a connection must not be used across a fork. The
parent's connection may be mid-statement in another thread at the fork,
holding SQLite's own per-connection mutex, which no thread of the child
will ever release: a child using it would hang.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from exllm_py.cache.semantic.sidecar import VectorFile
from tests.cache.forked import fork_running
from tests.cache.test_fork_safety import CHILD_LIMIT_S, wait_bounded

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def keys_of(file: VectorFile) -> list[str]:
    return sorted(key for key, *_ in file.rows())


class TestAForkedChild:
    """The child reads and writes vectors through a connection of its own; the parent goes on."""

    def test_a_statement_running_in_the_parent_at_the_fork_does_not_hang_the_child(
        self, tmp_path: Path
    ) -> None:
        file = VectorFile(tmp_path, "words")
        file.save("parent", "p", "q1", [1.0, 0.0])
        inside, go = threading.Event(), threading.Event()

        def hold_the_statement() -> int:
            inside.set()
            go.wait(CHILD_LIMIT_S)
            return 0  # go on

        # A slow read: the progress handler keeps the statement inside SQLite.
        file._connection.set_progress_handler(hold_the_statement, 1)
        reader = threading.Thread(target=keys_of, args=(file,))
        reader.start()
        try:
            assert inside.wait(5), "the reader never started its statement"

            def in_child() -> None:
                file.save("child", "p", "q2", [0.0, 1.0])
                assert keys_of(file) == ["child", "parent"]
                file.close()

            pid = fork_running(in_child)
        finally:
            go.set()
            reader.join(CHILD_LIMIT_S)
        status = wait_bounded(pid, CHILD_LIMIT_S)
        assert os.WIFEXITED(status), f"the child ended by signal {os.WTERMSIG(status)}"
        assert os.WEXITSTATUS(status) == 0, "the child failed (traceback above)"
        file._connection.set_progress_handler(None, 1)
        assert keys_of(file) == ["child", "parent"]

    def test_the_parent_keeps_its_connection_after_the_child_closes_the_file(
        self, tmp_path: Path
    ) -> None:
        file = VectorFile(tmp_path, "words")
        file.save("parent-1", "p", "q1", [1.0, 0.0])
        pid = fork_running(file.close)
        status = wait_bounded(pid, CHILD_LIMIT_S)
        assert os.WIFEXITED(status)
        assert os.WEXITSTATUS(status) == 0
        file.save("parent-2", "p", "q2", [0.5, 0.5])
        assert keys_of(file) == ["parent-1", "parent-2"]
        file.close()


class TestClosing:
    """Closing the file closes its connection: SQLite folds the write-ahead log back in."""

    def test_no_write_ahead_log_is_left_beside_a_closed_file(self, tmp_path: Path) -> None:
        file = VectorFile(tmp_path, "words")
        file.save("key", "p", "question", [1.0, 0.0])
        wal = file.path.with_name(file.path.name + "-wal")
        assert wal.exists()
        file.close()
        assert not wal.exists()
        assert keys_of(VectorFile(tmp_path, "words")) == ["key"]
