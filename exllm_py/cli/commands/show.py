"""``exllm-cache show CASSETTE``: the interactions one cassette holds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from exllm_py.cli.context import CommandFailed, Console
from exllm_py.cli.locate import Location
from exllm_py.cli.render import clean, json_text, table, truncate
from exllm_py.cli.summary import last_message, model_of, streamed
from exllm_py.testing.cassette_file import Interaction, read_cassette
from exllm_py.testing.paths import cassette_path_for

__all__ = ["resolve", "run"]

_MESSAGE_WIDTH = 40


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Print the cassette's metadata and one row per interaction."""
    path = resolve(options.cassette, where, console.cwd)
    cassette = read_cassette(path)
    if options.json:
        document = {
            "path": str(path),
            "version": cassette.version,
            "metadata": {name: _cleaned(value) for name, value in cassette.metadata.items()},
            "interactions": [_entry(item) for item in cassette.interactions],
        }
        console.say(json_text(document))
        return 0
    header = [("cassette", console.shown(path)), ("version", str(cassette.version))]
    header += [(name, clean(value)) for name, value in sorted(cassette.metadata.items()) if value]
    header.append(("interactions", str(len(cassette.interactions))))
    width = max(len(label) for label, _ in header)
    for label, value in header:
        console.say(f"{label.ljust(width)}  {value}")
    if cassette.interactions:
        rows = [
            (
                str(number),
                item.request.method,
                clean(item.request.url),
                str(item.response.status),
                model_of(item),
                "yes" if streamed(item) else "no",
                item.recorded_at,
                truncate(clean(last_message(item)), _MESSAGE_WIDTH),
            )
            for number, item in enumerate(cassette.interactions, start=1)
        ]
        headers = ("#", "method", "url", "status", "model", "streamed", "recorded", "message")
        console.say("")
        console.say(table(headers, rows, right={0, 3}))
    return 0


def resolve(text: str, where: Location, cwd: Path) -> Path:
    """The cassette ``text`` names: a file, a path under the cassette dir, or a test id."""
    candidates = [cwd / text, where.cassette_dir / text, where.cassette_dir / f"{text}.json"]
    if "::" in text:
        candidates.append(cassette_path_for(where.cassette_dir, text))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise CommandFailed(
        f"no cassette {text!r}: it is not a file, nor a path under {where.cassette_dir}, nor a "
        "test id (tests/test_x.py::test_y) whose cassette exists; `exllm-cache list` shows them"
    )


def _cleaned(value: Any) -> Any:
    return clean(value) if isinstance(value, str) else value


def _entry(item: Interaction) -> dict[str, Any]:
    return {
        "method": item.request.method,
        "url": clean(item.request.url),
        "status": item.response.status,
        "model": model_of(item),
        "last_message": clean(last_message(item)),
        "streamed": streamed(item),
        "recorded_at": item.recorded_at,
    }
