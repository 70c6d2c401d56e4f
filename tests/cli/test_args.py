"""Tests for exllm_py.cli.args: the command line's surface, AGE, and usage errors (exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import timedelta

import pytest

from exllm_py.cli import main
from exllm_py.cli.args import parse_age, parse_args
from tests.cli.conftest import CassetteDir, Result

COMMANDS = ["stats", "list", "show", "clean", "clear", "verify", "import-vcr"]


class TestAge:
    """AGE is a positive number with one of the units s, m, h, d."""

    @pytest.mark.parametrize(
        ("text", "delta"),
        [
            ("90s", timedelta(seconds=90)),
            ("15m", timedelta(minutes=15)),
            ("12h", timedelta(hours=12)),
            ("30d", timedelta(days=30)),
        ],
    )
    def test_each_unit(self, text: str, delta: timedelta) -> None:
        age = parse_age(text)
        assert age.delta == delta
        assert str(age) == text

    @pytest.mark.parametrize(
        "text", ["30", "d", "3w", "1.5h", "-5m", "0d", "00s", "", "30 days", "\u0663d"]
    )
    def test_anything_else_is_a_usage_error(self, text: str) -> None:
        with pytest.raises(argparse.ArgumentTypeError, match="AGE"):
            parse_age(text)

    def test_the_longest_age_is_the_longest_span_python_holds(self) -> None:
        assert parse_age("999999999d").delta == timedelta(days=999_999_999)

    @pytest.mark.parametrize(
        "text", ["1000000000d", "99999999999d", "99999999999999999999s", "9" * 5000 + "h"]
    )
    def test_a_longer_age_is_a_usage_error(self, text: str) -> None:
        with pytest.raises(argparse.ArgumentTypeError, match="too long an AGE"):
            parse_age(text)


class TestUsageErrors:
    """Bad command lines exit 2 with the command's usage and a message that says what is wrong."""

    def test_a_bad_age_names_the_option_and_the_accepted_forms(
        self, cli: Callable[..., Result]
    ) -> None:
        result = cli("list", "--unused", "5y")
        assert result.code == 2
        assert "usage: exllm-cache list" in result.err
        assert "argument --unused: '5y' is not an AGE" in result.err
        assert "90s, 15m, 12h or 30d" in result.err

    @pytest.mark.parametrize("command", ["clean", "list", "stats"])
    def test_an_age_too_long_for_python_exits_2_without_a_traceback(
        self, cli: Callable[..., Result], command: str
    ) -> None:
        result = cli(command, "--older-than", "99999999999d")
        assert result.code == 2
        assert "Traceback" not in result.err
        assert "'99999999999d' is too long an AGE; the longest is 999999999d" in result.err

    def test_the_longest_age_filters_like_any_other(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        cassettes.add("tests/test_x.py::test_y")
        result = cli("clean", "--older-than", "999999999d")
        assert result.code == 0
        assert cassettes.files() == ["tests.test_x/test_y.json"]

    def test_no_command(self, cli: Callable[..., Result]) -> None:
        result = cli()
        assert result.code == 2
        assert "a command is required" in result.err

    def test_an_unknown_command(self, cli: Callable[..., Result]) -> None:
        result = cli("prune")
        assert result.code == 2
        assert "invalid choice: 'prune'" in result.err

    def test_an_unknown_option(self, cli: Callable[..., Result]) -> None:
        result = cli("stats", "--fast")
        assert result.code == 2
        assert "unrecognized arguments: --fast" in result.err

    def test_clean_without_a_filter_refuses(self, cli: Callable[..., Result]) -> None:
        result = cli("clean", "--dry-run")
        assert result.code == 2
        assert "clean needs at least one filter" in result.err

    def test_clear_redis_needs_a_namespace(self, cli: Callable[..., Result]) -> None:
        result = cli("clear", "--redis", "redis://localhost:1/0", "--yes")
        assert result.code == 2
        assert "clear --redis needs --namespace NS" in result.err

    def test_a_namespace_needs_redis(self, cli: Callable[..., Result]) -> None:
        assert cli("stats", "--namespace", "app").code == 2

    def test_provider_and_redis_do_not_combine(self, cli: Callable[..., Result]) -> None:
        result = cli("clear", "--redis", "redis://h/0", "--namespace", "a", "--provider", "openai")
        assert result.code == 2
        assert "--provider selects cassettes" in result.err

    def test_a_namespace_the_store_rejects_is_a_usage_error(
        self, cli: Callable[..., Result]
    ) -> None:
        result = cli("stats", "--redis", "redis://h/0", "--namespace", "a:b")
        assert result.code == 2
        assert "':' is reserved" in result.err

    def test_show_needs_its_cassette(self, cli: Callable[..., Result]) -> None:
        result = cli("show")
        assert result.code == 2
        assert "CASSETTE" in result.err


class TestHelp:
    """Every command has --help, which exits 0 and describes it."""

    @pytest.mark.parametrize("command", COMMANDS)
    def test_each_command(self, command: str, capsys: pytest.CaptureFixture[str]) -> None:
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: exllm-cache {command}")
        assert "--dir PATH" in out

    def test_the_program_lists_every_command_and_the_exit_codes(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["--help"]) == 0
        out = capsys.readouterr().out
        for command in COMMANDS:
            assert command in out
        assert "exit status: 0 ok, 1 problems found or the operation failed, 2 usage error" in out

    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--version"]) == 0
        assert capsys.readouterr().out.startswith("exllm-cache ")


class TestLocationOptions:
    """--dir and --root are accepted before and after the command."""

    def test_after_the_command(self) -> None:
        options = parse_args(["stats", "--dir", "a", "--root", "b"])
        assert (options.dir, options.root) == ("a", "b")

    def test_before_the_command(self) -> None:
        options = parse_args(["--dir", "a", "--root", "b", "stats"])
        assert (options.dir, options.root) == ("a", "b")

    def test_after_wins_over_before(self) -> None:
        assert parse_args(["--dir", "a", "list", "--dir", "c"]).dir == "c"

    def test_stats_defaults_its_staleness_age_to_ninety_days(self) -> None:
        assert parse_args(["stats"]).older_than.delta == timedelta(days=90)
