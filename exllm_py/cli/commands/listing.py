"""``exllm-cache list``: one line per cassette, with its age and when it was last played."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from exllm_py.cli.context import Console
from exllm_py.cli.filters import Filters, Match, select
from exllm_py.cli.inventory import scan
from exllm_py.cli.locate import Location
from exllm_py.cli.render import Palette, ago, json_text, size, table, timestamp

__all__ = ["entry", "run"]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """List the cassettes matching every filter given (all of them without filters)."""
    if options.stale:
        from exllm_py.cli.commands.stale import list_stale

        return list_stale(options, console, where)
    inventory = scan(where, console.err)
    filters = Filters.from_options(options)
    if filters.unused and not inventory.has_usage_file:
        # Listing is harmless: say why nothing looks played, and go on.
        console.note(
            "note: no usage file yet (the pytest plugin writes it when tests run), so "
            "every cassette counts as never played"
        )
    selection = select(
        inventory,
        filters,
        now=console.now,
        root=where.root,
        env=console.env,
        progress=console.err,
        require_usage=False,
    )
    for name, reason in sorted(selection.unknown.items()):
        console.note(f"note: could not tell whether {name} is an orphan: {reason}")
    if options.json:
        console.say(json_text([entry(match) for match in selection.matches]))
        return 0
    why = any(match.reasons for match in selection.matches)
    rows = [_row(match, console.now, why=why) for match in selection.matches]
    headers = ("cassette", "provider", "interactions", "size", "recorded", "last played")
    if rows:
        palette = Palette.for_stream(console.out, console.env)
        columns = (*headers, "why") if why else headers
        console.say(table(columns, rows, right={2, 3}, palette=palette))
    total = sum(match.info.size for match in selection.matches)
    count = len(selection.matches)
    console.note(f"{count} cassette{'' if count == 1 else 's'}, {size(total)}")
    return 0


def _row(match: Match, now: datetime, *, why: bool) -> tuple[str, ...]:
    info = match.info
    row = (
        info.name,
        info.provider if info.problem is None else "(unreadable)",
        str(info.interactions),
        size(info.size),
        ago(info.newest, now) if info.newest else "-",
        ago(info.last_played, now),
    )
    return (*row, "; ".join(match.reasons)) if why else row


def entry(match: Match) -> dict[str, Any]:
    """One cassette of ``list --json``."""
    info = match.info
    return {
        "name": info.name,
        "path": str(info.path),
        "module": info.module,
        "test": info.test_id,
        "providers": list(info.providers),
        "interactions": info.interactions,
        "bytes": info.size,
        "oldest_recorded_at": timestamp(info.oldest),
        "newest_recorded_at": timestamp(info.newest),
        "last_played_at": timestamp(info.last_played),
        "problem": info.problem,
        "matched": list(match.reasons),
    }
