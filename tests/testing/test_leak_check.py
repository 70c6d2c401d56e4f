"""Tests for the leak check and URL redaction of recorded exchanges, over a real socket.

A key must never reach a cassette, however it travels: split across the
events of a stream, inside a body that is stored as base64, or as the
password of the base URL.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

import exllm_py
from exllm_py.cache.nocache import NoCache
from exllm_py.errors import ProviderError, RecordingRefused
from exllm_py.testing.cassette_file import (
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    write_cassette,
)
from exllm_py.testing.redact import find_cassette_leaks, hidden_texts
from exllm_py.testing.strategy import TestStrategy, use_cassette
from tests.fakes import ProviderServer, Reply, provider_server, sse_reply
from tests.fakes.payloads import SSEEvent

__all__ = ["provider_server"]

MESSAGES = [{"role": "user", "content": "Repeat my key"}]
# Built at run time so that no key-shaped literal sits in the repository.
KEY = "sk-" + "proj-" + "A1b2C3d4e5F6g7H8i9J0_k-L" * 3
SECRETS = {"OPENAI_API_KEY": KEY}


def _delta(content: str, *, index: int = 0) -> SSEEvent:
    choice = {"index": index, "delta": {"content": content}, "finish_reason": None}
    return SSEEvent({"id": "chatcmpl-1", "model": "gpt-4o-mini", "choices": [choice]})


def _split_key_stream() -> list[SSEEvent]:
    # The model streams the key in two deltas: no event holds it whole.
    return [_delta("Your key is "), _delta(KEY[:20]), _delta(KEY[20:]), SSEEvent("[DONE]")]


def _binary_reply() -> Reply:
    content = b"\xff\xfe binary trace: " + KEY.encode() + b" \x80\x81"
    return Reply(status=502, headers={"content-type": "application/octet-stream"}, content=content)


def _cassette(body: Body) -> CassetteFile:
    request = RecordedRequest("POST", "https://api.openai.com/v1/chat/completions", (), Body())
    response = RecordedResponse(200, (), body)
    return CassetteFile((Interaction(request, response, "2025-01-31T12:00:00Z"),))


@pytest.fixture
def keyed_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with exllm_py.Client(cache_strategy=TestStrategy(NoCache())) as client:
        yield client


class TestRecordingRefusesHiddenKeys:
    """A save is refused when the key is only whole once the stored body is decoded or joined."""

    def test_a_key_streamed_across_two_events(
        self, keyed_client: exllm_py.Client, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        provider_server.enqueue(sse_reply(_split_key_stream()))
        path = tmp_path / "split.json"
        chunks = []
        with pytest.raises(RecordingRefused) as refused, use_cassette(path, mode="once"):
            chunks += keyed_client.stream("openai", MESSAGES, base_url=provider_server.url)
        assert KEY in "".join(chunk.content for chunk in chunks)
        assert not path.exists()
        assert "OPENAI_API_KEY" in str(refused.value)
        assert KEY not in str(refused.value)

    def test_a_key_inside_a_body_stored_as_base64(
        self, keyed_client: exllm_py.Client, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        provider_server.enqueue(_binary_reply())
        path = tmp_path / "binary.json"
        with (
            pytest.raises(RecordingRefused) as refused,
            use_cassette(path, mode="once"),
            pytest.raises(ProviderError),
        ):
            keyed_client.chat("openai", MESSAGES, base_url=provider_server.url)
        assert not path.exists()
        assert "OPENAI_API_KEY" in str(refused.value)
        assert KEY not in str(refused.value)

    def test_a_key_streamed_in_the_second_of_two_choices(
        self, keyed_client: exllm_py.Client, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        # With n=2 every event holds one choice at choices[0], its "index" saying which:
        # joined by position, the two answers interleave and the key is never whole.
        events = [
            _delta("Paris is ", index=0),
            _delta(KEY[:20], index=1),
            _delta("the capital.", index=0),
            _delta(KEY[20:], index=1),
            SSEEvent("[DONE]"),
        ]
        provider_server.enqueue(sse_reply(events))
        path = tmp_path / "two_choices.json"
        with pytest.raises(RecordingRefused), use_cassette(path, mode="once"):
            list(keyed_client.stream("openai", MESSAGES, base_url=provider_server.url))
        assert not path.exists()

    def test_a_key_json_escaped_in_a_single_event(
        self, keyed_client: exllm_py.Client, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        escaped = KEY.replace("-", "\\u002d")
        choice = '{"index":0,"delta":{"content":"' + escaped + '"}}'
        data = '{"id":"chatcmpl-1","choices":[' + choice + "]}"
        provider_server.enqueue(sse_reply([SSEEvent(data), SSEEvent("[DONE]")]))
        path = tmp_path / "escaped.json"
        chunks = []
        with pytest.raises(RecordingRefused), use_cassette(path, mode="once"):
            chunks += keyed_client.stream("openai", MESSAGES, base_url=provider_server.url)
        assert KEY in "".join(chunk.content for chunk in chunks)
        assert not path.exists()

    def test_a_stream_without_the_key_is_saved(
        self, keyed_client: exllm_py.Client, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        provider_server.enqueue(sse_reply([_delta("Paris"), _delta("."), SSEEvent("[DONE]")]))
        path = tmp_path / "clean.json"
        with use_cassette(path, mode="once"):
            list(keyed_client.stream("openai", MESSAGES, base_url=provider_server.url))
        assert path.exists()


class TestHiddenTexts:
    """The leak check also reads a stream's joined fields and a base64 body's decoded bytes."""

    def test_each_string_field_is_joined_across_events(self) -> None:
        raw = tuple(event.encode().decode().rstrip("\n") for event in _split_key_stream())
        texts = [text for _, text in hidden_texts(_cassette(Body("sse", raw)).interactions)]
        assert f"Your key is {KEY}" in texts

    def test_tool_call_arguments_are_joined_per_index(self) -> None:
        def call(index: int, arguments: str) -> SSEEvent:
            tool = {"index": index, "function": {"arguments": arguments}}
            return SSEEvent({"choices": [{"index": 0, "delta": {"tool_calls": [tool]}}]})

        events = [call(0, '{"a": "'), call(1, KEY[:10]), call(0, '1"}'), call(1, KEY[10:])]
        raw = tuple(event.encode().decode().rstrip("\n") for event in events)
        texts = [text for _, text in hidden_texts(_cassette(Body("sse", raw)).interactions)]
        assert KEY in texts
        assert '{"a": "1"}' in texts

    def test_non_json_event_data_is_joined_too(self) -> None:
        raw = (f"data: {KEY[:15]}", f"data: {KEY[15:]}")
        texts = [text for _, text in hidden_texts(_cassette(Body("sse", raw)).interactions)]
        assert KEY in texts

    def test_a_base64_body_is_decoded(self) -> None:
        encoded = base64.b64encode(b"\xff" + KEY.encode()).decode()
        [(where, _), *_] = hidden_texts(_cassette(Body("base64", encoded)).interactions)
        assert where == "the decoded base64 body of interactions[0].response"
        assert find_cassette_leaks(b"{}", _cassette(Body("base64", encoded)), SECRETS) == [
            "OPENAI_API_KEY"
        ]

    def test_write_cassette_refuses_and_names_the_variable(self, tmp_path: Path) -> None:
        encoded = base64.b64encode(b"\x80" + KEY.encode()).decode()
        with pytest.raises(RecordingRefused, match="OPENAI_API_KEY") as refused:
            write_cassette(tmp_path / "c.json", _cassette(Body("base64", encoded)), secrets=SECRETS)
        assert KEY not in str(refused.value)
        assert not (tmp_path / "c.json").exists()


class TestBaseUrlUserinfo:
    """A base URL's user name and password never reach the cassette; replay still matches."""

    def test_recorded_without_userinfo_and_replayed_with_it(
        self, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        base_url = provider_server.url.replace("://", "://alice:S3cret-pass-0001@")
        path = tmp_path / "userinfo.json"
        with exllm_py.Client(cache_strategy=TestStrategy(NoCache()), env={}) as client:
            with use_cassette(path, mode="once"):
                recorded = client.chat("openai", MESSAGES, base_url=base_url, api_key="k")
            with use_cassette(path, mode="none"):
                replayed = client.chat("openai", MESSAGES, base_url=base_url, api_key="k")
        text = path.read_text(encoding="utf-8")
        assert "S3cret" not in text
        assert "alice" not in text
        assert f'"url": "{provider_server.url}/chat/completions"' in text
        assert replayed.content == recorded.content
        assert len(provider_server.requests) == 1

    def test_a_body_echoing_the_url_password_refuses_the_save(
        self, provider_server: ProviderServer, tmp_path: Path
    ) -> None:
        password = "S3cret-pass-0001"
        base_url = provider_server.url.replace("://", f"://alice:{password}@")
        provider_server.enqueue(Reply(status=401, content=f"bad password {password}".encode()))
        path = tmp_path / "echo.json"
        with (
            exllm_py.Client(cache_strategy=TestStrategy(NoCache()), env={}) as client,
            pytest.raises(RecordingRefused, match="userinfo") as refused,
            use_cassette(path, mode="once"),
            pytest.raises(ProviderError),
        ):
            client.chat("openai", MESSAGES, base_url=base_url, api_key="k")
        assert password not in str(refused.value)
        assert not path.exists()

    def test_a_percent_escaped_key_in_a_request_url_is_unescaped(self) -> None:
        escaped = KEY.replace("-", "%2D")
        request = RecordedRequest(
            "GET", f"https://gateway.example/v1/x?state={escaped}", (), Body()
        )
        cassette = CassetteFile((Interaction(request, RecordedResponse(200, (), Body()), "t"),))
        assert find_cassette_leaks(b"{}", cassette, SECRETS) == ["OPENAI_API_KEY"]


class TestKeyShapesInHeaders:
    """A key-shaped value in a header no list names still refuses the save."""

    def test_a_key_in_an_unknown_header_is_found(self) -> None:
        """A gateway header carrying ``Bearer sk-…`` is named, with where it sits."""
        request = RecordedRequest(
            "POST",
            "https://gateway.example/v1/chat/completions",
            (("x-upstream", f"Bearer {KEY}"),),
            Body(),
        )
        cassette = CassetteFile(
            (Interaction(request, RecordedResponse(200, (), Body()), "2025-01-31T12:00:00Z"),)
        )
        leaks = find_cassette_leaks(b"{}", cassette, {})
        assert leaks == ["an OpenAI project API key in interactions[0].request header 'x-upstream'"]

    def test_write_cassette_refuses_a_key_shape_in_a_response_header(self, tmp_path: Path) -> None:
        """Nothing with a key's shape in a header reaches disk."""
        request = RecordedRequest("GET", "https://api.openai.com/v1/models", (), Body())
        response = RecordedResponse(200, (("x-echo", KEY),), Body())
        cassette = CassetteFile((Interaction(request, response, "2025-01-31T12:00:00Z"),))
        path = tmp_path / "c.json"
        with pytest.raises(RecordingRefused, match="x-echo"):
            write_cassette(path, cassette, secrets={})
        assert not path.exists()
        assert KEY not in str(list(tmp_path.iterdir()))
