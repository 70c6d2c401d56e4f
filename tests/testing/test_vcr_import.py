"""Tests for exllm_py.testing.vcr_import: migrating vcrpy cassettes."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import orjson
import pytest
import vcr  # type: ignore[import-untyped]  # vcrpy ships no type information

import exllm_py
from exllm_py.errors import AuthenticationError, RecordingCorrupt
from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.redact import RecordingRefused
from exllm_py.testing.strategy import TestStrategy, use_cassette
from exllm_py.testing.vcr_import import import_vcr_cassette
from tests.fakes import openai_completion, openai_stream_events

MESSAGES = [{"role": "user", "content": "Hi"}]


def _answer(request: httpx.Request) -> httpx.Response:
    if orjson.loads(request.content).get("stream"):
        events = b"".join(event.encode() for event in openai_stream_events("Hello there"))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events)
    return httpx.Response(
        200,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
        content=gzip.compress(orjson.dumps(openai_completion("Hello!"))),
    )


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"replay reached the network: {request.url}")


def _record_with_vcrpy(path: Path, serializer: str) -> None:
    """Record a chat and a stream with vcrpy itself (it patches httpx.MockTransport too).

    vcrpy's JSON serializer cannot hold binary bodies, so it stores the
    gzipped answer decoded; the YAML cassette keeps it compressed.
    """
    client = exllm_py.Client(
        cache_strategy=TestStrategy(),
        transport=httpx.MockTransport(_answer),
        env={"OPENAI_API_KEY": "sk-vcr-recorded-key"},
    )
    recorder = vcr.use_cassette(
        str(path),
        serializer=serializer,
        record_mode="all",
        decode_compressed_response=serializer == "json",
    )
    with client, recorder:
        client.chat("openai", MESSAGES, cache=False)
        list(client.stream("openai", MESSAGES))


class TestImportVcrCassette:
    """A vcrpy cassette becomes an exllm_py cassette that replays the same answers."""

    @pytest.mark.parametrize(("serializer", "suffix"), [("yaml", ".yaml"), ("json", ".json")])
    def test_import_then_replay(self, tmp_path: Path, serializer: str, suffix: str) -> None:
        source = tmp_path / f"vcr{suffix}"
        _record_with_vcrpy(source, serializer)
        if serializer == "yaml":
            assert "gzip" in source.read_text()
        destination = import_vcr_cassette(source, tmp_path / "imported.json")
        cassette = read_cassette(destination)
        chat, streamed = cassette.interactions
        assert chat.response.body.value["choices"][0]["message"]["content"] == "Hello!"
        assert streamed.response.body.kind == "sse"
        assert streamed.response.body.value[-1] == "data: [DONE]"
        assert "vcrpy cassette" in chat.source
        text = destination.read_text()
        assert "sk-vcr-recorded-key" not in text
        assert "content-encoding" not in text

        with use_cassette(destination, mode="none"):
            offline = httpx.MockTransport(_unreachable)
            with exllm_py.Client(cache_strategy=TestStrategy(), transport=offline) as client:
                assert client.chat("openai", MESSAGES).content == "Hello!"
                chunks = list(client.stream("openai", MESSAGES))
        assert "".join(chunk.content for chunk in chunks) == "Hello there"

    def test_destination_directory_and_overwrite(self, tmp_path: Path) -> None:
        source = tmp_path / "chat.yaml"
        _record_with_vcrpy(source, "yaml")
        out = tmp_path / "out"
        out.mkdir()
        assert import_vcr_cassette(source, out) == out / "chat.json"
        with pytest.raises(FileExistsError):
            import_vcr_cassette(source, out)
        assert import_vcr_cassette(source, out, overwrite=True) == out / "chat.json"

    def test_unreadable_source_is_corrupt(self, tmp_path: Path) -> None:
        source = tmp_path / "bad.yaml"
        source.write_text("interactions: [ {request: }")
        with pytest.raises(RecordingCorrupt, match=r"bad\.yaml"):
            import_vcr_cassette(source, tmp_path / "out.json")

    def test_per_call_key_echoed_in_the_source_refuses_the_import(self, tmp_path: Path) -> None:
        key = "sk-vcr-per-call-0123456789"

        def echo(request: httpx.Request) -> httpx.Response:
            message = f"Incorrect API key provided: {request.headers['authorization']}"
            return httpx.Response(401, json={"error": {"message": message}})

        source = tmp_path / "echo.yaml"
        client = exllm_py.Client(
            cache_strategy=TestStrategy(), transport=httpx.MockTransport(echo), env={}
        )
        with (
            client,
            vcr.use_cassette(str(source), record_mode="all"),
            pytest.raises(AuthenticationError),
        ):
            client.chat("openai", MESSAGES, api_key=key)
        destination = tmp_path / "imported.json"
        with pytest.raises(RecordingRefused, match="authorization header") as refused:
            import_vcr_cassette(source, destination)
        assert key not in str(refused.value)
        assert not destination.exists()
