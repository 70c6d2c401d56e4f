"""Colour in ``list``, ``stats`` and ``show``: on a terminal, never in a pipe, and the switches.

Each command runs as a real process whose stdout is a pseudo-terminal, or a
pipe, so the decision is the one a user's shell gets. Stripped of its escape
codes, the coloured output is exactly the plain one: colour never moves a
column. The rules themselves (``TERM=dumb``, ``NO_COLOR`` over
``FORCE_COLOR``) are tested on :class:`~exllm_py.cli.render.Palette` in
``test_output.py``.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.cli.conftest import CassetteDir, days_ago, interaction

# Any ANSI control sequence (CSI ... final byte).
_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_COMMANDS = (("list",), ("stats",), ("show", "tests/test_a.py::test_one"))


def _environment(**settings: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("NO_COLOR", "FORCE_COLOR", "TERM") and not name.startswith("PYTEST_")
    }
    return {**env, "TERM": "xterm-256color", **settings}


def _command(args: tuple[str, ...], project: Path) -> list[str]:
    location = ["--dir", str(project / "cassettes"), "--root", str(project)]
    return [sys.executable, "-m", "exllm_py.cli", *args, *location]


def on_terminal(args: tuple[str, ...], project: Path, env: Mapping[str, str]) -> str:
    """What ``exllm-cache ARGS`` writes to stdout when stdout is a terminal."""
    reader, writer = pty.openpty()
    try:
        process = subprocess.Popen(
            _command(args, project), stdout=writer, stderr=subprocess.DEVNULL, env=dict(env)
        )
    finally:
        os.close(writer)  # the child holds its own copy; EOF comes when it exits
    received = []
    try:
        while True:
            try:
                data = os.read(reader, 65536)
            except OSError:  # EIO: the terminal's other end closed
                break
            if not data:
                break
            received.append(data)
    finally:
        os.close(reader)
    assert process.wait(timeout=120) == 0
    # The terminal turns each newline into CR LF.
    return b"".join(received).decode("utf-8").replace("\r\n", "\n")


def in_pipe(args: tuple[str, ...], project: Path, env: Mapping[str, str]) -> str:
    """What ``exllm-cache ARGS`` writes to stdout when stdout is a pipe."""
    done = subprocess.run(
        _command(args, project), env=dict(env), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def project(tmp_path: Path, cassettes: CassetteDir) -> Path:
    """A project with two cassettes, one played by a run and one never played."""
    played = cassettes.add("tests/test_a.py::test_one", interaction(recorded=days_ago(3)))
    cassettes.add("tests/test_a.py::test_two", interaction(recorded=days_ago(40)))
    cassettes.played([played], days_ago(2))
    return tmp_path


@pytest.mark.parametrize("args", _COMMANDS, ids=[args[0] for args in _COMMANDS])
class TestColour:
    """On a terminal, headers and labels are coloured; in a pipe, nothing is."""

    def test_a_terminal_gets_colour_that_moves_no_column(
        self, project: Path, args: tuple[str, ...]
    ) -> None:
        coloured = on_terminal(args, project, _environment())
        plain = in_pipe(args, project, _environment())
        assert "\x1b[1m" in coloured  # headers and labels are bold
        assert _ESCAPE.search(plain) is None
        assert _ESCAPE.sub("", coloured) == plain


class TestSwitches:
    """NO_COLOR turns colour off on a terminal; FORCE_COLOR turns it on in a pipe."""

    def test_no_color_turns_it_off_on_a_terminal(self, project: Path) -> None:
        shown = on_terminal(("list",), project, _environment(NO_COLOR="1"))
        assert "cassette" in shown
        assert _ESCAPE.search(shown) is None

    def test_force_color_turns_it_on_in_a_pipe(self, project: Path) -> None:
        forced = in_pipe(("list",), project, _environment(FORCE_COLOR="1"))
        assert "\x1b[1m" in forced
        assert "\x1b[2mnever" in forced  # a placeholder is dim
