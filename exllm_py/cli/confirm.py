"""Asking before a destructive command, and refusing when nobody can answer."""

from __future__ import annotations

from exllm_py.cli.context import CommandFailed, Console

__all__ = ["confirm"]


def confirm(console: Console, action: str, *, assume_yes: bool) -> bool:
    """Whether to go ahead and ``action`` ("remove 12 cassettes …").

    ``--yes`` answers for the user. Otherwise the question goes to stderr and
    the answer comes from stdin, which must be a terminal: a script that
    forgot ``--yes`` fails instead of removing anything.
    """
    if assume_yes:
        return True
    if not console.interactive():
        raise CommandFailed(
            f"not going to {action} without confirmation, and stdin is not a terminal to "
            "ask on; pass --yes to confirm"
        )
    console.err.write(f"{action[0].upper()}{action[1:]}? [y/N] ")
    console.err.flush()
    answer = console.stdin.readline().strip().lower()
    if answer in ("y", "yes"):
        return True
    console.note("aborted: nothing was removed")
    return False
