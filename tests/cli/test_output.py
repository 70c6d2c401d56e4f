"""Tests for exllm_py.cli.render and .progress: tables, sizes, ages, dollars, colour, the bar."""

from __future__ import annotations

import io
import os
import pty
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TextIO

import pytest

from exllm_py.cli.hosts import provider_for_url
from exllm_py.cli.progress import Progress, track
from exllm_py.cli.render import Palette, ago, dollars, size, table, truncate

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class TestTable:
    """Columns line up; the right-aligned ones end under their header."""

    def test_alignment(self) -> None:
        text = table(("name", "count"), [("a", "1"), ("longer", "200")], right={1})
        assert text.splitlines() == ["name    count", "a           1", "longer    200"]


class TestUnits:
    """Sizes and ages are short and exact enough to read at a glance."""

    @pytest.mark.parametrize(
        ("count", "shown"),
        [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (5 * 1024**2, "5.0 MiB")],
    )
    def test_size(self, count: int, shown: str) -> None:
        assert size(count) == shown

    @pytest.mark.parametrize(
        ("elapsed", "shown"),
        [
            (timedelta(seconds=45), "45s ago"),
            (timedelta(minutes=15, seconds=3), "15m ago"),
            (timedelta(hours=5), "5h ago"),
            (timedelta(days=40, hours=23), "40d ago"),
            (timedelta(seconds=-5), "just now"),
        ],
    )
    def test_ago(self, elapsed: timedelta, shown: str) -> None:
        assert ago(NOW - elapsed, NOW) == shown

    def test_never(self) -> None:
        assert ago(None, NOW) == "never"

    def test_truncate_flattens_and_cuts(self) -> None:
        assert truncate("a\n  b", 10) == "a b"
        assert truncate("abcdefghij", 5) == "abcd…"


class TestProviders:
    """A recorded URL's host names its provider; unknown hosts are shown without their port."""

    @pytest.mark.parametrize(
        ("url", "provider"),
        [
            ("https://api.openai.com/v1/chat/completions", "openai"),
            ("https://api.anthropic.com/v1/messages", "anthropic"),
            ("https://generativelanguage.googleapis.com/v1beta/models/x:generate", "gemini"),
            ("http://localhost:11434/v1/chat/completions", "ollama"),
            ("http://localhost:1234/v1/chat/completions", "lmstudio"),
            ("http://127.0.0.1:54321/v1/chat/completions", "127.0.0.1"),
            ("not a url", "unknown"),
        ],
    )
    def test_provider_for_url(self, url: str, provider: str) -> None:
        assert provider_for_url(url) == provider


class TestProgress:
    """The bar draws only on a terminal, and erases itself when done."""

    def test_silent_when_not_a_terminal(self) -> None:
        stream = io.StringIO()
        assert list(track(range(3), stream, "reading")) == [0, 1, 2]
        assert stream.getvalue() == ""

    def test_draws_and_erases_on_a_terminal(self) -> None:
        stream = _Terminal()
        assert list(track([1, 2], stream, "reading")) == [1, 2]
        drawn = stream.getvalue()
        assert "\rreading [" in drawn
        assert "2/2" in drawn
        assert drawn.endswith("\r")

    def test_redraws_at_most_ten_times_a_second(self) -> None:
        stream = _Terminal()
        ticks = iter([0.0, 0.01, 0.02, 0.5])
        bar = Progress(stream, "x", 10, clock=lambda: next(ticks))
        for _ in range(4):
            bar.advance()
        assert stream.getvalue().count("\r") == 2  # at 0.0 and at 0.5


@pytest.fixture
def terminal() -> Iterator[TextIO]:
    """The writing end of a real pseudo-terminal."""
    reader, writer = pty.openpty()
    with os.fdopen(writer, "w") as stream:
        yield stream
    os.close(reader)


class TestPalette:
    """Colour on a terminal unless NO_COLOR or TERM=dumb; FORCE_COLOR turns it on anywhere."""

    def test_a_terminal_gets_colour(self, terminal: TextIO) -> None:
        palette = Palette.for_stream(terminal, {"TERM": "xterm"})
        assert palette.bold("x") == "\x1b[1mx\x1b[0m"

    def test_a_pipe_gets_none(self) -> None:
        assert Palette.for_stream(io.StringIO(), {"TERM": "xterm"}).bold("x") == "x"

    @pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"NO_COLOR": "1", "FORCE_COLOR": "1"}])
    def test_no_color_turns_it_off(self, terminal: TextIO, env: dict[str, str]) -> None:
        assert Palette.for_stream(terminal, {"TERM": "xterm", **env}).bold("x") == "x"

    def test_an_empty_no_color_does_not_count(self, terminal: TextIO) -> None:
        assert Palette.for_stream(terminal, {"NO_COLOR": ""}).enabled

    def test_a_dumb_terminal_gets_none(self, terminal: TextIO) -> None:
        assert Palette.for_stream(terminal, {"TERM": "dumb"}).bold("x") == "x"

    def test_force_color_turns_it_on_in_a_pipe(self) -> None:
        assert Palette.for_stream(io.StringIO(), {"FORCE_COLOR": "1"}).red("x") != "x"


class TestColouredTable:
    """Escape codes go around the text, after the padding, so columns stay where they were."""

    def test_colour_moves_no_column(self) -> None:
        rows = [("a", "1", "never"), ("longer", "200", "2d ago")]
        plain = table(("name", "count", "played"), rows, right={1})
        coloured = table(("name", "count", "played"), rows, right={1}, palette=Palette(True))
        assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
        assert "\x1b[2mnever\x1b[0m" in coloured
        assert coloured.splitlines()[0].startswith("\x1b[1mname\x1b[0m")


class TestDollars:
    """Amounts in USD: to the cent from a cent up, two significant digits below, no exponent."""

    @pytest.mark.parametrize(
        ("amount", "shown"),
        [
            (7.049999999999999e-06, "$0.000007"),
            (2.1e-06, "$0.0000021"),
            (0.00994, "$0.0099"),
            (0.00999, "$0.01"),
            (0.0123, "$0.01"),
            (1234.5, "$1,234.50"),
            (0.0, "$0.00"),
            (-0.0002, "-$0.0002"),
            (None, "-"),
        ],
    )
    def test_dollars(self, amount: float | None, shown: str) -> None:
        assert dollars(amount) == shown
