"""Tests for ``exllm-cache import-vcr``: vcrpy cassettes become exllm_py cassettes."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.paths import cassette_path_for
from tests.cli.conftest import CassetteDir, Result

TOKEN = "Bearer " + "not-a-real-key-" + "0" * 12

VCR_YAML = textwrap.dedent(
    f"""\
    interactions:
    - request:
        body: '{{"model": "gpt-4o-mini", "messages": [{{"role": "user", "content": "Hi"}}]}}'
        headers:
          Authorization:
          - {TOKEN}
          Content-Type:
          - application/json
        method: POST
        uri: https://api.openai.com/v1/chat/completions
      response:
        body:
          string: '{{"id": "chatcmpl-1", "choices": [{{"message": {{"content": "Hello"}}}}]}}'
        headers:
          Content-Type:
          - application/json
        status:
          code: 200
          message: OK
    version: 1
    """
)


def _vcr(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(VCR_YAML, encoding="utf-8")
    return path


class TestImportVcr:
    """The converted cassette holds the exchange, redacted, where the test will look for it."""

    def test_to_a_test_id(
        self, cli: Callable[..., Result], cassettes: CassetteDir, tmp_path: Path
    ) -> None:
        source = _vcr(tmp_path / "old" / "chat.yaml")
        result = cli("import-vcr", str(source), "--to", "tests/test_chat.py::test_hello")
        assert result.code == 0, result.err
        target = cassette_path_for(cassettes.path, "tests/test_chat.py::test_hello")
        [imported] = read_cassette(target).interactions
        assert imported.request.url == "https://api.openai.com/v1/chat/completions"
        assert dict(imported.request.headers)["authorization"] == "REDACTED"
        assert imported.response.body.value["id"] == "chatcmpl-1"
        assert TOKEN not in target.read_text(encoding="utf-8")
        assert "(1 interaction)" in result.out

    def test_from_pytest_recordings_layout(
        self, cli: Callable[..., Result], cassettes: CassetteDir, tmp_path: Path
    ) -> None:
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_chat.py").write_text("def test_x(): pass\n")
        source = _vcr(tmp_path / "tests" / "cassettes" / "test_chat" / "TestChat.test_x[a].yaml")
        result = cli("import-vcr", str(source))
        assert result.code == 0, result.err
        assert cassette_path_for(cassettes.path, "tests/test_chat.py::TestChat::test_x[a]").exists()

    def test_a_directory_imports_every_cassette(
        self, cli: Callable[..., Result], cassettes: CassetteDir, tmp_path: Path
    ) -> None:
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_chat.py").write_text("def test_x(): pass\n")
        for name in ("test_a", "test_b"):
            _vcr(tmp_path / "tests" / "cassettes" / "test_chat" / f"{name}.yaml")
        result = cli("import-vcr", str(tmp_path / "tests" / "cassettes"))
        assert result.code == 0, result.err
        assert cassettes.files() == ["tests.test_chat/test_a.json", "tests.test_chat/test_b.json"]

    def test_an_existing_cassette_needs_force(
        self, cli: Callable[..., Result], cassettes: CassetteDir, tmp_path: Path
    ) -> None:
        source = _vcr(tmp_path / "chat.yaml")
        existing = cassettes.add("tests/test_chat.py::test_hello")
        before = existing.read_bytes()
        result = cli("import-vcr", str(source), "--to", "tests/test_chat.py::test_hello")
        assert result.code == 1
        assert "exists; pass --force" in result.err
        assert existing.read_bytes() == before
        forced = cli("import-vcr", str(source), "--to", "tests/test_chat.py::test_hello", "--force")
        assert forced.code == 0
        assert existing.read_bytes() != before

    def test_an_unknown_layout_asks_for_to(
        self, cli: Callable[..., Result], tmp_path: Path
    ) -> None:
        source = _vcr(tmp_path / "chat.yaml")
        result = cli("import-vcr", str(source))
        assert result.code == 1
        assert "cannot tell which test" in result.err
        assert "--to" in result.err

    def test_an_unreadable_vcr_file_is_reported(
        self, cli: Callable[..., Result], tmp_path: Path
    ) -> None:
        source = tmp_path / "bad.yaml"
        source.write_text("interactions: [: nope", encoding="utf-8")
        result = cli("import-vcr", str(source), "--to", "tests/test_a.py::test_a")
        assert result.code == 1
        assert f"vcrpy cassette {source} cannot be read" in result.err
