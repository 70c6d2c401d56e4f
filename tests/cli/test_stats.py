"""Tests for ``exllm-cache stats``: counts and sizes, per provider and module, and unused ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.cli.conftest import CassetteDir, Result, days_ago, interaction

ANTHROPIC = "https://api.anthropic.com/v1/messages"
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"


def _fill(cassettes: CassetteDir) -> dict[str, Any]:
    paths = {
        "hello": cassettes.add(
            "tests/test_chat.py::test_hello",
            interaction(recorded=days_ago(200)),
            interaction(recorded=days_ago(100)),
        ),
        "claude": cassettes.add(
            "tests/test_chat.py::test_claude", interaction(ANTHROPIC, recorded=days_ago(10))
        ),
        "gemini": cassettes.add(
            "tests/live/test_g.py::TestG::test_stream[fast]",
            interaction(GEMINI, recorded=days_ago(5), streamed=True),
        ),
    }
    return paths


class TestStatsJson:
    """--json reports totals, groups, the recording range and what the last run left unplayed."""

    def test_totals_match_the_files(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        paths = _fill(cassettes)
        document = cli("stats", "--json").json()
        assert isinstance(document, dict)
        assert document["cassettes"] == 3
        assert document["interactions"] == 4
        assert document["bytes"] == sum(path.stat().st_size for path in paths.values())
        assert document["unreadable"] == []

    def test_groups_by_provider_and_by_module(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        document = cli("stats", "--json").json()
        assert isinstance(document, dict)
        assert {name: g["cassettes"] for name, g in document["providers"].items()} == {
            "anthropic": 1,
            "gemini": 1,
            "openai": 1,
        }
        assert document["providers"]["openai"]["interactions"] == 2
        assert {name: g["cassettes"] for name, g in document["modules"].items()} == {
            "tests.live.test_g": 1,
            "tests.test_chat": 2,
        }

    def test_oldest_newest_and_older_than(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        document = cli("stats", "--json", "--older-than", "30d").json()
        assert isinstance(document, dict)
        assert document["oldest_recorded_at"] == days_ago(200).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert document["newest_recorded_at"] == days_ago(5).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Only test_hello's newest recording (100 days) is older than 30 days.
        assert document["older_than"] == {"age": "30d", "cassettes": 1}

    def test_unused_in_the_last_run_comes_from_the_usage_file(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        paths = _fill(cassettes)
        cassettes.played(paths.values(), days_ago(3))
        cassettes.played([paths["claude"]], days_ago(1))  # a later run with -k claude
        document = cli("stats", "--json").json()
        assert isinstance(document, dict)
        assert document["last_run_at"] == days_ago(1).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert sorted(document["unused_in_last_run"]) == sorted(
            paths[name].relative_to(cassettes.path).as_posix() for name in ("gemini", "hello")
        )

    def test_without_a_usage_file_unused_is_unknown(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        document = cli("stats", "--json").json()
        assert isinstance(document, dict)
        assert document["last_run_at"] is None
        assert document["unused_in_last_run"] is None

    def test_an_unreadable_cassette_is_counted_and_named(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        (cassettes.path / "tests.test_chat" / "broken.json").write_text("{", encoding="utf-8")
        result = cli("stats", "--json")
        assert result.code == 0
        document = result.json()
        assert isinstance(document, dict)
        assert document["cassettes"] == 4
        assert document["unreadable"] == ["tests.test_chat/broken.json"]


class TestStatsText:
    """Without --json, stats prints aligned rows and tables a person reads at a glance."""

    def test_summary_rows_and_tables(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        result = cli("stats")
        assert result.code == 0
        lines = result.out.splitlines()
        assert lines[1].split() == ["cassettes", "3"]
        assert lines[2].split() == ["interactions", "4"]
        assert "older than 90d  1 cassette" in result.out
        assert "no usage file yet" in result.out
        header = next(line for line in lines if line.startswith("provider"))
        assert header.split() == ["provider", "cassettes", "interactions", "size"]
        anthropic = next(line for line in lines if line.startswith("anthropic"))
        # Numbers are right-aligned under their headers.
        assert anthropic.index("1") + 1 == header.index("cassettes") + len("cassettes")

    def test_an_empty_or_missing_dir_is_zero(self, cli: Callable[..., Result]) -> None:
        result = cli("stats")
        assert result.code == 0
        assert "cassettes       0" in result.out
