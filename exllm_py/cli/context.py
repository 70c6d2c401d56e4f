"""What every command runs with: its streams, environment and clock, and how it fails.

A :class:`Console` is built once per invocation (:meth:`Console.from_process`
for the real process; tests build their own), so that "now" is one instant
for the whole command and no command reads ``sys`` or ``os.environ`` itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import attrs

from exllm_py.cli.progress import is_terminal
from exllm_py.errors import ExLLMError

__all__ = ["CommandFailed", "Console"]


class CommandFailed(ExLLMError):
    """A command could not do what was asked; the message says why and what to do instead."""


@attrs.frozen
class Console:
    """The streams a command talks through, its environment, and the instant it started."""

    out: TextIO
    err: TextIO
    stdin: TextIO
    env: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    now: datetime = attrs.field(factory=lambda: datetime.now(UTC))
    cwd: Path = attrs.field(factory=Path.cwd)

    @classmethod
    def from_process(cls) -> Console:
        """The running process's streams, environment, working directory and time."""
        return cls(
            out=sys.stdout,
            err=sys.stderr,
            stdin=sys.stdin,
            env=dict(os.environ),
            now=datetime.now(UTC),
            cwd=Path.cwd(),
        )

    def say(self, text: str = "") -> None:
        """A line of the command's output (stdout)."""
        print(text, file=self.out)

    def note(self, text: str) -> None:
        """A line for the person at the terminal (stderr): warnings, prompts, summaries."""
        print(text, file=self.err)

    def interactive(self) -> bool:
        """Whether a person can answer a question: stdin is a terminal."""
        return is_terminal(self.stdin)

    def shown(self, path: Path) -> str:
        """``path`` for messages: relative to the working directory when it is below it."""
        try:
            return path.relative_to(self.cwd).as_posix()
        except ValueError:
            return str(path)
