"""Tests for exllm_py.cli.locate: the root and cassette dir, found as pytest and the plugin do."""

from __future__ import annotations

from pathlib import Path

import pytest

from exllm_py.cli.context import CommandFailed
from exllm_py.cli.locate import find_root, locate


def _where(cwd: Path, env: dict[str, str] | None = None, **given: str) -> tuple[Path, Path]:
    found = locate(root=given.get("root"), directory=given.get("dir"), cwd=cwd, env=env or {})
    return found.root, found.cassette_dir


class TestRoot:
    """The root is the nearest directory up that configures pytest."""

    def test_pytest_ini_in_a_parent(self, tmp_path: Path) -> None:
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        (tmp_path / "tests" / "live").mkdir(parents=True)
        assert find_root(tmp_path / "tests" / "live") == tmp_path

    def test_pyproject_counts_only_with_pytest_options(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
        inner = tmp_path / "pkg"
        inner.mkdir()
        (inner / "pyproject.toml").write_text("[project]\nname = 'x'\n")
        assert find_root(inner) == tmp_path

    def test_setup_cfg_and_tox_ini_need_their_sections(self, tmp_path: Path) -> None:
        (tmp_path / "setup.cfg").write_text("[metadata]\nname = x\n")
        assert find_root(tmp_path) == tmp_path  # nothing found above: the start
        (tmp_path / "a").mkdir()
        (tmp_path / "tox.ini").write_text("[pytest]\naddopts = -q\n")
        assert find_root(tmp_path / "a") == tmp_path

    def test_a_missing_root_option_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(CommandFailed, match="no such directory"):
            _where(tmp_path, root="nope")


class TestCassetteDir:
    """--dir, else EXLLM_TEST_CACHE_DIR, else the exllm_cassette_dir ini option, else cassettes."""

    def test_default_is_cassettes_under_the_root(self, tmp_path: Path) -> None:
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        (tmp_path / "tests").mkdir()
        assert _where(tmp_path / "tests") == (tmp_path, tmp_path / "cassettes")

    def test_the_ini_option_from_pyproject(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text(
            '[tool.pytest.ini_options]\nexllm_cassette_dir = "tests/recordings"\n'
        )
        assert _where(tmp_path)[1] == tmp_path / "tests" / "recordings"

    def test_the_ini_option_from_pytest_ini(self, tmp_path: Path) -> None:
        (tmp_path / "pytest.ini").write_text("[pytest]\nexllm_cassette_dir = rec\n")
        assert _where(tmp_path)[1] == tmp_path / "rec"

    def test_the_environment_wins_over_the_ini(self, tmp_path: Path) -> None:
        (tmp_path / "pytest.ini").write_text("[pytest]\nexllm_cassette_dir = rec\n")
        env = {"EXLLM_TEST_CACHE_DIR": "elsewhere"}
        assert _where(tmp_path, env)[1] == tmp_path / "elsewhere"

    def test_the_dir_option_wins_and_is_relative_to_the_working_directory(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "pytest.ini").write_text("[pytest]\nexllm_cassette_dir = rec\n")
        (tmp_path / "sub").mkdir()
        env = {"EXLLM_TEST_CACHE_DIR": "elsewhere"}
        assert _where(tmp_path / "sub", env, dir="mine")[1] == tmp_path / "sub" / "mine"

    def test_a_file_where_the_dir_should_be_is_an_error(self, tmp_path: Path) -> None:
        (tmp_path / "cassettes").write_text("")
        with pytest.raises(CommandFailed, match="is not a directory"):
            _where(tmp_path, root=".")
