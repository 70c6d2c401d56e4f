"""The README's first ``live_api`` test and its ``.gitignore`` advice, run as a user runs them.

``FIRST_TEST`` is the example the README shows under "Testing with recorded
API calls", and ``GITIGNORE`` the snippet it gives for the cassette folder:
keep them and the README identical. Each project is built with pytester and
run twice, as the README says: once with a key to record, then with ``CI``
set and no key, to replay.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from exllm_py.testing.files import write_atomically
from exllm_py.testing.paths import cassette_path_for
from exllm_py.testing.usage import LEGACY_LOCK_FILE, LEGACY_USAGE_FILE, state_dir_for
from tests.fakes.provider_server import ProviderServer
from tests.testing.pytester_project import SETTINGS_ENV, plain_project

FIRST_TEST = """\
import pytest
import exllm_py


@pytest.mark.live_api
def test_summary_mentions_paris():
    resp = exllm_py.chat("openai", [{"role": "user", "content": "Capital of France?"}])
    assert "Paris" in resp.content
    # Not `resp.metadata["from_cache"] is True`: it is False on the run that
    # records the cassette, True on every replay. Assert on the answer.
"""

#: What the README used to show: right on replay, wrong on the run that records.
OLD_FIRST_TEST = """\
import pytest
import exllm_py


@pytest.mark.live_api
def test_summary_mentions_paris():
    resp = exllm_py.chat("openai", [{"role": "user", "content": "Capital of France?"}])
    assert "Paris" in resp.content
    assert resp.metadata["from_cache"] is True   # on replay
"""

GITIGNORE = """\
# exllm_py: commit cassettes/**/*.json; ignore what is one machine's or a crash's
.pytest_cache/
cassettes/**/.*.tmp
cassettes/.exllm-usage*.json
"""

# The pytest cache stays on here (unlike the other pytester projects): the
# usage state the .gitignore advice is about lives in it.
_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -p no:hypothesispytest\n"
_NODE = "tests/test_readme.py::test_summary_mentions_paris"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project: one test module under tests/, the plugin found by its entry point."""
    plain_project(pytester, monkeypatch)
    pytester.makeini(_INI)
    (pytester.path / "tests").mkdir()
    return pytester


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderServer]:
    """The provider, on loopback, reached the way a user reaches OpenAI: by the environment."""
    with ProviderServer(text="Paris is the capital of France.") as running:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{running.url}/v1")
        yield running


def _record(
    project: pytest.Pytester, source: str, monkeypatch: pytest.MonkeyPatch, *, node: str = _NODE
) -> Path:
    """Step 1 of the README: write the test and set a key to record; the cassette's path."""
    (project.path / "tests" / "test_readme.py").write_text(source, encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme-example")
    return cassette_path_for(project.path / "cassettes", node)


def _replay_as_ci(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.RunResult:
    """Step 2: CI replays, with no key and ``CI`` set (replay only)."""
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("CI", "true")
    return project.runpytest()


class TestFirstExample:
    """The README's first live_api test passes on the run that records and on every replay."""

    def test_it_passes_recording_then_replaying_offline(
        self,
        project: pytest.Pytester,
        server: ProviderServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        cassette = _record(project, FIRST_TEST, monkeypatch)
        project.runpytest().assert_outcomes(passed=1)
        assert cassette.is_file()
        assert len(server.requests) == 1
        server.stop()
        _replay_as_ci(project, monkeypatch).assert_outcomes(passed=1)
        assert len(server.requests) == 1

    def test_the_old_example_failed_on_the_recording_run(
        self,
        project: pytest.Pytester,
        server: ProviderServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        cassette = _record(project, OLD_FIRST_TEST, monkeypatch)
        recorded = project.runpytest()
        recorded.assert_outcomes(failed=1)
        recorded.stdout.fnmatch_lines(["*assert False is True*"])
        assert cassette.is_file()  # recorded all the same: the answer was real
        _replay_as_ci(project, monkeypatch).assert_outcomes(passed=1)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
    )


class TestGitignoreSnippet:
    """With the README's .gitignore, git offers the cassettes to commit and nothing else of ours."""

    def test_only_cassettes_are_left_to_commit(
        self,
        project: pytest.Pytester,
        server: ProviderServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        for name in SETTINGS_ENV:
            monkeypatch.delenv(name, raising=False)
        cassette = _record(project, FIRST_TEST, monkeypatch)
        project.runpytest().assert_outcomes(passed=1)
        root = project.path
        usage = state_dir_for(root) / "usage.json"
        assert usage.is_file(), "the run keeps its usage state in pytest's cache dir"
        # What a crash mid-write leaves (write_atomically's temporary name), and
        # the usage files of older versions, which lived among the cassettes.
        leftover = cassette.parent / f".{cassette.name}.k3j9x2ab.tmp"
        leftover.write_bytes(b"{")
        write_atomically(root / "cassettes" / LEGACY_USAGE_FILE, b"{}")
        write_atomically(root / "cassettes" / LEGACY_LOCK_FILE, b"")
        (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        assert _git(root, "init", "-q").returncode == 0

        listed = _git(root, "ls-files", "--others", "--exclude-standard")
        assert listed.returncode == 0, listed.stderr
        assert set(listed.stdout.splitlines()) == {
            ".gitignore",
            "tox.ini",  # pytester.makeini writes the ini as tox.ini
            "tests/test_readme.py",
            cassette.relative_to(root).as_posix(),
        }
        for ignored in (leftover, usage, root / "cassettes" / LEGACY_USAGE_FILE):
            checked = _git(root, "check-ignore", "-q", ignored.relative_to(root).as_posix())
            assert checked.returncode == 0, f"{ignored} is not ignored"
        kept = _git(root, "check-ignore", "-q", cassette.relative_to(root).as_posix())
        assert kept.returncode == 1, "the cassette must not be ignored"


#: The marker each runner wants, and what it adds to the test's id (anyio runs once per backend).
ASYNC_TESTS = {
    "pytest-asyncio": ("@pytest.mark.asyncio", ""),
    "anyio": ("@pytest.mark.anyio", "[asyncio]"),
}
ASYNC_TEST = """\
import pytest
import exllm_py


{marker}
@pytest.mark.live_api
async def test_summary_mentions_paris():
    resp = await exllm_py.achat("openai", [{{"role": "user", "content": "Capital of France?"}}])
    assert "Paris" in resp.content
"""


class TestAsyncTests:
    """An async live_api test records and replays under pytest-asyncio or anyio's plugin."""

    @pytest.mark.parametrize("runner", sorted(ASYNC_TESTS))
    def test_it_passes_recording_then_replaying_offline(
        self,
        project: pytest.Pytester,
        server: ProviderServer,
        monkeypatch: pytest.MonkeyPatch,
        runner: str,
    ) -> None:
        marker, suffix = ASYNC_TESTS[runner]
        source = ASYNC_TEST.format(marker=marker)
        cassette = _record(project, source, monkeypatch, node=_NODE + suffix)
        project.runpytest().assert_outcomes(passed=1)
        assert cassette.is_file()
        server.stop()
        _replay_as_ci(project, monkeypatch).assert_outcomes(passed=1)
        assert len(server.requests) == 1


class TestTheReadmeShowsThem:
    """The README holds these two blocks word for word, so what is tested is what users read."""

    def test_first_test_and_gitignore_are_in_the_readme(self) -> None:
        readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
        assert f"```python\n{FIRST_TEST}```" in readme
        assert f"```gitignore\n{GITIGNORE}```" in readme
        assert OLD_FIRST_TEST not in readme
