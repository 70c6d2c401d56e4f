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
from exllm_py.cli.filters import Filters, Match, select
from exllm_py.cli.inventory import scan
from exllm_py.cli.locate import Location
from exllm_py.cli.removal import remove_cassettes
from exllm_py.cli.render import size

__all__ = ["run"]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Remove (or with ``--dry-run``, list) the matching cassettes and leftover temporaries."""
    dry_run: bool = options.dry_run
    if options.stale_interactions:
        from exllm_py.cli.commands.stale import clean_stale

        return clean_stale(options, console, where)
    inventory = scan(where, console.err)
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
    matches: dict[Path, Match] = {}
    for match in selection.matches:
        if match.info.is_cassette:
            matches[match.info.path] = match
        else:
            console.note(f"kept {match.info.name}: it is not a cassette ({match.info.problem})")
    removal = remove_cassettes(matches.keys(), where.cassette_dir, console.now, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for path in removal.removed:
        console.say(f"{verb} {matches[path].info.name} ({'; '.join(matches[path].reasons)})")
    for path in removal.leftovers:
        shown = path.relative_to(where.cassette_dir).as_posix()
        console.say(f"{verb} {shown} (temporary file left by an interrupted write)")
    for failure in removal.failures:
        console.note(f"error: {failure}")
    removed_bytes = sum(matches[path].info.size for path in removal.removed)
    console.note(
        _summary(verb, len(removal.removed), removed_bytes, len(removal.leftovers), dry_run)
    )
    return 1 if removal.failures else 0


def _summary(verb: str, cassettes: int, removed_bytes: int, leftovers: int, dry_run: bool) -> str:
    if not cassettes and not leftovers:
        return "nothing to remove"
    text = f"{verb} {cassettes} cassette{'' if cassettes == 1 else 's'} ({size(removed_bytes)})"
    if leftovers:
        text += f" and {leftovers} temporary file{'' if leftovers == 1 else 's'}"
    return text + ("; dry run: nothing was removed" if dry_run else "")
