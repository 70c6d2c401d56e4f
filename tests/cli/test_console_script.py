"""The real ``exllm-cache`` console script and ``python -m exllm_py.cli``, run as processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import CassetteDir, days_ago, interaction

SCRIPT = shutil.which("exllm-cache", path=str(Path(sys.executable).parent))


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.mark.skipif(SCRIPT is None, reason="exllm-cache is not installed in this environment")
class TestConsoleScript:
    """The installed script finds the project from the working directory and exits as documented."""

    def test_make_cache_clean_removes_only_the_renamed_tests_cassette(
        self, tmp_path: Path, cassettes: CassetteDir
    ) -> None:
        (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
        module = tmp_path / "tests" / "test_chat.py"
        module.parent.mkdir()
        module.write_text(
            "import pytest\n\npytestmark = pytest.mark.live_api\n\n\n"
            "def test_kept():\n    pass\n\n\ndef test_renamed():\n    pass\n"
        )
        kept = cassettes.add("tests/test_chat.py::test_kept", interaction(recorded=days_ago(9)))
        old = cassettes.add("tests/test_chat.py::test_before", interaction(recorded=days_ago(9)))
        assert SCRIPT is not None
        done = _run(SCRIPT, "clean", "--orphans", cwd=tmp_path / "tests")
        assert done.returncode == 0, done.stderr
        assert kept.exists()
        assert not old.exists()
        assert "removed tests.test_chat/test_before.json" in done.stdout

    def test_stats_json_and_a_usage_error(self, tmp_path: Path, cassettes: CassetteDir) -> None:
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        cassettes.add("tests/test_chat.py::test_kept")
        assert SCRIPT is not None
        done = _run(SCRIPT, "stats", "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["cassettes"] == 1
        bad = _run(SCRIPT, "clean", "--older-than", "soon", cwd=tmp_path)
        assert bad.returncode == 2
        assert "usage: exllm-cache clean" in bad.stderr


class TestModule:
    """``python -m exllm_py.cli`` is the same program."""

    def test_verify_exit_status(self, tmp_path: Path, cassettes: CassetteDir) -> None:
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        path = cassettes.add("tests/test_chat.py::test_kept")
        ok = _run(sys.executable, "-m", "exllm_py.cli", "verify", cwd=tmp_path)
        assert ok.returncode == 0, ok.stderr
        path.write_text("{", encoding="utf-8")
        bad = _run(sys.executable, "-m", "exllm_py.cli", "verify", cwd=tmp_path)
        assert bad.returncode == 1
        assert "corrupt" in bad.stdout
