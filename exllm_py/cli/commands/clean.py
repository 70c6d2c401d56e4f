"""``exllm-cache clean``: remove the cassettes that match all the given filters.

Also removes the temporary files interrupted writes left behind. Only files
that are cassettes (or look like one: a JSON object with ``version`` and
``interactions``) are ever removed, and only inside the cassette dir; a
cassette whose test the orphan check could not judge is kept, and said so.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from exllm_py.cli.context import Console
from exllm_py.cli.filters import Filters, select
from exllm_py.cli.inventory import scan
from exllm_py.cli.leftovers import find_leftovers
from exllm_py.cli.locate import Location
from exllm_py.cli.removal import prune_empty_dirs, remove
from exllm_py.cli.render import size

__all__ = ["run"]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Remove (or with ``--dry-run``, list) the matching cassettes and leftover temporaries."""
    dry_run: bool = options.dry_run
    inventory = scan(where.cassette_dir, console.err)
    selection = select(
        inventory,
        Filters.from_options(options),
        now=console.now,
        root=where.root,
        env=console.env,
        progress=console.err,
    )
    for name, why in sorted(selection.unknown.items()):
        console.note(f"kept {name}: could not tell whether its test exists ({why})")
    verb = "would remove" if dry_run else "removed"
    removed: list[Path] = []
    failures: list[str] = []
    removed_bytes = 0
    for match in selection.matches:
        info = match.info
        if not info.is_cassette:
            console.note(f"kept {info.name}: it is not a cassette ({info.problem})")
            continue
        problem = None if dry_run else remove(info.path, where.cassette_dir)
        if problem is not None:
            failures.append(problem)
            continue
        removed.append(info.path)
        removed_bytes += info.size
        console.say(f"{verb} {info.name} ({'; '.join(match.reasons)})")
    leftovers = []
    for path in find_leftovers(where.cassette_dir, console.now):
        problem = None if dry_run else remove(path, where.cassette_dir)
        if problem is not None:
            failures.append(problem)
            continue
        leftovers.append(path)
        shown = path.relative_to(where.cassette_dir).as_posix()
        console.say(f"{verb} {shown} (temporary file left by an interrupted write)")
    if not dry_run:
        prune_empty_dirs([*removed, *leftovers], where.cassette_dir)
    for failure in failures:
        console.note(f"error: {failure}")
    console.note(_summary(verb, len(removed), removed_bytes, len(leftovers), dry_run))
    return 1 if failures else 0


def _summary(verb: str, cassettes: int, removed_bytes: int, leftovers: int, dry_run: bool) -> str:
    if not cassettes and not leftovers:
        return "nothing to remove"
    text = f"{verb} {cassettes} cassette{'' if cassettes == 1 else 's'} ({size(removed_bytes)})"
    if leftovers:
        text += f" and {leftovers} temporary file{'' if leftovers == 1 else 's'}"
    return text + ("; dry run: nothing was removed" if dry_run else "")
