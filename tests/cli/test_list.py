"""Tests for ``exllm-cache list``: one line per cassette, and the filters, combined."""

from __future__ import annotations

from collections.abc import Callable

from tests.cli.conftest import CassetteDir, Result, days_ago, interaction

ANTHROPIC = "https://api.anthropic.com/v1/messages"


def _names(result: Result) -> list[str]:
    document = result.json()
    assert isinstance(document, list)
    return [entry["name"] for entry in document]


class TestList:
    """Every cassette is listed with its provider, size, age and last play."""

    def test_one_row_per_cassette(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        played = cassettes.add("tests/test_a.py::test_one", interaction(recorded=days_ago(3)))
        cassettes.add("tests/test_a.py::test_two", interaction(ANTHROPIC, recorded=days_ago(40)))
        cassettes.played([played], days_ago(0.5))
        result = cli("list")
        assert result.code == 0
        rows = result.out.splitlines()
        assert rows[0].split() == [
            "cassette",
            "provider",
            "interactions",
            "size",
            "recorded",
            "last",
            "played",
        ]
        assert rows[1].split()[:3] == ["tests.test_a/test_one.json", "openai", "1"]
        assert rows[1].split()[-4:] == ["3d", "ago", "12h", "ago"]
        assert rows[2].split()[1] == "anthropic"
        assert rows[2].split()[-3:] == ["40d", "ago", "never"]
        assert "2 cassettes" in result.err

    def test_json_has_one_entry_per_cassette(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        cassettes.add("tests/test_a.py::test_one", interaction(recorded=days_ago(3)))
        document = cli("list", "--json").json()
        assert isinstance(document, list)
        [entry] = document
        assert entry["name"] == "tests.test_a/test_one.json"
        assert entry["test"] == "tests/test_a.py::test_one"
        assert entry["providers"] == ["openai"]
        assert entry["interactions"] == 1
        assert entry["last_played_at"] is None


class TestListFilters:
    """--provider, --older-than and --unused select; together a cassette must match all."""

    def _three(self, cassettes: CassetteDir) -> None:
        old_openai = cassettes.add("tests/test_a.py::test_old", interaction(recorded=days_ago(60)))
        cassettes.add("tests/test_a.py::test_new", interaction(recorded=days_ago(2)))
        old_claude = cassettes.add(
            "tests/test_a.py::test_claude", interaction(ANTHROPIC, recorded=days_ago(60))
        )
        cassettes.played([old_openai], days_ago(45))
        cassettes.played([old_claude], days_ago(1))

    def test_provider(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        self._three(cassettes)
        assert _names(cli("list", "--json", "--provider", "anthropic")) == [
            "tests.test_a/test_claude.json"
        ]

    def test_older_than(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        self._three(cassettes)
        assert _names(cli("list", "--json", "--older-than", "30d")) == [
            "tests.test_a/test_claude.json",
            "tests.test_a/test_old.json",
        ]

    def test_unused_uses_the_last_play_or_recording(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        self._three(cassettes)
        # test_claude was played yesterday; test_new was recorded two days ago.
        assert _names(cli("list", "--json", "--unused", "30d")) == ["tests.test_a/test_old.json"]

    def test_filters_combine(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        self._three(cassettes)
        result = cli("list", "--json", "--older-than", "30d", "--provider", "openai")
        assert _names(result) == ["tests.test_a/test_old.json"]
        assert _names(cli("list", "--json", "--older-than", "30d", "--unused", "7d")) == [
            "tests.test_a/test_old.json"
        ]

    def test_unused_without_a_usage_file_says_so(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        cassettes.add("tests/test_a.py::test_old", interaction(recorded=days_ago(60)))
        result = cli("list", "--unused", "30d")
        assert result.code == 0
        assert "no usage file yet" in result.err
        assert "tests.test_a/test_old.json" in result.out

    def test_text_output_says_why_each_matched(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        self._three(cassettes)
        result = cli("list", "--older-than", "30d")
        assert result.out.splitlines()[0].split()[-1] == "why"
        assert "recorded 60d ago" in result.out
