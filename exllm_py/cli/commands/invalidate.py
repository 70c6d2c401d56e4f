"""``exllm-cache invalidate``: remove production cache entries by tag, provider, model or age."""

from __future__ import annotations

import argparse

from exllm_py.cache.invalidation import Invalidation
from exllm_py.cli.context import CommandFailed, Console
from exllm_py.cli.locate import Location
from exllm_py.cli.production_store import opened_store, store_label
from exllm_py.cli.render import json_text

__all__ = ["run", "selector_of"]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Remove (or with ``--dry-run`` count) the entries every given filter matches."""
    selector = selector_of(options)
    dry_run: bool = options.dry_run
    label = store_label(options, console.env)
    with opened_store(options, console.env, create=False) as store:
        try:
            count = store.invalidate(selector, dry_run=dry_run)
        except Exception as exc:  # the store could not be reached or written
            raise CommandFailed(f"could not invalidate in the {label}: {exc}") from exc
    if options.json:
        document = {
            "store": label,
            "filters": selector.describe(),
            "dry_run": dry_run,
            "matched" if dry_run else "removed": count,
        }
        console.say(json_text(document))
        return 0
    entries = f"{count} entr{'y' if count == 1 else 'ies'}"
    verb = "would remove" if dry_run else "removed"
    console.say(f"{verb} {entries} ({selector.describe()}) from the {label}")
    return 0


def selector_of(options: argparse.Namespace) -> Invalidation:
    """The :class:`Invalidation` the filter options give (the parser saw at least one)."""
    older_than = options.older_than
    return Invalidation(
        tag=options.tag,
        provider=options.provider,
        model=options.model,
        namespace=options.cache_namespace,
        older_than=None if older_than is None else older_than.delta,
        key=options.key,
    )
