"""The entry point's work: parse, find the cassette dir, run the command, map failures to exits.

The CLI is thin: everything it does is a call into :mod:`exllm_py.testing`
or the Redis store's housekeeping functions. Here an ``ExLLMError`` from
any of them becomes its message on stderr and exit status 1; argparse's
usage errors are status 2 (its own convention).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from importlib import metadata

from exllm_py.cli.args import parse_args
from exllm_py.cli.commands import COMMANDS
from exllm_py.cli.context import Console
from exllm_py.cli.locate import locate
from exllm_py.errors import ExLLMError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "run"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
_EXIT_INTERRUPTED = 130


def run(argv: Sequence[str] | None, console: Console) -> int:
    """Run the command line ``argv`` (without the program name) on ``console``."""
    try:
        with contextlib.redirect_stdout(console.out), contextlib.redirect_stderr(console.err):
            options = parse_args(argv)
    except SystemExit as exc:  # argparse's --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if options.version:
        console.say(f"exllm-cache {_version()}")
        return EXIT_OK
    try:
        where = locate(root=options.root, directory=options.dir, cwd=console.cwd, env=console.env)
        return COMMANDS[options.command](options, console, where)
    except ExLLMError as exc:
        console.note(f"exllm-cache {options.command}: error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        console.note("interrupted")
        return _EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`exllm-cache list | head`): nothing left to say to it.
        return EXIT_FAILED


def _version() -> str:
    try:
        return metadata.version("exllm_py")
    except metadata.PackageNotFoundError:
        return "unknown"
