"""disk_schema: where the disk store's database lives on each platform.

The branches for Windows and macOS run here on any machine: ``sys.platform``
is set for the test, and the expected paths are built from ``Path.home()``
and the mapping passed in, as the conventions say.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from exllm_py.cache.stores.disk_schema import default_directory


class TestDefaultDirectory:
    """default_directory() follows the platform's convention for per-user caches."""

    def test_windows_uses_local_app_data(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """%LOCALAPPDATA%\\exllm_py\\Cache; without the variable (or empty), ~/AppData/Local."""
        monkeypatch.setattr(sys, "platform", "win32")
        fallback = Path.home() / "AppData" / "Local" / "exllm_py" / "Cache"
        assert default_directory({"LOCALAPPDATA": str(tmp_path)}) == tmp_path / "exllm_py" / "Cache"
        assert default_directory({}) == fallback
        assert default_directory({"LOCALAPPDATA": ""}) == fallback

    def test_windows_ignores_xdg(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """XDG_CACHE_HOME is a Unix convention: on Windows it does not move the cache."""
        monkeypatch.setattr(sys, "platform", "win32")
        env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "LOCALAPPDATA": str(tmp_path / "local")}
        assert default_directory(env) == tmp_path / "local" / "exllm_py" / "Cache"

    def test_macos_uses_library_caches(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """~/Library/Caches/exllm_py, whatever XDG_CACHE_HOME says."""
        monkeypatch.setattr(sys, "platform", "darwin")
        expected = Path.home() / "Library" / "Caches" / "exllm_py"
        assert default_directory({}) == expected
        assert default_directory({"XDG_CACHE_HOME": str(tmp_path)}) == expected

    def test_without_a_mapping_the_process_environment_is_read(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """No env argument: XDG_CACHE_HOME comes from os.environ."""
        monkeypatch.setattr(sys, "platform", "linux")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        assert default_directory() == tmp_path / "exllm_py"
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert default_directory() == Path.home() / ".cache" / "exllm_py"
