"""Asking pytest which tests exist: ``pytest --collect-only -q`` in a subprocess.

The test modules are collected in batches (each module once), on the
project root, with the interpreter running this command, and with the
plugin :mod:`~exllm_py.cli.collection_report_plugin` reporting what pytest
found. If pytest cannot report (it crashed, a ``conftest.py`` failed, a
usage error), the check fails: the orphan check never guesses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

import attrs

from exllm_py.cli.collection_report_plugin import REPORT_ENV
from exllm_py.cli.context import CommandFailed
from exllm_py.cli.progress import Progress

__all__ = ["BATCH", "Collected", "Collector", "collect_tests"]

#: Test modules per pytest process (keeps command lines short on every platform).
BATCH = 200
_TAIL_LINES = 15


@attrs.frozen
class Collected:
    """What pytest found: the test ids, and each collector's outcome (and why, if not passed)."""

    node_ids: frozenset[str] = frozenset()
    outcomes: Mapping[str, str] = attrs.field(factory=dict)
    details: Mapping[str, str] = attrs.field(factory=dict)
    #: The collected tests marked ``live_api``: the ones that own cassettes.
    live_api: frozenset[str] = frozenset()

    def merged(self, other: Collected) -> Collected:
        """Both collections in one."""
        return Collected(
            self.node_ids | other.node_ids,
            {**self.outcomes, **other.outcomes},
            {**self.details, **other.details},
            self.live_api | other.live_api,
        )


#: ``(root, module files relative to root, env, progress stream) -> Collected``.
Collector = Callable[[Path, Sequence[str], Mapping[str, str], TextIO], Collected]


def collect_tests(
    root: Path, modules: Sequence[str], env: Mapping[str, str], progress: TextIO
) -> Collected:
    """Collect ``modules`` (paths relative to ``root``) with pytest; what it found."""
    found = Collected()
    bar = Progress(progress, "collecting tests", len(modules))
    try:
        for start in range(0, len(modules), BATCH):
            batch = modules[start : start + BATCH]
            found = found.merged(_collect_batch(root, batch, env))
            bar.advance(len(batch))
    finally:
        bar.close()
    return found


def _collect_batch(root: Path, modules: Sequence[str], env: Mapping[str, str]) -> Collected:
    with tempfile.TemporaryDirectory(prefix="exllm-cache-") as scratch:
        report = Path(scratch, "collected.json")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            f"--rootdir={root}",
            "-p",
            "exllm_py.cli.collection_report_plugin",
            *modules,
        ]
        try:
            finished = subprocess.run(
                command,
                cwd=root,
                env={**env, REPORT_ENV: str(report)},
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise CommandFailed(f"could not run pytest to collect the tests: {exc}") from exc
        try:
            document = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            output = (finished.stdout + finished.stderr).strip().splitlines()[-_TAIL_LINES:]
            raise CommandFailed(
                f"pytest could not collect the tests (exit status {finished.returncode}), so "
                "no cassette can be shown to be an orphan. Its output "
                "ended with:\n  " + "\n  ".join(output or ["(nothing)"])
            ) from None
    return Collected(
        frozenset(document["items"]) | frozenset(document["deselected"]),
        dict(document["outcomes"]),
        dict(document["details"]),
        frozenset(document["live_api"]),
    )
