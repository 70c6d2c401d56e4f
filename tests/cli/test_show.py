"""Tests for ``exllm-cache show``: a cassette's interactions, found by path or by test id."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import CassetteDir, Result, days_ago, interaction

GEMINI = (
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent"
)
# Built at run time so that no key-shaped literal sits in the repository.
OPENAI_KEY = "sk-" + "proj-" + "A1b2C3d4" * 4
LONG = "Summarise the following paragraph in one sentence, keeping the names: " + "x" * 80


class TestShow:
    """Each interaction's method, URL, status, model, message start, streaming and time."""

    def test_rows_describe_each_interaction(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        cassettes.add(
            "tests/test_a.py::test_chat",
            interaction(message="What is the capital of France?", recorded=days_ago(2)),
            interaction(message=LONG, model="gpt-4o", streamed=True),
        )
        result = cli("show", "tests.test_a/test_chat.json")
        assert result.code == 0
        lines = result.out.splitlines()
        assert lines[0].split() == ["cassette", str(cassettes.path / "tests.test_a/test_chat.json")]
        assert "test          tests/test_a.py::test_chat" in result.out
        assert "interactions  2" in result.out
        first, second = lines[-2], lines[-1]
        assert first.split()[:6] == [
            "1",
            "POST",
            "https://api.openai.com/v1/chat/completions",
            "200",
            "gpt-4o-mini",
            "no",
        ]
        assert first.endswith("What is the capital of France?")
        assert second.split()[4:6] == ["gpt-4o", "yes"]
        assert second.endswith("…")  # the long message is cut

    def test_a_test_id_finds_its_cassette(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        cassettes.add("tests/test_a.py::test_p[a/b c]", interaction())
        result = cli("show", "tests/test_a.py::test_p[a/b c]", "--json")
        assert result.code == 0
        document = result.json()
        assert isinstance(document, dict)
        assert document["metadata"]["test"] == "tests/test_a.py::test_p[a/b c]"
        assert document["interactions"][0]["last_message"] == "Hi"

    def test_a_gemini_model_comes_from_the_url(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        path = cassettes.add("tests/test_g.py::test_g", interaction(GEMINI, model=None))
        document = cli("show", str(path), "--json").json()
        assert isinstance(document, dict)
        assert document["interactions"][0]["model"] == "gemini-2.0-flash"

    def test_a_missing_cassette_is_an_error_that_says_where_it_looked(
        self, cli: Callable[..., Result]
    ) -> None:
        result = cli("show", "tests/test_a.py::test_nothing")
        assert result.code == 1
        assert "no cassette 'tests/test_a.py::test_nothing'" in result.err

    def test_a_corrupt_cassette_is_reported_with_its_file(
        self, cli: Callable[..., Result], cassettes: CassetteDir, tmp_path: Path
    ) -> None:
        broken = cassettes.path / "tests.test_a" / "test_x.json"
        broken.parent.mkdir(parents=True)
        broken.write_text('{"version": 1}', encoding="utf-8")
        result = cli("show", str(broken))
        assert result.code == 1
        assert str(broken) in result.err
        assert '"interactions" must be a list' in result.err

    @pytest.mark.parametrize("streamed", [False, True])
    def test_json_marks_streamed_answers(
        self, cli: Callable[..., Result], cassettes: CassetteDir, streamed: bool
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_s", interaction(streamed=streamed))
        document = cli("show", str(path), "--json").json()
        assert isinstance(document, dict)
        assert document["interactions"][0]["streamed"] is streamed


class TestShowHidesCredentials:
    """A cassette that holds a URL password or a key (hand-edited, or older) never prints it."""

    @pytest.fixture
    def leaky(self, cassettes: CassetteDir) -> Path:
        path = cassettes.add("tests/test_a.py::test_leaky", interaction())
        document = json.loads(path.read_text(encoding="utf-8"))
        request = document["interactions"][0]["request"]
        request["url"] = "http://alice:S3cret-pass@gateway.example/v1/chat/completions?key=AIza1"
        request["json"]["messages"][0]["content"] = f"my key is {OPENAI_KEY}"
        document["metadata"]["source"] = "live API at http://alice:S3cret-pass@gateway.example"
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    @pytest.mark.parametrize("as_json", [False, True])
    def test_no_userinfo_key_parameter_or_key_is_printed(
        self, cli: Callable[..., Result], leaky: Path, as_json: bool
    ) -> None:
        result = cli("show", str(leaky), *(["--json"] if as_json else []))
        assert result.code == 0
        for secret in ("S3cret", "alice", "AIza1", OPENAI_KEY[:12]):
            assert secret not in result.out
        assert "http://gateway.example/v1/chat/completions?key=[redacted]" in result.out
