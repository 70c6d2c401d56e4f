"""``exllm-cache clear``: remove every cassette (or one provider's), or one Redis namespace."""

from __future__ import annotations

import argparse

from exllm_py.cache.stores.redis_connect import redact_url_password
from exllm_py.cli import redis_admin
from exllm_py.cli.context import Console
from exllm_py.cli.inventory import scan
from exllm_py.cli.locate import Location
from exllm_py.cli.removal import confirm, remove_cassettes
from exllm_py.cli.render import size

__all__ = ["run"]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Remove the cassettes (after asking, unless ``--yes``); with ``--redis``, a namespace."""
    assume_yes: bool = options.yes
    if options.redis is not None:
        return _clear_redis(options.redis, options.namespace, console, assume_yes=assume_yes)
    provider: str | None = options.provider
    inventory = scan(where, console.err)
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
    names = {info.path: info.name for info in targets}
    removal = remove_cassettes(names.keys(), where.cassette_dir, console.now)
    for path in removal.removed:
        console.say(f"removed {names[path]}")
    for failure in removal.failures:
        console.note(f"error: {failure}")
    console.note(f"removed {len(removal.removed)} of {count} cassettes{of_provider}")
    return 1 if removal.failures else 0


def _clear_redis(url: str, namespace: str, console: Console, *, assume_yes: bool) -> int:
    shown = redact_url_password(url)
    action = f"remove every entry of namespace {namespace!r} at {shown}"
    if not confirm(console, action, assume_yes=assume_yes):
        return 1
    removed = redis_admin.clear(url, namespace)
    console.say(
        f"removed {removed} entr{'y' if removed == 1 else 'ies'} of namespace {namespace!r}"
    )
    return 0
