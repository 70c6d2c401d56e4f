"""``exllm-cache verify``: check every cassette; exit 1 when anything is wrong.

Meant for CI and pre-commit: problems go to stdout, one per line, each
with its file; the summary goes to stderr; ``--json`` prints one document.
"""

from __future__ import annotations

import argparse

import attrs

from exllm_py.cli.checks import FileReport, Problem, check_file, check_together
from exllm_py.cli.context import Console
from exllm_py.cli.locate import Location
from exllm_py.cli.progress import track
from exllm_py.cli.render import json_text
from exllm_py.testing.paths import iter_cassettes
from exllm_py.testing.redact import key_values

__all__ = ["run"]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Check the cassettes (or the ``FILE`` arguments); 1 if there is any problem."""
    files: list[str] = options.files
    secrets = key_values(console.env)
    problems: list[Problem] = []
    if files:
        paths = [console.cwd / name for name in files]
        for path in paths:
            if not path.is_file():
                problems.append(Problem(console.shown(path), "corrupt", "no such file"))
        paths = [path for path in paths if path.is_file()]
    else:
        paths = list(iter_cassettes(where.cassette_dir))
    reports: list[FileReport] = [
        check_file(path, console.shown(path), secrets)
        for path in track(paths, console.err, "verifying cassettes")
    ]
    for report in reports:
        problems.extend(report.problems)
    if not files:
        problems.extend(check_together(reports, where.cassette_dir))
    problems.sort(key=lambda problem: (problem.file, problem.kind))
    if options.json:
        document = {
            "cassette_dir": str(where.cassette_dir),
            "cassettes": len(reports),
            "ok": not problems,
            "problems": [attrs.asdict(problem) for problem in problems],
        }
        console.say(json_text(document))
    else:
        for problem in problems:
            console.say(str(problem))
        console.note(_summary(len(reports), problems))
    return 1 if problems else 0


def _summary(cassettes: int, problems: list[Problem]) -> str:
    checked = f"verified {cassettes} cassette{'' if cassettes == 1 else 's'}"
    if not problems:
        return f"{checked}: no problems"
    files = len({problem.file for problem in problems})
    return (
        f"{checked}: {len(problems)} problem{'' if len(problems) == 1 else 's'} "
        f"in {files} file{'' if files == 1 else 's'}"
    )
