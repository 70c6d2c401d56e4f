"""``exllm-cache clear``: remove every cassette (or one provider's), or one Redis namespace."""

from __future__ import annotations

import argparse
from pathlib import Path

from exllm_py.cli import redis_admin
from exllm_py.cli.confirm import confirm
from exllm_py.cli.context import Console
from exllm_py.cli.inventory import scan
from exllm_py.cli.leftovers import find_leftovers
from exllm_py.cli.locate import Location
from exllm_py.cli.removal import prune_empty_dirs, remove
from exllm_py.cli.render import size

__all__ = ["run"]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Remove the cassettes (after asking, unless ``--yes``); with ``--redis``, a namespace."""
    assume_yes: bool = options.yes
    if options.redis is not None:
        return _clear_redis(options.redis, options.namespace, console, assume_yes=assume_yes)
    provider: str | None = options.provider
    inventory = scan(where.cassette_dir, console.err)
    targets = [
        info
        for info in inventory.cassettes
        if info.is_cassette and (provider is None or provider.lower() in info.providers)
    ]
    shown_dir = console.shown(where.cassette_dir)
    of_provider = f" of provider {provider}" if provider else ""
    if not targets:
        console.note(f"no cassettes{of_provider} in {shown_dir}: nothing to remove")
        return 0
    count = len(targets)
    total = sum(info.size for info in targets)
    action = (
        f"remove {count} cassette{'' if count == 1 else 's'}{of_provider} "
        f"({size(total)}) from {shown_dir}"
    )
    if not confirm(console, action, assume_yes=assume_yes):
        return 1
    removed: list[Path] = []
    failures = []
    for info in targets:
        problem = remove(info.path, where.cassette_dir)
        if problem is None:
            removed.append(info.path)
            console.say(f"removed {info.name}")
        else:
            failures.append(problem)
    for path in find_leftovers(where.cassette_dir, console.now):
        if remove(path, where.cassette_dir) is None:
            removed.append(path)
    prune_empty_dirs(removed, where.cassette_dir)
    for failure in failures:
        console.note(f"error: {failure}")
    console.note(f"removed {count - len(failures)} of {count} cassettes{of_provider}")
    return 1 if failures else 0


def _clear_redis(url: str, namespace: str, console: Console, *, assume_yes: bool) -> int:
    shown = redis_admin.shown_url(url)
    action = f"remove every entry of namespace {namespace!r} at {shown}"
    if not confirm(console, action, assume_yes=assume_yes):
        return 1
    removed = redis_admin.clear(url, namespace)
    console.say(
        f"removed {removed} entr{'y' if removed == 1 else 'ies'} of namespace {namespace!r}"
    )
    return 0
