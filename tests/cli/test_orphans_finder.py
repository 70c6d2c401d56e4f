"""Tests for exllm_py.cli.orphans, in process: which cassettes are orphans, and why.

The command's own tests run ``exllm-cache`` in a subprocess; these call
:func:`find_orphans` and :class:`ModuleFinder` directly, on test modules
written to disk and on pytest collection results as the collector reports
them (``collect=`` is the collector the command injects).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import pytest

from exllm_py.cli.context import CommandFailed
from exllm_py.cli.inventory import CassetteInfo
from exllm_py.cli.orphans import ModuleFinder, OrphanReport, find_orphans
from exllm_py.cli.pytest_collection import Collected
from exllm_py.testing.migration import legacy_cassette_path_for
from exllm_py.testing.paths import cassette_path_for

ENV = {"PATH": "/usr/bin"}
MODULE = "tests/test_a.py"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for module in (MODULE, "tests/test_b.py"):
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text("def test_one():\n    pass\n")
    return tmp_path


@pytest.fixture
def cassette_dir(root: Path) -> Path:
    return root / "cassettes"


def info(cassette_dir: Path, path: Path, test_id: str | None) -> CassetteInfo:
    """A cassette's inventory entry, as ``exllm-cache`` reads it from its file."""
    name = path.relative_to(cassette_dir).as_posix()
    moment = datetime(2025, 1, 31, tzinfo=UTC)
    module = name.rpartition("/")[0]
    return CassetteInfo(path, name, module, test_id, (), 1, 10, moment, moment, None, moment)


def of_test(cassette_dir: Path, node_id: str, *, recorded: str | None = "same") -> CassetteInfo:
    test_id = node_id if recorded == "same" else recorded
    return info(cassette_dir, cassette_path_for(cassette_dir, node_id), test_id)


class Collector:
    """Answers with a fixed collection result and remembers how it was asked."""

    def __init__(self, collected: Collected) -> None:
        self.collected = collected
        self.asked: list[tuple[Path, list[str], Mapping[str, str], TextIO]] = []

    def __call__(
        self, root: Path, modules: Sequence[str], env: Mapping[str, str], progress: TextIO
    ) -> Collected:
        self.asked.append((root, list(modules), env, progress))
        return self.collected


def judge(
    cassettes: list[CassetteInfo], root: Path, cassette_dir: Path, collected: Collected
) -> OrphanReport:
    return find_orphans(
        cassettes,
        root=root,
        cassette_dir=cassette_dir,
        env=ENV,
        progress=io.StringIO(),
        collect=Collector(collected),
    )


def passed(*node_ids: str, modules: Sequence[str] = (MODULE,)) -> Collected:
    """Every module collected; the tests ``node_ids``, all marked ``live_api``."""
    ids = frozenset(node_ids)
    return Collected(ids, dict.fromkeys(modules, "passed"), live_api=ids)


class TestVerdicts:
    """Each cassette is kept, called an orphan, or kept as unknown, with the reason."""

    def test_a_cassette_of_a_collected_test_is_kept(self, root: Path, cassette_dir: Path) -> None:
        live = of_test(cassette_dir, f"{MODULE}::test_one")
        old_name = info(
            cassette_dir, legacy_cassette_path_for(cassette_dir, f"{MODULE}::test_one"), None
        )
        report = judge([live, old_name], root, cassette_dir, passed(f"{MODULE}::test_one"))
        assert report == OrphanReport({}, {})

    def test_a_test_no_longer_collected_orphans_its_cassette(
        self, root: Path, cassette_dir: Path
    ) -> None:
        gone = of_test(cassette_dir, f"{MODULE}::test_gone")
        report = judge([gone], root, cassette_dir, passed(f"{MODULE}::test_one"))
        assert report.orphans == {
            gone.name: f"its test {MODULE}::test_gone is no longer collected from {MODULE}"
        }

    def test_a_test_no_longer_marked_live_api_orphans_its_cassette(
        self, root: Path, cassette_dir: Path
    ) -> None:
        unmarked = of_test(cassette_dir, f"{MODULE}::test_one")
        collected = Collected(frozenset({f"{MODULE}::test_one"}), {MODULE: "passed"})
        report = judge([unmarked], root, cassette_dir, collected)
        assert report.orphans == {
            unmarked.name: f"its test {MODULE}::test_one is no longer marked live_api"
        }

    def test_a_copy_under_another_name_is_an_orphan(self, root: Path, cassette_dir: Path) -> None:
        copy = info(
            cassette_dir, cassette_dir / "tests.test_a" / "copy.json", f"{MODULE}::test_one"
        )
        anonymous = info(cassette_dir, cassette_dir / "tests.test_a" / "other.json", None)
        report = judge([copy, anonymous], root, cassette_dir, passed(f"{MODULE}::test_one"))
        assert report.orphans == {
            copy.name: f"no test collected from {MODULE} uses it (its metadata names "
            f"{MODULE}::test_one)",
            anonymous.name: f"no test collected from {MODULE} uses it",
        }

    def test_a_deleted_module_orphans_its_cassettes(self, root: Path, cassette_dir: Path) -> None:
        gone = of_test(cassette_dir, "tests/test_gone.py::test_one")
        live = of_test(cassette_dir, f"{MODULE}::test_one")
        report = judge([gone, live], root, cassette_dir, passed(f"{MODULE}::test_one"))
        assert report.orphans == {gone.name: "its test module (tests.test_gone) no longer exists"}
        assert report.unknown == {}

    def test_a_cassette_outside_a_module_dir_is_unknown(
        self, root: Path, cassette_dir: Path
    ) -> None:
        loose = info(cassette_dir, cassette_dir / "loose.json", None)
        gone = of_test(cassette_dir, f"{MODULE}::test_gone")
        report = judge([loose, gone], root, cassette_dir, passed(f"{MODULE}::test_one"))
        assert report.unknown == {loose.name: "it is not in a test module's directory"}
        assert list(report.orphans) == [gone.name]

    def test_a_module_outside_the_root_is_unknown(self, root: Path, cassette_dir: Path) -> None:
        project = root / "project"
        (project / "tests").mkdir(parents=True)
        (project / "tests" / "test_in.py").write_text("")
        inside = of_test(cassette_dir, "tests/test_in.py::test_one")
        outside = of_test(cassette_dir, f"../{MODULE}::test_one")
        report = judge([inside, outside], project, cassette_dir, passed())
        assert report.unknown[outside.name] == (
            f"its test module ../{MODULE} is outside the root {project}"
        )

    def test_the_collector_is_asked_once_for_the_modules_in_order(
        self, root: Path, cassette_dir: Path
    ) -> None:
        cassettes = [
            of_test(cassette_dir, "tests/test_b.py::test_one"),
            of_test(cassette_dir, f"{MODULE}::test_one"),
            of_test(cassette_dir, f"{MODULE}::test_two"),
        ]
        progress = io.StringIO()
        collector = Collector(passed(modules=(MODULE, "tests/test_b.py")))
        find_orphans(
            cassettes,
            root=root,
            cassette_dir=cassette_dir,
            env=ENV,
            progress=progress,
            collect=collector,
        )
        assert collector.asked == [(root, [MODULE, "tests/test_b.py"], ENV, progress)]

    def test_no_collector_is_asked_when_no_module_exists_for_any(
        self, root: Path, cassette_dir: Path
    ) -> None:
        gone = of_test(cassette_dir, "tests/test_gone.py::test_one")
        live = of_test(cassette_dir, f"{MODULE}::test_one")
        collector = Collector(passed())
        report = find_orphans(
            [gone],
            root=root,
            cassette_dir=cassette_dir,
            env=ENV,
            progress=io.StringIO(),
            everything=[gone, live],
            collect=collector,
        )
        assert collector.asked == []
        assert list(report.orphans) == [gone.name]


class TestTheRootCheck:
    """When no cassette's module exists under the root, the root is refused, not the cassettes."""

    def test_a_root_without_any_of_the_modules_is_refused(self, tmp_path: Path) -> None:
        cassette_dir = tmp_path / "cassettes"
        cassettes = [
            of_test(cassette_dir, f"{MODULE}::test_one"),
            of_test(cassette_dir, "tests/test_b.py::test_one"),
            info(cassette_dir, cassette_dir / "loose.json", None),
        ]
        with pytest.raises(CommandFailed) as caught:
            judge(cassettes, tmp_path, cassette_dir, passed())
        assert str(caught.value) == (
            f"none of the test modules of the 2 cassette(s) in {cassette_dir} exists under "
            f"{tmp_path}: is that the project's root (pytest's rootdir)? Pass --root. If every "
            "test really is gone, remove the cassettes with `exllm-cache clear`."
        )

    def test_the_whole_dir_decides_even_when_some_cassettes_are_judged(
        self, root: Path, cassette_dir: Path
    ) -> None:
        gone = of_test(cassette_dir, "tests/test_gone.py::test_one")
        with pytest.raises(CommandFailed):
            find_orphans(
                [gone],
                root=root,
                cassette_dir=cassette_dir,
                env=ENV,
                progress=io.StringIO(),
                everything=[gone],
                collect=Collector(passed()),
            )


class TestCollectionProblems:
    """A module pytest could not collect keeps its cassettes, with what pytest said."""

    def _unknown(self, root: Path, cassette_dir: Path, collected: Collected) -> str:
        cassette = of_test(cassette_dir, f"{MODULE}::test_one")
        report = judge([cassette], root, cassette_dir, collected)
        assert report.orphans == {}
        return report.unknown[cassette.name]

    def test_a_module_pytest_did_not_collect(self, root: Path, cassette_dir: Path) -> None:
        collected = passed(modules=("tests/test_b.py",))
        assert self._unknown(root, cassette_dir, collected) == (
            f"pytest did not collect {MODULE} (does the configuration ignore it?)"
        )

    def test_a_module_that_failed_gives_the_last_line_of_its_error(
        self, root: Path, cassette_dir: Path
    ) -> None:
        details = {
            MODULE: "Traceback (most recent call last):\n  ...\nE   ImportError: no x  \n\n  \n"
        }
        collected = Collected(frozenset(), {MODULE: "failed"}, details)
        assert self._unknown(root, cassette_dir, collected) == (
            f"collecting {MODULE} failed: E   ImportError: no x"
        )

    def test_a_module_that_skipped_itself_says_so(self, root: Path, cassette_dir: Path) -> None:
        collected = Collected(frozenset(), {MODULE: "skipped"}, {MODULE: "Skipped: needs redis"})
        assert self._unknown(root, cassette_dir, collected) == (
            f"collecting {MODULE} skipped: Skipped: needs redis"
        )

    def test_a_failure_without_details_is_named_alone(self, root: Path, cassette_dir: Path) -> None:
        collected = Collected(frozenset(), {MODULE: "failed"}, {MODULE: " \n "})
        assert self._unknown(root, cassette_dir, collected) == f"collecting {MODULE} failed"

    def test_a_failure_pytest_explained_nowhere_is_named_alone(
        self, root: Path, cassette_dir: Path
    ) -> None:
        collected = Collected(frozenset(), {MODULE: "failed"})
        assert self._unknown(root, cassette_dir, collected) == f"collecting {MODULE} failed"

    def test_the_first_failing_collector_inside_the_module_is_named(
        self, root: Path, cassette_dir: Path
    ) -> None:
        outcomes = {
            "tests/test_b.py": "failed",
            MODULE: "passed",
            f"{MODULE}::TestOne": "failed",
            f"{MODULE}::TestTwo": "skipped",
        }
        details = {f"{MODULE}::TestOne": "fixture 'db' not found", f"{MODULE}::TestTwo": "later"}
        ids = frozenset({f"{MODULE}::test_one"})
        collected = Collected(ids, outcomes, details, live_api=ids)
        assert self._unknown(root, cassette_dir, collected) == (
            f"collecting {MODULE}::TestOne failed: fixture 'db' not found"
        )

    def test_another_modules_failure_does_not_count(self, root: Path, cassette_dir: Path) -> None:
        outcomes = {"tests/test_b.py": "failed", MODULE: "passed", "tests/test_a.pyx": "failed"}
        ids = frozenset({f"{MODULE}::test_one"})
        collected = Collected(ids, outcomes, live_api=ids)
        assert judge(
            [of_test(cassette_dir, f"{MODULE}::test_one")], root, cassette_dir, collected
        ) == OrphanReport({}, {})


class TestModuleFinder:
    """A module dir leads back to its file, searching only where test modules can be."""

    HASHED = "tests/sub dir/test b.py"  # a name made file-safe with a hash

    @pytest.mark.parametrize(
        "place", [".hidden", "node_modules", "__pycache__", "env", "cassettes"]
    )
    def test_files_in_skipped_dirs_are_not_test_modules(self, root: Path, place: str) -> None:
        relative = f"{place}/{self.HASHED}"
        (root / relative).parent.mkdir(parents=True)
        (root / relative).write_text("")
        (root / "env" / "pyvenv.cfg").parent.mkdir(exist_ok=True)
        (root / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
        finder = ModuleFinder(root, root / "cassettes")
        cassette = of_test(root / "cassettes", f"{relative}::test_one", recorded=None)
        assert finder.find(cassette) is None

    def test_a_hashed_module_dir_is_found_by_searching(self, root: Path) -> None:
        (root / self.HASHED).parent.mkdir(parents=True)
        (root / self.HASHED).write_text("")
        finder = ModuleFinder(root, root / "cassettes")
        cassette = of_test(root / "cassettes", f"{self.HASHED}::test_one", recorded=None)
        assert "~" in cassette.module
        assert finder.find(cassette) == self.HASHED

    def test_a_dotted_file_name_is_found_by_its_current_and_its_old_dir(self, root: Path) -> None:
        (root / "tests" / "test.dots.py").write_text("")
        finder = ModuleFinder(root, root / "cassettes")
        current, old = finder.module_dirs("tests/test.dots.py")
        assert current == finder.module_dir("tests/test.dots.py")
        assert old == legacy_cassette_path_for(root, "tests/test.dots.py::t").parent.name
        assert current != old
        for module in (current, old):
            cassette = info(root / "cassettes", root / "cassettes" / module / "t.json", None)
            assert finder.find(cassette) == "tests/test.dots.py"

    def test_a_file_named_like_a_hashed_dir_is_not_taken_for_it(self, root: Path) -> None:
        (root / self.HASHED).parent.mkdir(parents=True)
        (root / self.HASHED).write_text("")
        finder = ModuleFinder(root, root / "cassettes")
        cassette = of_test(root / "cassettes", f"{self.HASHED}::test_one", recorded=None)
        lookalike = root / (cassette.module.replace(".", "/") + ".py")
        lookalike.parent.mkdir(parents=True, exist_ok=True)
        lookalike.write_text("")
        assert finder.find(cassette) == self.HASHED

    def test_the_recorded_test_id_finds_a_hashed_module_outside_the_root(
        self, tmp_path: Path
    ) -> None:
        root = tmp_path / "project"
        root.mkdir()
        outside = "../shared dir/test x.py"
        (root / outside).parent.mkdir(parents=True)
        (root / outside).write_text("")
        node_id = f"{outside}::TestX::test_one"
        finder = ModuleFinder(root, root / "cassettes")
        assert finder.find(of_test(root / "cassettes", node_id)) == outside
        assert finder.find(of_test(root / "cassettes", node_id, recorded=None)) is None

    def test_a_recorded_test_id_of_another_module_is_only_a_hint(self, root: Path) -> None:
        finder = ModuleFinder(root, root / "cassettes")
        moved = of_test(root / "cassettes", f"{MODULE}::test_one", recorded="tests/test_b.py::x")
        assert finder.find(moved) == MODULE

    def test_a_parent_dir_in_a_module_name_maps_to_dot_dot(self, tmp_path: Path) -> None:
        root = tmp_path / "project"
        root.mkdir()
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "test_x.py").write_text("")
        finder = ModuleFinder(root, root / "cassettes")
        cassette = of_test(root / "cassettes", "../shared/test_x.py::test_one", recorded=None)
        assert finder.find(cassette) == "../shared/test_x.py"
