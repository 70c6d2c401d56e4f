"""The commands, one module each; every one is ``run(options, console, where) -> exit status``.

``options`` is the parsed command line (:mod:`exllm_py.cli.args`),
``console`` the streams, environment and time
(:class:`~exllm_py.cli.context.Console`), ``where`` the project root and
cassette dir (:class:`~exllm_py.cli.locate.Location`). A command returns 0
when all went well and 1 when it found problems or could not finish; it
raises ``ExLLMError`` (usually :class:`~exllm_py.cli.context.CommandFailed`)
for a failure that ends it, which the entry point prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from exllm_py.cli.commands import (
    clean,
    clear,
    import_vcr,
    invalidate,
    listing,
    report,
    show,
    stats,
    verify,
    warm,
)
from exllm_py.cli.context import Console
from exllm_py.cli.locate import Location

__all__ = ["COMMANDS", "Command"]

Command = Callable[[argparse.Namespace, Console, Location], int]

COMMANDS: Mapping[str, Command] = {
    "clean": clean.run,
    "clear": clear.run,
    "import-vcr": import_vcr.run,
    "invalidate": invalidate.run,
    "list": listing.run,
    "report": report.run,
    "show": show.run,
    "stats": stats.run,
    "verify": verify.run,
    "warm": warm.run,
}
