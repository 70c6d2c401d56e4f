"""Tests for ``exllm-cache clear``: it asks first, refuses when nobody can answer, and removes."""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.conftest import CassetteDir, Result, days_ago, interaction

ANTHROPIC = "https://api.anthropic.com/v1/messages"


class _Terminal(io.StringIO):
    """Standard input that claims to be a terminal, with the user's answer typed in."""

    def isatty(self) -> bool:
        return True


def _answer(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal(text))


class TestConfirmation:
    """Without --yes, clear asks on the terminal and only a yes removes anything."""

    def test_yes_removes_every_cassette(
        self, cli: Callable[..., Result], cassettes: CassetteDir, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        paths = [cassettes.add(f"tests/test_a.py::test_{n}") for n in range(3)]
        _answer(monkeypatch, "y\n")
        result = cli("clear")
        assert result.code == 0
        assert "Remove 3 cassettes" in result.err
        assert "[y/N]" in result.err
        assert not any(path.exists() for path in paths)
        assert cassettes.path.is_dir()

    @pytest.mark.parametrize("answer", ["\n", "n\n", "no\n", "whatever\n", ""])
    def test_anything_but_yes_keeps_them(
        self,
        cli: Callable[..., Result],
        cassettes: CassetteDir,
        monkeypatch: pytest.MonkeyPatch,
        answer: str,
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        _answer(monkeypatch, answer)
        result = cli("clear")
        assert result.code == 1
        assert path.exists()
        assert "aborted: nothing was removed" in result.err

    def test_without_a_terminal_it_refuses(
        self, cli: Callable[..., Result], cassettes: CassetteDir, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped: not a terminal
        result = cli("clear")
        assert result.code == 1
        assert "stdin is not a terminal" in result.err
        assert "pass --yes" in result.err
        assert path.exists()

    def test_yes_flag_needs_no_terminal(
        self, cli: Callable[..., Result], cassettes: CassetteDir, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        result = cli("clear", "--yes")
        assert result.code == 0
        assert not path.exists()
        assert result.out.splitlines() == ["removed tests.test_a/test_a.json"]


class TestClearProvider:
    """--provider clears only the cassettes that call that provider."""

    def test_only_that_provider(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        openai = cassettes.add("tests/test_a.py::test_openai")
        claude = cassettes.add("tests/test_a.py::test_claude", interaction(ANTHROPIC))
        result = cli("clear", "--provider", "anthropic", "--yes")
        assert result.code == 0
        assert openai.exists()
        assert not claude.exists()
        assert "removed 1 of 1 cassettes of provider anthropic" in result.err

    def test_no_match_is_not_an_error(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        openai = cassettes.add("tests/test_a.py::test_openai")
        result = cli("clear", "--provider", "gemini")
        assert result.code == 0
        assert openai.exists()
        assert "no cassettes of provider gemini" in result.err

    def test_the_usage_file_and_other_files_stay(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        cassettes.played([path], datetime.now(UTC))
        notes = cassettes.path / "README.json"
        notes.write_text('["not a cassette"]', encoding="utf-8")
        assert cli("clear", "--yes").code == 0
        assert cassettes.files() == ["README.json"]
        assert cassettes.usage.read() != {}


class TestClearLeftovers:
    """Clear also removes stale temporary files, and says so when one cannot be removed."""

    def test_a_stale_temporary_goes_with_the_cassettes(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        leftover = _stale_leftover(path)
        result = cli("clear", "--yes")
        assert result.code == 0
        assert not leftover.exists()
        assert not path.parent.exists()
        assert result.out.splitlines() == ["removed tests.test_a/test_a.json"]

    def test_a_temporary_that_cannot_be_removed_is_an_error(
        self, cli: Callable[..., Result], cassettes: CassetteDir, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        leftover = _stale_leftover(path)
        unlink = Path.unlink

        def refuse_temporaries(self: Path, missing_ok: bool = False) -> None:
            if self.suffix == ".tmp":
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            unlink(self, missing_ok)

        monkeypatch.setattr(Path, "unlink", refuse_temporaries)
        result = cli("clear", "--yes")
        assert result.code == 1
        assert not path.exists()
        assert leftover.exists()
        assert f"error: could not remove {leftover}: Permission denied" in result.err
        assert "removed 1 of 1 cassettes" in result.err


def _stale_leftover(cassette: Path) -> Path:
    leftover = cassette.parent / f".{cassette.name}.k3j2.tmp"
    leftover.write_text("{", encoding="utf-8")
    moment = days_ago(1).timestamp()
    os.utime(leftover, (moment, moment))
    return leftover
