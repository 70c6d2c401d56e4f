"""``exllm-cache warm``: fill a production store from a file of calls, or from the cassettes.

``warm FILE.jsonl`` runs the calls the file lists (one JSON value per line:
``{"provider": ..., "messages": [...], "options": {...}}`` or the array
``[provider, messages, options]``) through a production strategy over the
store, paying only for those not cached yet. ``warm --from-cassettes DIR``
stores the answers the test suite recorded, under the keys live calls
derive (:mod:`exllm_py.testing.cassette_warming`), without calling anyone.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cli.context import CommandFailed, Console
from exllm_py.cli.locate import Location
from exllm_py.cli.production_store import opened_store, store_label
from exllm_py.cli.progress import Progress
from exllm_py.cli.render import json_text
from exllm_py.request import UseDefault

__all__ = ["read_calls", "run"]

Call = tuple[str, Sequence[Any], Mapping[str, Any]]


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Warm the store from ``FILE`` or ``--from-cassettes``; 1 if any call failed."""
    if options.from_cassettes is not None:
        directory = Path(options.from_cassettes or where.cassette_dir)
        return _from_cassettes(options, console, directory)
    calls = _with_ttl(read_calls(Path(options.file)), options.ttl)
    label = store_label(options, console.env)
    with opened_store(options, console.env, create=not options.dry_run) as store:
        strategy = ProductionStrategy(store)
        if options.dry_run:
            return _dry_run(options, console, strategy, calls, label)
        _check_answers(store, label)
        bar = Progress(console.err, "warming", len(calls))
        try:
            report = strategy.warm(calls, options.concurrency, progress=lambda _: bar.advance())
        finally:
            bar.close()
    if options.json:
        console.say(json_text({"store": label, **attrs.asdict(report), "failed": report.failed}))
    else:
        console.say(f"{report} into the {label}")
        for failure in report.failures:
            console.note(f"failed: {failure}")
    return 1 if report.failures else 0


def read_calls(path: Path) -> list[Call]:
    """The calls ``path`` lists, one per non-blank line; ``CommandFailed`` naming a bad line."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise CommandFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
    calls = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            calls.append(_call(path, number, line))
    if not calls:
        raise CommandFailed(f"{path} lists no calls: write one JSON call per line")
    return calls


def _call(path: Path, number: int, line: bytes) -> Call:
    where = f"{path}:{number}"
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise CommandFailed(f"{where}: not JSON ({exc})") from exc
    if isinstance(value, dict):
        unknown = set(value) - {"provider", "messages", "options"}
        if unknown:
            raise CommandFailed(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
                "a call has provider, messages and options"
            )
        value = [value.get("provider"), value.get("messages"), value.get("options") or {}]
    if not isinstance(value, list) or len(value) != 3:
        raise CommandFailed(
            f'{where}: a call is {{"provider": ..., "messages": [...], "options": {{...}}}} '
            "or [provider, messages, options]"
        )
    provider, messages, call_options = value
    return provider, messages, call_options


def _dry_run(
    options: argparse.Namespace,
    console: Console,
    strategy: ProductionStrategy,
    calls: list[Call],
    label: str,
) -> int:
    """How many calls warming would send, checked as warming checks them; nothing sent."""
    cached = strategy.warm(calls, dry_run=True).skipped
    if options.json:
        document = {"store": label, "dry_run": True, "total": len(calls), "cached": cached}
        console.say(json_text(document))
    else:
        console.say(
            f"would send {len(calls) - cached} of {len(calls)} calls "
            f"({cached} already cached in the {label})"
        )
    return 0


def _from_cassettes(options: argparse.Namespace, console: Console, directory: Path) -> int:
    # The harvest reads cassettes through the test cache's readers and the
    # providers' request readers: imported only for this command.
    from exllm_py.testing.cassette_warming import warm_from_cassettes

    if not directory.is_dir():
        raise CommandFailed(f"{directory} is not a directory of cassettes")
    label = store_label(options, console.env)
    with opened_store(options, console.env, create=not options.dry_run) as store:
        if not options.dry_run:
            _check_answers(store, label)
        bar: list[Progress] = []

        def advance(progress: Any) -> None:
            if not bar:
                bar.append(Progress(console.err, "warming", progress.total))
            bar[0].advance()

        try:
            report = warm_from_cassettes(
                store,
                directory,
                namespace=options.cache_namespace,
                tags=options.tag or (),
                ttl=options.ttl,
                dry_run=options.dry_run,
                progress=advance,
            )
        finally:
            for progress_bar in bar:
                progress_bar.close()
    if options.json:
        console.say(json_text({"store": label, **report.to_dict()}))
        return 0
    verb = "would store" if report.dry_run else "stored"
    console.say(
        f"{verb} {report.stored} entries from {report.harvested} of {report.interactions} "
        f"recorded interactions in {report.cassettes} cassettes into the {label} "
        f"({report.already_cached} already cached, {report.declined} declined by the store)"
    )
    for reason, count in sorted(report.skipped.items()):
        console.note(f"skipped {count}: {reason}")
    for path, why in report.unreadable.items():
        console.note(f"unreadable: {console.shown(path)}: {why}")
    return 1 if report.declined else 0


def _check_answers(store: CacheStore, label: str) -> None:
    """Refuse to start when the store does not answer: warming it would store nothing."""
    ping = getattr(store, "ping", None)
    if ping is None:
        return
    try:
        ping()
    except Exception as exc:
        raise CommandFailed(
            f"the {label} does not answer ({type(exc).__name__}: {exc}); nothing was sent"
        ) from exc


def _with_ttl(calls: list[Call], ttl: float | UseDefault | None) -> list[Call]:
    """The calls, with ``--ttl`` as their ``cache_ttl`` where they set none."""
    if isinstance(ttl, UseDefault):
        return calls
    return [
        (provider, messages, {"cache_ttl": ttl, **call_options})
        for provider, messages, call_options in calls
    ]
