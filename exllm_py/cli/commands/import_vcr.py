"""``exllm-cache import-vcr PATH``: convert vcrpy cassettes into exllm_py cassettes.

The conversion is :func:`~exllm_py.testing.vcr_import.import_vcr_cassette`;
this command decides where each result goes. With ``--to``, there (a test
id, or a path). Without it, from pytest-recording's layout: a cassette at
``<dir>/cassettes/<module>/<test>.yaml`` belongs to the test
``<dir>/<module>.py::<test>`` (``TestClass.test_x`` is
``TestClass::test_x``), whose exllm_py cassette it becomes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from exllm_py.cli.context import CommandFailed, Console
from exllm_py.cli.locate import Location
from exllm_py.errors import ExLLMError
from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.paths import cassette_path_for
from exllm_py.testing.vcr_import import import_vcr_cassette

__all__ = ["infer_test_id", "run"]

_VCR_SUFFIXES = (".yaml", ".yml")


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Import the vcrpy cassette ``PATH`` (or every one in the directory ``PATH``)."""
    source = console.cwd / options.path
    target: str | None = options.to
    force: bool = options.force
    if not source.exists():
        raise CommandFailed(f"{options.path}: no such file or directory")
    if not source.is_dir():
        _import(source, target, force, console, where)
        return 0
    if target is not None:
        raise CommandFailed(
            f"--to names one cassette, and {options.path} is a directory; import its files "
            "one at a time to choose where each goes, or leave --to out"
        )
    files = sorted(p for p in source.rglob("*") if p.suffix in _VCR_SUFFIXES and p.is_file())
    if not files:
        raise CommandFailed(f"no vcrpy cassettes (*.yaml, *.yml) under {options.path}")
    failed = 0
    for file in files:
        try:
            _import(file, None, force, console, where)
        except ExLLMError as exc:
            failed += 1
            console.note(f"error: {exc}")
    if failed:
        console.note(f"{failed} of {len(files)} cassettes were not imported")
    return 1 if failed else 0


def infer_test_id(source: Path, root: Path) -> str | None:
    """The test a cassette in pytest-recording's default layout belongs to, if its module exists."""
    module_dir = source.parent
    if module_dir.parent.name != "cassettes":
        return None
    module_file = module_dir.parent.parent / f"{module_dir.name}.py"
    if not module_file.is_file():
        return None
    try:
        relative = module_file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
    head, bracket, parameters = source.stem.partition("[")
    return f"{relative}::{head.replace('.', '::')}{bracket}{parameters}"


def _import(
    source: Path, target: str | None, force: bool, console: Console, where: Location
) -> None:
    destination = _destination(source, target, console, where)
    try:
        written = import_vcr_cassette(source, destination, overwrite=force)
    except FileExistsError as exc:
        final = destination / f"{source.stem}.json" if destination.is_dir() else destination
        raise CommandFailed(f"{console.shown(final)} exists; pass --force to replace it") from exc
    except FileNotFoundError as exc:
        raise CommandFailed(f"{console.shown(source)}: no such file") from exc
    except ImportError as exc:
        raise CommandFailed(str(exc)) from exc
    count = len(read_cassette(written).interactions)
    console.say(
        f"imported {console.shown(source)} -> {console.shown(written)} "
        f"({count} interaction{'' if count == 1 else 's'})"
    )


def _destination(source: Path, target: str | None, console: Console, where: Location) -> Path:
    if target is None:
        test_id = infer_test_id(source, where.root)
        if test_id is None:
            raise CommandFailed(
                f"cannot tell which test {console.shown(source)} belongs to (it is not at "
                "<dir>/cassettes/<module>/<test>.yaml next to an existing <dir>/<module>.py); "
                "pass --to tests/test_x.py::test_y, or --to a .json path"
            )
        return cassette_path_for(where.cassette_dir, test_id)
    if "::" in target:
        return cassette_path_for(where.cassette_dir, target)
    return console.cwd / target
