"""``exllm-cache list --stale`` and ``clean --stale-interactions``: recordings no run plays.

An interaction is stale when the last run in which its test passed did not
play it, nor any run since (:mod:`exllm_py.testing.staleness`): the test
no longer makes that request, and ``new_episodes`` kept the recording
anyway. What runs played is per-machine state, from the usage log the
pytest plugin writes; a cassette whose test has not passed on this machine
since the plugin started keeping it has nothing stale, and is never touched.

Cleaning rewrites each cassette without its stale interactions, atomically
and through the same writer as a recording (the leak check included); a
cassette left with no interaction at all is removed, since its test no
longer calls anything.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import attrs

from exllm_py.cli.context import Console
from exllm_py.cli.locate import Location
from exllm_py.cli.render import json_text
from exllm_py.cli.summary import last_message, model_of
from exllm_py.errors import RecordingCorrupt
from exllm_py.testing.cassette_file import CassetteFile, Interaction, read_cassette, write_cassette
from exllm_py.testing.redact import RecordingRefused, key_values
from exllm_py.testing.staleness import stale_indexes

__all__ = ["StaleCassette", "clean_stale", "find_stale", "list_stale"]

_MESSAGE_WIDTH = 50


@attrs.frozen
class StaleCassette:
    """A cassette that holds stale interactions, and their positions in it."""

    path: Path
    name: str
    cassette: CassetteFile
    stale: tuple[int, ...]

    def kept(self) -> tuple[Interaction, ...]:
        """The interactions that stay."""
        stale = set(self.stale)
        return tuple(
            item for index, item in enumerate(self.cassette.interactions) if index not in stale
        )


def find_stale(where: Location, console: Console) -> Iterator[StaleCassette]:
    """Every cassette with stale interactions, in name order."""
    plays = where.usage.plays()
    for name in sorted(plays):
        path = where.cassette_dir / name
        try:
            cassette = read_cassette(path)
        except FileNotFoundError:
            continue
        except RecordingCorrupt as exc:
            console.note(f"kept {name}: {exc}")
            continue
        stale = stale_indexes(cassette.interactions, plays[name])
        if stale:
            yield StaleCassette(path, name, cassette, tuple(stale))


def list_stale(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Print each stale interaction: its cassette, position, request and when it was recorded."""
    found = list(find_stale(where, console))
    if options.json:
        console.say(json_text([_entry(item) for item in found]))
        return 0
    for item in found:
        console.say(item.name)
        for index in item.stale:
            interaction = item.cassette.interactions[index]
            console.say(f"  #{index + 1}  {_described(interaction)}")
    count = sum(len(item.stale) for item in found)
    console.note(_counted(count, len(found), "stale"))
    return 0


def clean_stale(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Remove the stale interactions (with ``--dry-run``, only say which)."""
    dry_run: bool = options.dry_run
    verb = "would remove" if dry_run else "removed"
    failures = removed = cassettes = 0
    for item in find_stale(where, console):
        failure = None if dry_run else _rewrite(item, console)
        if failure is not None:
            console.note(f"error: {item.name}: {failure}")
            failures += 1
            continue
        cassettes += 1
        removed += len(item.stale)
        left = len(item.cassette.interactions) - len(item.stale)
        tail = f", {left} left" if left else "; no interaction left, so the file too"
        console.say(f"{verb} {_plural(len(item.stale), 'interaction')} from {item.name}{tail}")
    if not cassettes:
        console.note("nothing to remove")
    else:
        console.note(
            f"{verb} {_counted(removed, cassettes, 'stale')}"
            + ("; dry run: nothing was removed" if dry_run else "")
        )
    return 1 if failures else 0


def _rewrite(item: StaleCassette, console: Console) -> str | None:
    kept = item.kept()
    try:
        if not kept:
            item.path.unlink()
            return None
        write_cassette(
            item.path,
            attrs.evolve(item.cassette, interactions=kept),
            secrets=key_values(console.env),
        )
    except RecordingRefused as exc:
        return str(exc)
    except OSError as exc:
        return f"could not rewrite it ({exc.strerror or exc}); it is unchanged"
    return None


def _described(interaction: Interaction) -> str:
    request = interaction.request
    message = last_message(interaction)
    if len(message) > _MESSAGE_WIDTH:
        message = message[: _MESSAGE_WIDTH - 1] + "…"
    model = model_of(interaction)
    return (
        f"{request.method} {request.url}"
        + (f" model={model}" if model and model != "-" else "")
        + (f" {message!r}" if message else "")
        + f" (recorded {interaction.recorded_at})"
    )


def _entry(item: StaleCassette) -> dict[str, object]:
    return {
        "name": item.name,
        "path": str(item.path),
        "interactions": len(item.cassette.interactions),
        "stale": [
            {
                "index": index,
                "method": item.cassette.interactions[index].request.method,
                "url": item.cassette.interactions[index].request.url,
                "recorded_at": item.cassette.interactions[index].recorded_at,
            }
            for index in item.stale
        ],
    }


def _counted(interactions: int, cassettes: int, adjective: str) -> str:
    return (
        f"{_plural(interactions, f'{adjective} interaction')} in {_plural(cassettes, 'cassette')}"
    )


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
