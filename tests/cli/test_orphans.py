"""Tests for ``--orphans``: a tiny real project, whose tests are renamed and deleted under it.

Each test writes a project into ``tmp_path`` (the root, with a ``pytest.ini``)
and cassettes for its tests; ``clean --orphans`` then collects the project
with pytest in a subprocess.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from exllm_py.testing.migration import legacy_cassette_path_for
from tests.cli.conftest import CassetteDir, Result, days_ago, interaction

# Only tests marked live_api own cassettes: every module here marks all its tests.
MARKED = "import pytest\n\npytestmark = pytest.mark.live_api\n\n"

CHAT = """
import pytest

pytestmark = pytest.mark.live_api


def test_hello():
    pass


@pytest.mark.parametrize("model", ["gpt-4o", "a/b c"])
def test_models(model):
    pass


class TestGroup:
    def test_inner(self):
        pass


def test_old_name():
    pass
"""

CHAT_IDS = [
    "tests/test_chat.py::test_hello",
    "tests/test_chat.py::test_models[gpt-4o]",
    "tests/test_chat.py::test_models[a/b c]",
    "tests/test_chat.py::TestGroup::test_inner",
    "tests/test_chat.py::test_old_name",
]


@pytest.fixture
def project(
    tmp_path: Path, cassettes: CassetteDir, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """A project with two test modules, and a cassette for each of their tests."""
    # The collecting pytest inherits the environment. Without the installed
    # plugins (hypothesis alone takes seconds to import) it starts in a
    # fraction of the time; the console-script test collects with all of them.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    _module(tmp_path, "tests/test_chat.py", CHAT)
    _module(tmp_path, "tests/test_other.py", MARKED + "def test_other():\n    pass\n")
    ids = [*CHAT_IDS, "tests/test_other.py::test_other"]
    return {nodeid: cassettes.add(nodeid, interaction(recorded=days_ago(100))) for nodeid in ids}


def _module(root: Path, name: str, source: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def _remaining(project: dict[str, Path]) -> set[str]:
    return {nodeid for nodeid, path in project.items() if path.exists()}


class TestRenamedTest:
    """After a test is renamed, only the old name's cassette is an orphan."""

    def test_clean_removes_exactly_the_renamed_tests_cassette(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        source = (tmp_path / "tests/test_chat.py").read_text(encoding="utf-8")
        (tmp_path / "tests/test_chat.py").write_text(
            source.replace("def test_old_name", "def test_new_name"), encoding="utf-8"
        )
        result = cli("clean", "--orphans")
        assert result.code == 0, result.err
        assert _remaining(project) == set(project) - {"tests/test_chat.py::test_old_name"}
        assert result.out.splitlines() == [
            "removed tests.test_chat/test_old_name.json (orphan: its test "
            "tests/test_chat.py::test_old_name is no longer collected from tests/test_chat.py)"
        ]

    def test_a_hand_made_copy_is_an_orphan_its_original_is_not(
        self, cli: Callable[..., Result], project: dict[str, Path]
    ) -> None:
        original = project["tests/test_chat.py::test_hello"]
        copy = original.with_name("test_hello_backup.json")
        copy.write_bytes(original.read_bytes())
        result = cli("clean", "--orphans")
        assert result.code == 0, result.err
        assert not copy.exists()
        assert _remaining(project) == set(project)
        assert result.out.splitlines() == [
            "removed tests.test_chat/test_hello_backup.json (orphan: no test collected from "
            "tests/test_chat.py uses it (its metadata names tests/test_chat.py::test_hello))"
        ]

    def test_nothing_is_an_orphan_while_every_test_exists(
        self, cli: Callable[..., Result], project: dict[str, Path]
    ) -> None:
        result = cli("clean", "--orphans")
        assert result.code == 0, result.err
        assert _remaining(project) == set(project)
        assert "nothing to remove" in result.err

    def test_a_removed_parameter_orphans_only_its_cassette(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        source = (tmp_path / "tests/test_chat.py").read_text(encoding="utf-8")
        (tmp_path / "tests/test_chat.py").write_text(
            source.replace('["gpt-4o", "a/b c"]', '["gpt-4o"]'), encoding="utf-8"
        )
        assert cli("clean", "--orphans").code == 0
        assert _remaining(project) == set(project) - {"tests/test_chat.py::test_models[a/b c]"}

    def test_list_orphans_shows_them_and_removes_nothing(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        (tmp_path / "tests/test_other.py").write_text(MARKED + "def test_renamed():\n    pass\n")
        result = cli("list", "--orphans", "--json")
        assert result.code == 0
        document = result.json()
        assert isinstance(document, list)
        assert [entry["name"] for entry in document] == ["tests.test_other/test_other.json"]
        assert _remaining(project) == set(project)


class TestMarkerRemoved:
    """A test that is no longer marked live_api no longer owns a cassette."""

    def test_its_cassette_is_an_orphan_with_the_reason(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        (tmp_path / "tests/test_other.py").write_text("def test_other():\n    pass\n")
        result = cli("clean", "--orphans")
        assert result.code == 0, result.err
        assert _remaining(project) == set(project) - {"tests/test_other.py::test_other"}
        assert result.out.splitlines() == [
            "removed tests.test_other/test_other.json (orphan: its test "
            "tests/test_other.py::test_other is no longer marked live_api)"
        ]

    def test_a_marker_a_conftest_adds_still_counts(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        (tmp_path / "tests/test_other.py").write_text("def test_other():\n    pass\n")
        (tmp_path / "conftest.py").write_text(
            "import pytest\n\n\ndef pytest_collection_modifyitems(items):\n"
            "    for item in items:\n        item.add_marker(pytest.mark.live_api)\n"
        )
        assert cli("clean", "--orphans").code == 0
        assert _remaining(project) == set(project)


class TestTestsALaterHookDrops:
    """Every test pytest collects exists, whatever later hooks do with the list of items."""

    def test_tests_a_conftest_drops_without_deselecting_keep_their_cassettes(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        # The common "skip live tests unless --live" conftest: it rewrites the
        # list in place and reports nothing as deselected.
        (tmp_path / "conftest.py").write_text(
            textwrap.dedent(
                """
                def pytest_addoption(parser):
                    parser.addoption("--live", action="store_true")


                def pytest_collection_modifyitems(config, items):
                    if not config.getoption("--live"):
                        items[:] = [item for item in items if "test_other" not in item.nodeid]
                """
            ),
            encoding="utf-8",
        )
        result = cli("clean", "--orphans")
        assert result.code == 0, result.err
        assert _remaining(project) == set(project)
        assert "nothing to remove" in result.err


class TestCassettesUnderTheirOldNames:
    """A cassette still under the name the earlier naming rule gave it is its test's."""

    def test_it_is_not_an_orphan(
        self, cli: Callable[..., Result], project: dict[str, Path], cassettes: CassetteDir
    ) -> None:
        nodeid = "tests/test_chat.py::TestGroup::test_inner"
        legacy = legacy_cassette_path_for(cassettes.path, nodeid)
        assert legacy != project[nodeid]
        project[nodeid].rename(legacy)
        result = cli("clean", "--orphans")
        assert result.code == 0, result.err
        assert legacy.exists()
        assert "nothing to remove" in result.err

    def test_a_module_folder_under_its_old_name_is_found(
        self,
        cli: Callable[..., Result],
        project: dict[str, Path],
        cassettes: CassetteDir,
        tmp_path: Path,
    ) -> None:
        _module(tmp_path, "tests/v1.2/test_api.py", MARKED + "def test_get():\n    pass\n")
        nodeid = "tests/v1.2/test_api.py::test_get"
        legacy = legacy_cassette_path_for(cassettes.path, nodeid)
        assert legacy.parent.name == "tests.v1.2.test_api"
        legacy.parent.mkdir()
        cassettes.add(nodeid).rename(legacy)
        result = cli("clean", "--orphans")
        assert result.code == 0, result.err
        assert legacy.exists()


class TestDeletedModule:
    """When a test module is deleted, all its cassettes are orphans."""

    def test_its_cassettes_go_and_the_others_stay(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        (tmp_path / "tests/test_other.py").unlink()
        result = cli("clean", "--orphans")
        assert result.code == 0
        assert _remaining(project) == set(CHAT_IDS)
        assert "its test module (tests.test_other) no longer exists" in result.out

    def test_a_wrong_root_is_refused_rather_than_every_cassette_removed(
        self,
        cli: Callable[..., Result],
        project: dict[str, Path],
        cassettes: CassetteDir,
        tmp_path: Path,
    ) -> None:
        elsewhere = tmp_path / "tests"
        result = cli(
            "clean",
            "--orphans",
            "--dir",
            str(cassettes.path),
            "--root",
            str(elsewhere),
            located=False,
        )
        assert result.code == 1
        assert "is that the project's root" in result.err
        assert _remaining(project) == set(project)


class TestUncertainModulesAreKept:
    """A module pytest cannot collect keeps its cassettes: an orphan is never a guess."""

    def test_a_module_that_fails_to_import(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        (tmp_path / "tests/test_other.py").write_text("import not_installed_anywhere\n")
        result = cli("clean", "--orphans")
        assert result.code == 0
        assert _remaining(project) == set(project)
        assert "kept tests.test_other/test_other.json" in result.err
        assert "collecting tests/test_other.py failed" in result.err

    def test_a_module_that_skips_itself(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        (tmp_path / "tests/test_other.py").write_text(
            "import pytest\npytest.skip('needs a GPU', allow_module_level=True)\n"
        )
        result = cli("clean", "--orphans")
        assert result.code == 0
        assert _remaining(project) == set(project)
        assert "collecting tests/test_other.py skipped" in result.err

    def test_tests_the_configuration_deselects_still_exist(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        (tmp_path / "pytest.ini").write_text(
            "[pytest]\nmarkers = slow\naddopts = -m 'not slow'\n", encoding="utf-8"
        )
        (tmp_path / "tests/test_other.py").write_text(
            "import pytest\n\n@pytest.mark.slow\n@pytest.mark.live_api\n"
            "def test_other():\n    pass\n"
        )
        assert cli("clean", "--orphans").code == 0
        assert _remaining(project) == set(project)

    def test_a_cassette_outside_any_module_dir_is_kept(
        self, cli: Callable[..., Result], project: dict[str, Path], cassettes: CassetteDir
    ) -> None:
        loose = cassettes.add("imported.py::test_x", interaction(recorded=days_ago(100)))
        assert loose.parent == cassettes.path / "imported"
        top = cassettes.path / "loose.json"
        loose.rename(top)
        result = cli("clean", "--orphans")
        assert result.code == 0
        assert top.exists()
        assert "kept loose.json" in result.err

    def test_when_pytest_cannot_collect_at_all_nothing_is_removed(
        self, cli: Callable[..., Result], project: dict[str, Path], tmp_path: Path
    ) -> None:
        (tmp_path / "tests/test_other.py").unlink()
        (tmp_path / "conftest.py").write_text("raise RuntimeError('broken conftest')\n")
        result = cli("clean", "--orphans")
        assert result.code == 1
        assert "pytest could not collect the tests" in result.err
        assert "broken conftest" in result.err
        assert _remaining(project) == set(project)


class TestOrphansCombined:
    """--orphans combines with the other filters like any filter."""

    def test_a_recent_orphan_survives_older_than(
        self,
        cli: Callable[..., Result],
        project: dict[str, Path],
        cassettes: CassetteDir,
        tmp_path: Path,
    ) -> None:
        recent = cassettes.add("tests/test_gone.py::test_x", interaction(recorded=days_ago(2)))
        (tmp_path / "tests/test_other.py").unlink()
        result = cli("clean", "--orphans", "--older-than", "30d")
        assert result.code == 0
        assert recent.exists()
        assert _remaining(project) == set(CHAT_IDS)
