"""Orphans: cassettes whose test no longer exists.

A cassette lives at ``<cassette dir>/<module>/<test>.json``
(:func:`~exllm_py.testing.paths.cassette_path_for`). It is an orphan when

- its test module is gone: no Python file under the root maps to its
  ``<module>`` directory; or
- pytest still collects the module, but none of the tests it collects
  marked ``live_api`` maps to the cassette's path (a test whose marker was
  removed no longer owns a cassette). Mapping collected ids forwards through
  ``cassette_path_for`` (rather than decoding file names backwards) keeps
  parametrized ids and names made file-safe exact. A cassette still under
  the name the earlier naming rule gave it
  (:mod:`~exllm_py.testing.migration`) counts as its test's too, until the
  test next runs and moves it.

A cassette is never called an orphan on a guess. When its module cannot be
collected (an import error, a module-level skip, a module the configuration
ignores) or it does not sit in a module directory, it is reported as
*unknown* and kept. And when not one of the cassettes' modules exists under
the root, the root is more likely wrong than every test deleted: the check
refuses rather than condemn the whole dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

import attrs

from exllm_py.cli.context import CommandFailed
from exllm_py.cli.inventory import CassetteInfo
from exllm_py.cli.pytest_collection import Collected, Collector, collect_tests
from exllm_py.testing.migration import legacy_cassette_path_for
from exllm_py.testing.paths import cassette_path_for

__all__ = ["ModuleFinder", "OrphanReport", "find_orphans"]

# Directories never searched for test modules.
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


@attrs.frozen
class OrphanReport:
    """Cassette name → why it is an orphan; and → why it could not be checked (so is kept)."""

    orphans: Mapping[str, str] = attrs.field(factory=dict)
    unknown: Mapping[str, str] = attrs.field(factory=dict)


class ModuleFinder:
    """Finds the test module file (relative to the root) that a cassette's module dir belongs to."""

    def __init__(self, root: Path, cassette_dir: Path) -> None:
        self.root = root
        self.cassette_dir = cassette_dir
        self._index: dict[str, str] | None = None

    def module_dir(self, module_file: str) -> str:
        """The cassette directory name of the tests in ``module_file``."""
        return cassette_path_for(self.cassette_dir, f"{module_file}::test").parent.name

    def module_dirs(self, module_file: str) -> tuple[str, str]:
        """Its current directory name, and the one the earlier naming rule gave it."""
        legacy = legacy_cassette_path_for(self.cassette_dir, f"{module_file}::test")
        return self.module_dir(module_file), legacy.parent.name

    def find(self, info: CassetteInfo) -> str | None:
        """The existing module file whose tests' cassettes go to ``info``'s module dir."""
        for candidate in self._candidates(info):
            if (self.root / candidate).is_file():
                return candidate
        return self._indexed().get(info.module)

    def _candidates(self, info: CassetteInfo) -> Iterable[str]:
        if info.test_id:
            # The recorded test id is only a hint: the cassette may have been
            # moved by hand. Its location decides which module it belongs to.
            module_file = info.test_id.partition("::")[0]
            if info.module in self.module_dirs(module_file):
                yield module_file
        if "~" not in info.module:  # not a name made file-safe with a hash
            parts = [".." if part == "__" else part for part in info.module.split(".")]
            yield "/".join(parts) + ".py"

    def _indexed(self) -> dict[str, str]:
        # The slow path, for module dirs whose name does not spell their file:
        # every Python file under the root, by the cassette dir its tests use.
        if self._index is None:
            files = [
                path.relative_to(self.root).as_posix()
                for path in _python_files(self.root, skip=self.cassette_dir)
            ]
            named = [self.module_dirs(relative) for relative in files]
            # Current names first: an old name may be another module's name now.
            self._index = {}
            for which in (0, 1):
                for relative, names in zip(files, named, strict=True):
                    self._index.setdefault(names[which], relative)
        return self._index


def find_orphans(
    cassettes: Sequence[CassetteInfo],
    *,
    root: Path,
    cassette_dir: Path,
    env: Mapping[str, str],
    progress: TextIO,
    everything: Sequence[CassetteInfo] | None = None,
    collect: Collector = collect_tests,
) -> OrphanReport:
    """Which of ``cassettes`` are orphans, and which could not be checked.

    ``everything`` (default: ``cassettes``) is the whole dir, for the sanity
    check of the root: some cassette's module must exist under it.
    """
    finder = ModuleFinder(root, cassette_dir)
    _check_root(finder, cassettes if everything is None else everything)
    orphans: dict[str, str] = {}
    unknown: dict[str, str] = {}
    by_module: dict[str, list[CassetteInfo]] = {}
    missing: dict[str, str] = {}
    for info in cassettes:
        if not info.module:
            unknown[info.name] = "it is not in a test module's directory"
            continue
        module_file = finder.find(info)
        if module_file is None:
            missing[info.name] = f"its test module ({info.module}) no longer exists"
        elif module_file.startswith("../"):
            unknown[info.name] = f"its test module {module_file} is outside the root {root}"
        else:
            by_module.setdefault(module_file, []).append(info)
    orphans.update(missing)
    if by_module:
        collected = collect(root, sorted(by_module), env, progress)
        for module_file, infos in by_module.items():
            _judge(module_file, infos, collected, cassette_dir, orphans, unknown)
    return OrphanReport(orphans, unknown)


def _check_root(finder: ModuleFinder, cassettes: Sequence[CassetteInfo]) -> None:
    in_modules = [info for info in cassettes if info.module]
    if in_modules and not any(finder.find(info) is not None for info in in_modules):
        raise CommandFailed(
            f"none of the test modules of the {len(in_modules)} cassette(s) in "
            f"{finder.cassette_dir} exists under {finder.root}: is that the project's root "
            "(pytest's rootdir)? Pass --root. If every test really is gone, remove the "
            "cassettes with `exllm-cache clear`."
        )


def _judge(
    module_file: str,
    infos: Sequence[CassetteInfo],
    collected: Collected,
    cassette_dir: Path,
    orphans: dict[str, str],
    unknown: dict[str, str],
) -> None:
    problem = _collection_problem(module_file, collected)
    if problem is not None:
        for info in infos:
            unknown[info.name] = problem
        return
    live = {
        path.relative_to(cassette_dir).as_posix()
        for node_id in collected.live_api
        if node_id.partition("::")[0] == module_file
        for path in (
            cassette_path_for(cassette_dir, node_id),
            legacy_cassette_path_for(cassette_dir, node_id),
        )
    }
    for info in infos:
        if info.name in live:
            continue
        if info.test_id in collected.node_ids - collected.live_api:
            orphans[info.name] = f"its test {info.test_id} is no longer marked live_api"
        elif info.test_id and info.test_id not in collected.node_ids:
            orphans[info.name] = (
                f"its test {info.test_id} is no longer collected from {module_file}"
            )
        else:
            # A copy, or a file whose name no test id maps to: its test, if the
            # metadata names one, still exists but uses another cassette.
            named = f" (its metadata names {info.test_id})" if info.test_id else ""
            orphans[info.name] = f"no test collected from {module_file} uses it{named}"


def _collection_problem(module_file: str, collected: Collected) -> str | None:
    outcome = collected.outcomes.get(module_file)
    if outcome is None:
        return f"pytest did not collect {module_file} (does the configuration ignore it?)"
    failed = [
        node_id
        for node_id, result in collected.outcomes.items()
        if result != "passed" and (node_id == module_file or node_id.startswith(module_file + "::"))
    ]
    if not failed:
        return None
    detail = _last_line(collected.details.get(failed[0], ""))
    verb = "skipped" if collected.outcomes[failed[0]] == "skipped" else "failed"
    return f"collecting {failed[0]} {verb}" + (f": {detail}" if detail else "")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _python_files(root: Path, *, skip: Path) -> Iterable[Path]:
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(
            name
            for name in subdirs
            if not name.startswith(".")
            and name not in _SKIPPED_DIRS
            and here / name != skip
            and not (here / name / "pyvenv.cfg").exists()
        )
        for name in sorted(files):
            if name.endswith(".py"):
                yield here / name
