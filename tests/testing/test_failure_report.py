"""Tests for exllm_py.testing.failure_report: which frames are the user's own.

A failure is trimmed after the last frame of the user's code; every other
frame (exllm_py's, the standard library's, an installed package's, or one
with no file behind it) counts as the library's.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import exllm_py
from exllm_py.testing.failure_report import is_library_path


class TestLibraryPaths:
    """Only a file of the user's own is outside the library; anything unresolvable is inside."""

    def test_a_test_file_of_the_users_is_not_a_library_path(self, tmp_path: Path) -> None:
        own = tmp_path / "test_own.py"
        own.write_text("def test_x() -> None: ...\n", encoding="utf-8")
        assert not is_library_path(own)
        assert not is_library_path(str(own))

    @pytest.mark.parametrize(
        "path",
        [exllm_py.__file__, json.__file__, httpx.__file__],
        ids=["exllm_py", "stdlib", "installed"],
    )
    def test_exllm_py_the_stdlib_and_installed_packages_are(self, path: str) -> None:
        assert is_library_path(path)

    @pytest.mark.parametrize("path", ["<string>", "test_own\0.py"], ids=["no-file", "unresolvable"])
    def test_a_frame_with_no_file_to_open_is(self, path: str) -> None:
        assert is_library_path(path)
