"""The command line: every command, option and help text, and the ``AGE`` type.

This module is the CLI's whole surface in one place; the commands only read
the parsed namespace. Mistakes found while parsing (an unknown option, a bad
``AGE``, options that do not go together) end in argparse's usage error,
exit status 2.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import timedelta

import attrs

from exllm_py.request import DEFAULT_TTL

__all__ = ["Age", "parse_age", "parse_args"]

# ASCII digits only: \d would also take other scripts' digits.
_AGE = re.compile(r"([0-9]+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# The longest span a timedelta holds, and a bound on the digits checked before
# int() (which refuses very long numbers with a message of its own).
_MAX = timedelta.max
_MAX_DIGITS = 15

_DESCRIPTION = """\
Inspect, prune and verify the test cache (the cassettes that live_api tests
replay), and manage the production cache on disk or in Redis."""

_EPILOG = """\
AGE is a number and a unit: 90s, 15m, 12h or 30d.

exit status: 0 ok, 1 problems found or the operation failed, 2 usage error.

examples:
  exllm-cache stats
  exllm-cache list --unused 30d
  exllm-cache clean --orphans --dry-run
  exllm-cache verify
  exllm-cache invalidate --store disk --tag docs-v3"""


@attrs.frozen
class Age:
    """A span of time as the user wrote it (``30d``), and its length."""

    text: str
    delta: timedelta

    def __str__(self) -> str:
        return self.text


def parse_age(text: str) -> Age:
    """``90s``, ``15m``, ``12h`` or ``30d`` as an :class:`Age`; a usage error otherwise."""
    match = _AGE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an AGE; write a number and a unit: 90s, 15m, 12h or 30d"
        )
    digits, unit = match[1].lstrip("0"), match[2]
    if not digits:
        raise argparse.ArgumentTypeError(f"{text!r} is not an AGE; it must be more than 0")
    try:
        if len(digits) > _MAX_DIGITS:
            raise OverflowError
        delta = timedelta(**{_UNITS[unit]: int(digits)})
    except OverflowError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is too long an AGE; the longest is {_MAX.days}d"
        ) from None
    return Age(match[0], delta)


def _namespace(text: str) -> str:
    # The Redis store's own rule, so that a bad name is a usage error before connecting.
    from exllm_py.cache.stores.redis_connect import check_namespace

    try:
        return check_namespace(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser, and each command's own parser (for usage errors that name the command)."""
    parser = argparse.ArgumentParser(
        prog="exllm-cache",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _location_options(parser, suppress=False)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    where = argparse.ArgumentParser(add_help=False)
    _location_options(where, suppress=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    by_name: dict[str, argparse.ArgumentParser] = {}

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        by_name[name] = commands.add_parser(
            name,
            help=summary,
            description=description,
            parents=[where],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return by_name[name]

    stats = command(
        "stats",
        "counts and sizes, per provider and per test module",
        "Cassettes, interactions and bytes, per provider and per test module; the oldest\n"
        "and newest recordings; cassettes the last test run did not play. With a\n"
        "production store (--store disk --path DIR, or --redis URL --namespace NS), also\n"
        "its entries and bytes, and the hits, misses, hit rate and money saved that it\n"
        "counted, every process's.",
    )
    stats.add_argument(
        "--older-than",
        type=parse_age,
        default=parse_age("90d"),
        metavar="AGE",
        help="count the cassettes recorded longer ago than AGE (default: 90d)",
    )
    _store_options(stats)
    _json_option(stats)

    listing = command(
        "list",
        "one line per cassette",
        "One line per cassette: provider, interactions, size, when it was recorded and\n"
        "when a test run last played it. Filters combine: a cassette must match all.",
    )
    _filter_options(listing, provider=True)
    listing.add_argument(
        "--stale",
        action="store_true",
        help="list the interactions that the last passing run of their test did not play",
    )
    _json_option(listing)

    show = command(
        "show",
        "the interactions of one cassette",
        "The interactions of one cassette: each request (method, URL, status, model, the\n"
        "start of its last message, when it was recorded) and the answer a replaying test\n"
        "receives: its text, tool calls, finish reason and usage; for a stream, the joined\n"
        "text and the number of events. --json prints everything, each interaction also\n"
        "as the file stores it.",
    )
    show.add_argument(
        "cassette",
        metavar="CASSETTE",
        help="a cassette file, its path under the cassette dir, or a test id "
        "(tests/test_x.py::test_y)",
    )
    _json_option(show)

    clean = command(
        "clean",
        "remove the cassettes that match all the given filters",
        "Remove the cassettes that match ALL the given filters (at least one is needed),\n"
        "and temporary files left by interrupted writes. Only files inside the cassette\n"
        "dir are ever touched.\n\n"
        "  --orphans         the cassette's test no longer exists (its module is gone,\n"
        "                    or collecting the module no longer finds the test)\n"
        "  --unused AGE      no test run has played it for AGE (needs the usage file\n"
        "                    the pytest plugin writes when tests run)\n"
        "  --older-than AGE  recorded longer ago than AGE",
    )
    _filter_options(clean, provider=False)
    clean.add_argument(
        "--stale-interactions",
        action="store_true",
        help="remove the interactions that the last passing run of their test did not play "
        "(rewrites those cassettes; never one whose test has not passed here)",
    )
    clean.add_argument(
        "--dry-run", action="store_true", help="say what would be removed, remove nothing"
    )

    clear = command(
        "clear",
        "remove every cassette (or a Redis namespace)",
        "Remove every cassette (or those of one provider); asks first unless --yes.\n"
        "With --redis URL --namespace NS, remove that Redis namespace's entries instead\n"
        "(and nothing else in that Redis database).",
    )
    clear.add_argument("--provider", metavar="P", help="only the cassettes of provider P")
    clear.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _redis_options(clear, namespace_required=True)

    verify = command(
        "verify",
        "check every cassette; exit 1 on any problem",
        "Parse every cassette and check its format version, that credentials are\n"
        "redacted, that nothing looks like a provider key (sk-..., sk-ant-..., AIza...,\n"
        "gsk_..., xai-..., bearer tokens, the keys set in the environment), and that no\n"
        "two cassettes or JSON keys collide. Prints each problem with its file; exits 1\n"
        "if there is any. Usable as a pre-commit hook.",
    )
    verify.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="check only these cassette files (default: the whole cassette dir)",
    )
    _json_option(verify)

    invalidate = command(
        "invalidate",
        "remove production cache entries by tag, provider, model, namespace or age",
        "Remove the entries of a production store (a DiskStore directory or a RedisStore\n"
        "namespace) that match ALL the given filters (at least one is needed). Each\n"
        "removal is an explicit eviction; prints how many went.",
    )
    _store_options(invalidate)
    invalidate.add_argument("--tag", type=_text, metavar="TAG", help="stored with cache_tags TAG")
    invalidate.add_argument(
        "--provider", type=_text, metavar="P", help="stored by a call to provider P"
    )
    invalidate.add_argument(
        "--model", type=_text, metavar="M", help="stored by a call that asked for model M"
    )
    invalidate.add_argument(
        "--cache-namespace",
        type=_text,
        metavar="NS",
        help="stored by a call with cache_namespace NS",
    )
    invalidate.add_argument(
        "--older-than", type=parse_age, metavar="AGE", help="stored longer ago than AGE"
    )
    invalidate.add_argument(
        "--key", type=_text, metavar="KEY", help="the entry under this cache key"
    )
    invalidate.add_argument(
        "--dry-run", action="store_true", help="say how many would be removed, remove nothing"
    )
    _json_option(invalidate)

    warm = command(
        "warm",
        "fill a production store from a file of calls, or from the cassettes",
        "Fill a production store (a DiskStore directory or a RedisStore namespace) so that\n"
        'later calls are hits. With FILE.jsonl (one call per line: {"provider": ...,\n'
        '"messages": [...], "options": {...}}), make the calls not cached yet, paying\n'
        "for those only. With --from-cassettes DIR, store the answers the test suite\n"
        "recorded (successful, not streamed) under the keys live calls derive; nothing\n"
        "is called. Prints what was stored, and why anything was skipped.",
    )
    warm.add_argument("file", nargs="?", metavar="FILE.jsonl", help="the calls to make")
    warm.add_argument(
        "--from-cassettes",
        nargs="?",
        const="",
        metavar="DIR",
        help="store the recorded answers of the cassettes under DIR (default: the cassette dir)",
    )
    _store_options(warm)
    warm.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="FILE: at most N calls at once (default: 4)",
    )
    warm.add_argument(
        "--cache-namespace",
        type=_text,
        metavar="NS",
        help="--from-cassettes: store the entries in cache namespace NS",
    )
    warm.add_argument(
        "--tag",
        type=_text,
        action="append",
        metavar="TAG",
        help="--from-cassettes: label the entries with TAG, for invalidate --tag (repeatable)",
    )
    warm.add_argument(
        "--ttl",
        type=_ttl,
        default=DEFAULT_TTL,
        metavar="SECONDS",
        help="how long what is stored lives: seconds, or 'none' for no expiry (default: the "
        "store's, 900 s; FILE: for calls that set no cache_ttl)",
    )
    warm.add_argument(
        "--dry-run", action="store_true", help="say what would be stored or sent, do nothing"
    )
    _json_option(warm)

    vcr = command(
        "import-vcr",
        "convert a vcrpy cassette into an exllm_py cassette",
        "Convert vcrpy (pytest-recording) cassettes into exllm_py cassettes. Without\n"
        "--to, a cassette at <dir>/cassettes/<module>/<test>.yaml (pytest-recording's\n"
        "layout) goes to the cassette of the test <dir>/<module>.py::<test>.",
    )
    vcr.add_argument(
        "path", metavar="PATH", help="a vcrpy cassette, or a directory of them (*.yaml, *.yml)"
    )
    vcr.add_argument(
        "--to",
        metavar="CASSETTE",
        help="where to write it: a test id (tests/test_x.py::test_y) or a .json path "
        "(only when PATH is one file)",
    )
    vcr.add_argument("--force", action="store_true", help="replace existing cassettes")

    report = command(
        "report",
        "an HTML page of the production cache's hit rate, savings and evictions",
        "Draw the production cache's counters as one self-contained HTML page (charts\n"
        "as inline SVG, no script, no network): hit rate and saved cost over time, the\n"
        "models that saved the most, evictions by reason. INPUT is a snapshot file that\n"
        "exllm_py.metrics.snapshots.SnapshotRecorder writes, or a stats document (JSON\n"
        "with hits and misses, such as strategy.stats()), which gives totals only.",
    )
    report.add_argument("input", metavar="INPUT", help="a snapshot file or a stats JSON file")
    report.add_argument(
        "--html", required=True, metavar="OUT", help="where to write the page (replaced if there)"
    )
    report.add_argument(
        "--top",
        type=_positive,
        default=10,
        metavar="N",
        help="how many models the top-models chart shows (default: 10)",
    )
    return parser, by_name


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``; usage errors raise ``SystemExit(2)`` after printing the usage."""
    parser, commands = _build()
    options = parser.parse_args(argv)
    if options.version:
        return options
    if options.command is None:
        parser.error(
            "a command is required "
            "(stats, list, show, clean, clear, verify, invalidate, warm, report, import-vcr)"
        )
    _check_combinations(commands[options.command], options)
    return options


def _check_combinations(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    command = options.command
    filtered = any(getattr(options, name, None) for name in ("orphans", "unused", "older_than"))
    if command == "clean" and not (filtered or options.stale_interactions):
        parser.error(
            "clean needs at least one filter: --orphans, --unused AGE, --older-than AGE "
            "or --stale-interactions (to remove every cassette, use clear)"
        )
    if command == "clean" and filtered and options.stale_interactions:
        parser.error(
            "--stale-interactions edits cassettes and the filters remove whole ones: "
            "run them as two commands"
        )
    if command == "invalidate" and not any(
        getattr(options, name) is not None
        for name in ("tag", "provider", "model", "cache_namespace", "older_than", "key")
    ):
        parser.error(
            "invalidate needs at least one filter: --tag, --provider, --model, "
            "--cache-namespace, --older-than AGE or --key"
        )
    if command == "warm":
        if (options.file is None) == (options.from_cassettes is None):
            parser.error("warm takes FILE.jsonl or --from-cassettes DIR (one of them)")
        if options.file is not None and (options.cache_namespace or options.tag):
            parser.error(
                "--cache-namespace and --tag go with --from-cassettes; a FILE's calls "
                "set cache_namespace and cache_tags in their options"
            )
    if command == "list" and options.stale and (filtered or options.provider is not None):
        parser.error("--stale lists interactions; it does not go with the cassette filters")
    stats_namespace = command == "stats" and options.namespace is not None
    if stats_namespace and options.redis is None and options.store != "redis":
        parser.error("--namespace goes with --redis URL or --store redis")
    if command == "clear":
        if options.namespace is not None and options.redis is None:
            parser.error("--namespace goes with --redis URL")
        if options.redis is not None and options.namespace is None:
            parser.error("clear --redis needs --namespace NS: only one namespace is ever cleared")
        if options.redis is not None and options.provider is not None:
            parser.error("--provider selects cassettes; it does not go with --redis")


def _location_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # Accepted before and after the command name; after it, an option only
    # overrides the value given before it when it is present (SUPPRESS).
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--dir",
        metavar="PATH",
        default=default,
        help="the cassette dir (default: $EXLLM_TEST_CACHE_DIR, else the exllm_cassette_dir "
        "ini option, else <root>/cassettes)",
    )
    parser.add_argument(
        "--root",
        metavar="PATH",
        default=default,
        help="the project root, pytest's rootdir (default: found from the working directory "
        "like pytest does)",
    )


def _filter_options(parser: argparse.ArgumentParser, *, provider: bool) -> None:
    if provider:
        parser.add_argument(
            "--provider", metavar="P", help="only cassettes that call provider P (or host P)"
        )
    parser.add_argument(
        "--older-than", type=parse_age, metavar="AGE", help="recorded longer ago than AGE"
    )
    parser.add_argument(
        "--unused", type=parse_age, metavar="AGE", help="not played by any test run for AGE"
    )
    parser.add_argument(
        "--orphans", action="store_true", help="the test the cassette belongs to no longer exists"
    )


def _redis_options(parser: argparse.ArgumentParser, *, namespace_required: bool) -> None:
    parser.add_argument("--redis", metavar="URL", help="a Redis URL (redis://host:6379/0)")
    parser.add_argument(
        "--namespace",
        metavar="NS",
        type=_namespace,
        help="the RedisStore namespace"
        + (" (required with --redis)" if namespace_required else " (default: exllm)"),
    )


def _store_options(parser: argparse.ArgumentParser) -> None:
    from exllm_py.cli.production_store import add_store_options

    add_store_options(parser, _namespace)


def _ttl(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    from exllm_py.cache.arguments import check_ttl
    from exllm_py.errors import ValidationError

    try:
        seconds = float(text)
        check_ttl("--ttl", seconds)
    except (ValueError, ValidationError) as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a TTL: give seconds above 0 (at most ten years) or 'none'"
        ) from exc
    return seconds


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _text(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print JSON (for scripts) instead of a table"
    )
