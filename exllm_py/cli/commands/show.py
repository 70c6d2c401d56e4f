"""``exllm-cache show CASSETTE``: each interaction's request and the answer it recorded.

For every interaction: the request (method, URL, status, model, the start
of its last message) and the response as a replaying test receives it
(:mod:`exllm_py.cli.answers`): the text, tool calls, finish reason and
usage, and for a stream the joined text and how many events were recorded.
``--json`` prints all of it, with each interaction as the file stores it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from exllm_py.cli.answers import Answer, read_answer
from exllm_py.cli.context import CommandFailed, Console
from exllm_py.cli.locate import Location
from exllm_py.cli.render import Palette, clean, dollars, json_text, truncate
from exllm_py.cli.summary import last_message, model_of, streamed
from exllm_py.providers.pricing import cost_of
from exllm_py.testing.cassette_file import CassetteFile, Interaction, encode_cassette, read_cassette
from exllm_py.testing.paths import cassette_path_for

__all__ = ["resolve", "run"]

# The request is a reminder of what was asked; the answer is what show is for,
# so it is printed whole.
_MESSAGE_WIDTH = 160
_INDENT = "    "


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Print the cassette's metadata, then each interaction's request and answer."""
    path = resolve(options.cassette, where, console.cwd)
    cassette = read_cassette(path)
    answers = [read_answer(item) for item in cassette.interactions]
    if options.json:
        console.say(json_text(_document(path, cassette, answers)))
        return 0
    palette = Palette.for_stream(console.out, console.env)
    header = [("cassette", console.shown(path)), ("version", str(cassette.version))]
    header += [(name, clean(value)) for name, value in sorted(cassette.metadata.items()) if value]
    header.append(("interactions", str(len(cassette.interactions))))
    width = max(len(label) for label, _ in header)
    for label, value in header:
        console.say(f"{palette.bold(label.ljust(width))}  {value}")
    pairs = zip(cassette.interactions, answers, strict=True)
    for number, (item, answer) in enumerate(pairs, start=1):
        console.say("")
        console.say(_heading(number, item, palette))
        console.say(_details(item, answer, palette))
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


def _heading(number: int, item: Interaction, palette: Palette) -> str:
    status = str(item.response.status)
    shown = palette.red(status) if item.response.status >= 400 else palette.green(status)
    request = palette.bold(f"#{number}  {item.request.method} {clean(item.request.url)}")
    return f"{request}  {shown}"


def _details(item: Interaction, answer: Answer, palette: Palette) -> str:
    rows = list(_rows(item, answer))
    width = max(len(label) for label, _ in rows)
    lines = []
    for label, value in rows:
        first, *rest = value.splitlines() or [""]
        if label in ("error", "unreadable"):
            first = palette.red(first)
        lines.append(f"{_INDENT}{palette.dim(label.ljust(width))}  {first}".rstrip())
        lines += [f"{_INDENT}{' ' * width}  {line}".rstrip() for line in rest]
    return "\n".join(lines)


def _rows(item: Interaction, answer: Answer) -> Iterator[tuple[str, str]]:
    yield "model", answer.model or model_of(item)
    yield "recorded", item.recorded_at
    yield "request", truncate(clean(last_message(item)), _MESSAGE_WIDTH)
    if answer.events is not None:
        yield "streamed", f"{answer.events} event{'' if answer.events == 1 else 's'}"
    if answer.reasoning:
        yield "reasoning", clean(answer.reasoning)
    if answer.content or not (answer.tool_calls or answer.error or answer.unreadable):
        yield "response", clean(answer.content) or "(empty)"
    for call in answer.tool_calls:
        arguments = orjson.dumps(dict(call.arguments)).decode("utf-8")
        yield "tool call", clean(f"{call.name} {arguments}")
    if answer.finish_reason is not None:
        yield "finish", answer.finish_reason
    if answer.usage is not None:
        yield "usage", _usage_text(item, answer)
    if answer.error is not None:
        yield "error", clean(answer.error)
    if answer.unreadable is not None:
        yield "unreadable", clean(answer.unreadable)


def _usage_text(item: Interaction, answer: Answer) -> str:
    usage = answer.usage
    assert usage is not None, "only called with usage"
    text = f"{usage.input_tokens} in, {usage.output_tokens} out, {usage.total_tokens} total"
    parts = [
        f"{count} {name}"
        for count, name in (
            (usage.reasoning_tokens, "reasoning"),
            (usage.cache_read_tokens, "cache read"),
            (usage.cache_write_tokens, "cache write"),
        )
        if count
    ]
    if parts:
        text += f" ({', '.join(parts)})"
    cost = _cost(item, answer)
    if cost is not None:
        text += f"; about {dollars(cost)} at list prices"
    return text


def _cost(item: Interaction, answer: Answer) -> float | None:
    if answer.usage is None:
        return None
    return cost_of(answer.model or model_of(item), answer.usage)


def _document(path: Path, cassette: CassetteFile, answers: list[Answer]) -> dict[str, Any]:
    # Re-encoded rather than re-read: the writer's own redaction applies once more.
    stored = orjson.loads(encode_cassette(CassetteFile(cassette.interactions)))["interactions"]
    return {
        "path": str(path),
        "version": cassette.version,
        "metadata": _cleaned(dict(cassette.metadata)),
        "interactions": [
            _entry(item, answer, as_stored)
            for item, answer, as_stored in zip(cassette.interactions, answers, stored, strict=True)
        ],
    }


def _entry(item: Interaction, answer: Answer, as_stored: Any) -> dict[str, Any]:
    return {
        "method": item.request.method,
        "url": clean(item.request.url),
        "status": item.response.status,
        "model": model_of(item),
        "last_message": clean(last_message(item)),
        "streamed": streamed(item),
        "recorded_at": item.recorded_at,
        "answer": _cleaned({**answer.to_json(), "cost_usd": _cost(item, answer)}),
        "stored": _cleaned(as_stored),
    }


def _cleaned(value: Any) -> Any:
    """``value`` with every string in it fit to print (see :func:`~exllm_py.cli.render.clean`)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {key: _cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value
