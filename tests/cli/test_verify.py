"""Tests for ``exllm-cache verify``: each kind of problem is found, named with its file, exit 1."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CassetteDir, Result, interaction

# Built at run time so that no key-shaped literal sits in the repository.
ANTHROPIC_KEY = "sk-ant-" + "api03-" + "Qw3rTy9" * 5
OPENAI_KEY = "sk-" + "proj-" + "A1b2C3d4" * 4
OPENAI_LEGACY_KEY = "sk-" + "9fK2mQ7x" * 6
GOOGLE_KEY = "AIza" + "SyD" + "x" * 32
GROQ_KEY = "gsk_" + "aB3dE6fG9h" * 5 + "J2"
XAI_KEY = "xai-" + "Zx9Wv8Ut7S" * 8
BEARER = "Bearer " + "eyJhbGciOi" + "J9" * 10


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def _problems(result: Result) -> list[tuple[str, str]]:
    document = result.json()
    assert isinstance(document, dict)
    return [
        (problem["file"].rsplit("/", 1)[-1], problem["kind"]) for problem in document["problems"]
    ]


class TestVerifyClean:
    """Cassettes the writer produced pass, with exit 0."""

    def test_no_problems(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        cassettes.add("tests/test_a.py::test_a", interaction(), interaction(streamed=True))
        cassettes.add("tests/test_b.py::test_b[x/y]")
        result = cli("verify")
        assert result.code == 0
        assert result.out == ""
        assert "verified 2 cassettes: no problems" in result.err

    def test_json_says_ok(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        cassettes.add("tests/test_a.py::test_a")
        result = cli("verify", "--json")
        assert result.code == 0
        assert result.json() == {
            "cassette_dir": str(cassettes.path),
            "cassettes": 1,
            "ok": True,
            "problems": [],
        }

    @pytest.mark.parametrize(
        "recorded_at",
        ["2025-01-31T12:00:00Z", "2025-01-31T14:00:00.250+02:00", " 2025-01-31T12:00:00Z\n"],
    )
    def test_every_time_the_test_cache_reads_back_passes(
        self, cli: Callable[..., Result], cassettes: CassetteDir, recorded_at: str
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        _edit(path, lambda d: d["interactions"][0].update(recorded_at=recorded_at))
        result = cli("verify")
        assert result.code == 0, result.out


class TestVerifyFindsProblems:
    """Corrupt files, old formats, unredacted credentials, secrets and duplicates fail the run."""

    def test_a_corrupt_file(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")
        result = cli("verify")
        assert result.code == 1
        [line] = result.out.splitlines()
        assert line.startswith(f"{path}: corrupt: cassette {path} is not valid JSON")

    def test_a_structurally_wrong_cassette(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        _edit(path, lambda d: d["interactions"][0]["response"].update(status="ok"))
        result = cli("verify")
        assert result.code == 1
        assert "interactions[0].response.status must be an HTTP status" in result.out

    def test_an_old_format_version(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        _edit(path, lambda d: d.update(version=0))
        result = cli("verify")
        assert result.code == 1
        assert result.out.splitlines() == [
            f"{path}: format: format version 0, but this exllm_py reads version 1; re-record "
            "it (--exllm-record-mode=rewrite)"
        ]

    def test_a_recorded_at_that_is_not_a_time(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        _edit(path, lambda d: d["interactions"][0].update(recorded_at="yesterday"))
        result = cli("verify")
        assert result.code == 1
        assert result.out.splitlines() == [
            f"{path}: format: interactions[0].recorded_at 'yesterday' is not an ISO 8601 time"
        ]

    @pytest.mark.parametrize(
        ("secret", "kind"),
        [
            (ANTHROPIC_KEY, "an Anthropic API key"),
            (OPENAI_KEY, "an OpenAI project API key"),
            (OPENAI_LEGACY_KEY, "an OpenAI-style API key"),
            (GOOGLE_KEY, "a Google API key"),
            (GROQ_KEY, "a Groq API key"),
            (XAI_KEY, "an xAI API key"),
            (BEARER, "a bearer token"),
        ],
    )
    def test_a_planted_secret(
        self, cli: Callable[..., Result], cassettes: CassetteDir, secret: str, kind: str
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        _edit(path, lambda d: d["interactions"][0]["response"]["json"].update(echo=secret))
        result = cli("verify")
        assert result.code == 1
        [line] = result.out.splitlines()
        assert line.startswith(f"{path}: secret: line ")
        assert f"looks like {kind}: {secret[:8]}… ({len(secret)} chars)" in line
        assert secret not in result.out + result.err  # the report never repeats the secret

    def test_the_configured_keys_value(
        self, cli: Callable[..., Result], cassettes: CassetteDir, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        value = "plain-looking-value-123"
        monkeypatch.setenv("MISTRAL_API_KEY", value)
        path = cassettes.add("tests/test_a.py::test_a")
        _edit(path, lambda d: d["interactions"][0]["response"]["json"].update(echo=value))
        result = cli("verify")
        assert result.code == 1
        assert "contains the value of MISTRAL_API_KEY" in result.out

    def test_an_unredacted_header_and_url_key(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")

        def unredact(document: dict[str, Any]) -> None:
            request = document["interactions"][0]["request"]
            request["headers"]["X-Api-Key"] = "short"
            request["url"] += "?key=abc"

        _edit(path, unredact)
        result = cli("verify")
        assert result.code == 1
        assert "interactions[0].request.headers.x-api-key is not redacted" in result.out
        assert "interactions[0].request.url carries an unredacted key parameter" in result.out

    def test_a_repeated_json_key(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('"version": 1,', '"version": 1,\n  "version": 1,', 1))
        result = cli("verify")
        assert result.code == 1
        assert "a JSON object repeats the key 'version'" in result.out

    def test_two_cassettes_claiming_one_test(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        home = cassettes.add("tests/test_a.py::test_a")
        copy = home.with_name("test_a_copy.json")
        copy.write_bytes(home.read_bytes())
        result = cli("verify", "--json")
        assert result.code == 1
        assert _problems(result) == [("test_a_copy.json", "duplicate")]

    def test_names_that_differ_only_in_case(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        cassettes.add("tests/test_a.py::test_x")
        # Placed by hand: the test cache itself never names two files so.
        upper = cassettes.add("tests/test_a.py::test_X")
        upper.rename(upper.with_name("test_X.json"))
        result = cli("verify", "--json")
        assert result.code == 1
        assert [kind for _, kind in _problems(result)] == ["duplicate"]

    def test_every_problem_is_listed_with_its_file(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        good = cassettes.add("tests/test_a.py::test_good")
        old = cassettes.add("tests/test_a.py::test_old")
        _edit(old, lambda d: d.update(version=3))
        leaky = cassettes.add("tests/test_b.py::test_leaky")
        _edit(leaky, lambda d: d["metadata"].update(note=ANTHROPIC_KEY))
        result = cli("verify", "--json")
        assert result.code == 1
        assert _problems(result) == [("test_old.json", "format"), ("test_leaky.json", "secret")]
        assert good.name not in result.out
        cli_text = cli("verify")
        assert "2 problems in 2 files" in cli_text.err


class TestVerifyFiles:
    """Given files (as a pre-commit hook passes them), verify checks just those."""

    def test_only_the_named_files(self, cli: Callable[..., Result], cassettes: CassetteDir) -> None:
        good = cassettes.add("tests/test_a.py::test_good")
        bad = cassettes.add("tests/test_a.py::test_bad")
        _edit(bad, lambda d: d.update(version=0))
        assert cli("verify", str(good)).code == 0
        assert cli("verify", str(good), str(bad)).code == 1

    def test_a_missing_file_is_a_problem(self, cli: Callable[..., Result], tmp_path: Path) -> None:
        result = cli("verify", str(tmp_path / "nope.json"))
        assert result.code == 1
        assert "no such file" in result.out


class TestVerifyFindsHiddenCredentials:
    """URL userinfo, and keys that only show once a body is joined or decoded, fail the run."""

    @pytest.mark.parametrize(
        "userinfo", ["alice:S3cret@", "alice@", ":S3cret@", "alice:p%40ss@"], ids=repr
    )
    def test_a_request_url_with_userinfo(
        self, cli: Callable[..., Result], cassettes: CassetteDir, userinfo: str
    ) -> None:
        path = cassettes.add("tests/test_a.py::test_a")
        url = f"https://{userinfo}gateway.example/v1/chat/completions"
        _edit(path, lambda d: d["interactions"][0]["request"].update(url=url))
        result = cli("verify")
        assert result.code == 1
        assert "interactions[0].request.url carries userinfo" in result.out
        assert "S3cret" not in result.out + result.err
        assert "p%40ss" not in result.out + result.err

    def test_a_key_streamed_across_two_events(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        def delta(piece: str) -> str:
            return "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": piece}}]})

        events = [delta("key: "), delta(OPENAI_KEY[:14]), delta(OPENAI_KEY[14:]), "data: [DONE]"]
        path = cassettes.add("tests/test_a.py::test_a", interaction(streamed=True))
        _edit(path, lambda d: d["interactions"][0]["response"].update(sse=events))
        result = cli("verify")
        assert result.code == 1
        [line] = result.out.splitlines()
        assert "secret: the joined events of interactions[0].response holds" in line
        assert "an OpenAI project API key" in line
        assert OPENAI_KEY not in result.out

    def test_a_key_in_a_base64_body(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        encoded = base64.b64encode(b"\xff\xfe" + OPENAI_KEY.encode()).decode()
        path = cassettes.add("tests/test_a.py::test_a")

        def to_base64(document: dict[str, Any]) -> None:
            response = document["interactions"][0]["response"]
            del response["json"]
            response["base64"] = encoded

        _edit(path, to_base64)
        result = cli("verify")
        assert result.code == 1
        assert "the decoded base64 body of interactions[0].response holds" in result.out
        assert OPENAI_KEY not in result.out

    def test_the_environment_key_streamed_across_two_events(
        self, cli: Callable[..., Result], cassettes: CassetteDir, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        key = "gateway-key-" + "Zq7mW2xR9tY4" * 2  # no known shape: found by value only
        monkeypatch.setenv("MISTRAL_API_KEY", key)
        events = [f"data: {key[:10]}", f"data: {key[10:]}"]
        path = cassettes.add("tests/test_a.py::test_a", interaction(streamed=True))
        _edit(path, lambda d: d["interactions"][0]["response"].update(sse=events))
        result = cli("verify")
        assert result.code == 1
        assert "contains the value of MISTRAL_API_KEY" in result.out
        assert key not in result.out
