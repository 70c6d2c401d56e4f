"""Tests for ``exllm-cache show``: a cassette's interactions, found by path or by test id."""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

import exllm_py
from exllm_py.cache.nocache import NoCache
from exllm_py.cli import main
from exllm_py.errors import ProviderError
from exllm_py.testing.cassette_file import Body, RecordedResponse
from exllm_py.testing.paths import cassette_path_for
from exllm_py.testing.strategy import TestStrategy, use_cassette
from exllm_py.types import LLMResponse, StreamChunk, ToolCall
from tests.cli.conftest import CassetteDir, Result, days_ago, interaction
from tests.fakes.payloads import (
    SSEEvent,
    anthropic_error,
    anthropic_message,
    anthropic_stream_events,
    gemini_error,
    gemini_response,
    gemini_stream_events,
    openai_completion,
    openai_error,
    openai_stream_events,
)
from tests.fakes.provider_server import (
    ProviderServer,
    Reply,
    json_reply,
    provider_server,
    sse_reply,
)
from tests.testing.pytester_project import loopback_server, plain_project

__all__ = ["loopback_server", "provider_server"]

GEMINI = (
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent"
)
# Built at run time so that no key-shaped literal sits in the repository.
OPENAI_KEY = "sk-" + "proj-" + "A1b2C3d4" * 4
# An interaction's detail line: indent, a label (one or two words), two spaces or more, the value.
_LABELLED = re.compile(r"^ {4}(\S+(?: \S+)?) {2,}(.*)$")
LONG = "Summarise the following paragraph in one sentence, keeping the names: " + "x" * 200


class TestShow:
    """Each interaction's method, URL, status, model, message start, streaming and time."""

    def test_each_interaction_is_headed_by_its_request(
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
        first, second = _blocks(result.out)
        assert first[0].split() == [
            "#1",
            "POST",
            "https://api.openai.com/v1/chat/completions",
            "200",
        ]
        assert _field(first, "model") == "gpt-4o-mini"
        assert _field(first, "recorded") == days_ago(2).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert _field(first, "request") == "What is the capital of France?"
        assert _field(first, "streamed") is None
        assert second[0].split()[:2] == ["#2", "POST"]
        assert _field(second, "model") == "gpt-4o"
        assert _field(second, "streamed") == "2 events"
        request = _field(second, "request")
        assert request is not None
        assert request.endswith("…")  # the long message is cut
        assert LONG.startswith(request[:-1])

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


def _blocks(out: str) -> list[list[str]]:
    """The interactions' blocks of ``show``'s text: each from its ``#n`` line to a blank line."""
    blocks: list[list[str]] = []
    for line in out.splitlines():
        if line.startswith("#"):
            blocks.append([line])
        elif blocks and line.strip():
            blocks[-1].append(line)
    return blocks


def _field(block: list[str], label: str) -> str | None:
    """The value on a block's ``label`` line, its continuation lines joined with newlines."""
    found: list[str] | None = None
    for line in block[1:]:
        labelled = _LABELLED.match(line)
        if labelled is not None:
            if found is not None:
                break
            if labelled[1] == label:
                found, column = [labelled[2]], labelled.start(2)
        elif found is not None:
            assert not line[:column].strip(), line
            found.append(line[column:])
    return None if found is None else "\n".join(found)


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


WEATHER = ToolCall(id="call_weather_1", name="get_weather", arguments={"city": "Paris"})
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
PROVIDERS = ("openai", "anthropic", "gemini")
ANSWERED = {
    "openai": (openai_completion, openai_stream_events),
    "anthropic": (anthropic_message, anthropic_stream_events),
    "gemini": (gemini_response, gemini_stream_events),
}


@attrs.frozen
class Recorder:
    """Records real calls through the loopback provider server into a test's cassette."""

    server: ProviderServer
    cassettes: CassetteDir

    def chat(self, provider: str, nodeid: str, reply: Reply) -> LLMResponse:
        self.server.enqueue(reply)
        with self._recording(nodeid) as client:
            return client.chat(provider, QUESTION, base_url=self.server.url, api_key="test-key")

    def stream(self, provider: str, nodeid: str, reply: Reply) -> list[StreamChunk]:
        self.server.enqueue(reply)
        with self._recording(nodeid) as client:
            options = {"base_url": self.server.url, "api_key": "test-key"}
            return list(client.stream(provider, QUESTION, **options))

    @contextlib.contextmanager
    def _recording(self, nodeid: str) -> Iterator[exllm_py.Client]:
        client = exllm_py.Client(cache_strategy=TestStrategy(NoCache()))
        path = cassette_path_for(self.cassettes.path, nodeid)
        try:
            with use_cassette(path, mode="once", test_id=nodeid):
                yield client
        finally:
            client.close()


@pytest.fixture
def recorder(provider_server: ProviderServer, cassettes: CassetteDir) -> Recorder:
    return Recorder(provider_server, cassettes)


def _answer(cli: Callable[..., Result], nodeid: str) -> dict[str, Any]:
    document = cli("show", nodeid, "--json").json()
    assert isinstance(document, dict)
    [entry] = document["interactions"]
    answer = entry["answer"]
    assert isinstance(answer, dict)
    return answer


def _block(cli: Callable[..., Result], nodeid: str) -> list[str]:
    result = cli("show", nodeid)
    assert result.code == 0, result.err
    [block] = _blocks(result.out)
    return block


@pytest.mark.parametrize("provider", PROVIDERS)
class TestShowAnswers:
    """Each interaction shows the answer a replaying test receives, in every wire format."""

    def test_an_answer_shows_its_text_finish_reason_and_usage(
        self, cli: Callable[..., Result], recorder: Recorder, provider: str
    ) -> None:
        build, _ = ANSWERED[provider]
        nodeid = f"tests/test_show.py::test_{provider}_chat"
        live = recorder.chat(provider, nodeid, json_reply(build("Paris, on the Seine.")))
        answer = _answer(cli, nodeid)
        assert answer["content"] == live.content
        assert answer["finish_reason"] == live.finish_reason
        assert answer["usage"] == attrs.asdict(live.usage)
        assert answer["model"] == live.model
        assert answer["events"] is None
        block = _block(cli, nodeid)
        assert _field(block, "response") == live.content
        assert _field(block, "finish") == live.finish_reason
        usage = live.usage
        shown = f"{usage.input_tokens} in, {usage.output_tokens} out, {usage.total_tokens} total"
        assert (_field(block, "usage") or "").startswith(shown)

    def test_a_stream_shows_the_joined_text_and_how_many_events(
        self, cli: Callable[..., Result], recorder: Recorder, provider: str
    ) -> None:
        _, build = ANSWERED[provider]
        events = build("The capital of France is Paris.")
        nodeid = f"tests/test_show.py::test_{provider}_stream"
        chunks = recorder.stream(provider, nodeid, sse_reply(events))
        answer = _answer(cli, nodeid)
        assert answer["content"] == "".join(chunk.content for chunk in chunks)
        assert answer["events"] == len(events)
        finishes = [chunk.finish_reason for chunk in chunks if chunk.finish_reason]
        assert answer["finish_reason"] == finishes[-1]
        usages = [chunk.usage for chunk in chunks if chunk.usage is not None]
        assert answer["usage"] == attrs.asdict(usages[-1])
        block = _block(cli, nodeid)
        assert _field(block, "streamed") == f"{len(events)} events"
        assert _field(block, "response") == answer["content"]

    @pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
    def test_tool_calls_show_their_name_and_arguments(
        self, cli: Callable[..., Result], recorder: Recorder, provider: str, streamed: bool
    ) -> None:
        build = ANSWERED[provider][streamed]
        nodeid = f"tests/test_show.py::test_{provider}_tools_{streamed}"
        if streamed:
            recorder.stream(provider, nodeid, sse_reply(build(None, tool_calls=[WEATHER])))
        else:
            recorder.chat(provider, nodeid, json_reply(build(None, tool_calls=[WEATHER])))
        [call] = _answer(cli, nodeid)["tool_calls"]
        assert (call["name"], call["arguments"]) == (WEATHER.name, dict(WEATHER.arguments))
        block = _block(cli, nodeid)
        arguments = json.dumps(dict(WEATHER.arguments), separators=(",", ":"))
        assert _field(block, "tool call") == f"{WEATHER.name} {arguments}"
        assert _field(block, "finish") == "tool_calls"
        assert _field(block, "response") is None

    def test_an_error_status_shows_the_providers_message(
        self, cli: Callable[..., Result], recorder: Recorder, provider: str
    ) -> None:
        nodeid = f"tests/test_show.py::test_{provider}_error"
        message = f"the model no-such-model does not exist ({provider})"
        body = openai_error(message) if provider == "openai" else gemini_error(message, code=404)
        if provider == "anthropic":
            body = anthropic_error(message, type="not_found_error")
        with pytest.raises(ProviderError):
            recorder.chat(provider, nodeid, json_reply(body, status=404))
        assert _answer(cli, nodeid)["error"] == f"HTTP 404: {message}"
        block = _block(cli, nodeid)
        assert block[0].split()[-1] == "404"
        assert _field(block, "error") == f"HTTP 404: {message}"


class TestShowText:
    """A multi-line answer is printed whole, each line under the one before."""

    def test_every_line_of_the_answer_is_shown(
        self, cli: Callable[..., Result], recorder: Recorder
    ) -> None:
        text = "Paris.\nIt has been the capital since 987.\n\nAsk me more."
        recorder.chat(
            "openai", "tests/test_show.py::test_lines", json_reply(openai_completion(text))
        )
        block = _block(cli, "tests/test_show.py::test_lines")
        shown = _field(block, "response")
        assert shown is not None
        # Blank lines inside the answer end a block in _blocks; what is left is each line in order.
        assert shown.splitlines() == [line for line in text.splitlines() if line]


class TestShowWireFormats:
    """Without a recorded provider, the URL names the wire format; others are marked unreadable."""

    def test_an_anthropic_answer_is_read_from_its_url(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        body = anthropic_message("Bonjour !", input_tokens=7)
        item = attrs.evolve(
            interaction("https://gateway.example/anthropic/v1/messages"),
            response=RecordedResponse(200, (), Body.from_bytes(orjson.dumps(body))),
        )
        assert item.provider == ""
        cassettes.add("tests/test_w.py::test_anthropic", item)
        answer = _answer(cli, "tests/test_w.py::test_anthropic")
        assert answer["content"] == body["content"][0]["text"]
        assert answer["usage"]["input_tokens"] == body["usage"]["input_tokens"]

    def test_an_unknown_endpoint_is_unreadable_not_an_error(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        cassettes.add("tests/test_w.py::test_other", interaction("https://example.test/api/run"))
        answer = _answer(cli, "tests/test_w.py::test_other")
        assert answer["unreadable"] == "not a chat request of a known wire format"
        assert (
            _field(_block(cli, "tests/test_w.py::test_other"), "unreadable") == answer["unreadable"]
        )


class TestShowStreamErrors:
    """A stream that ends in an error event shows the text before it and the provider's message."""

    def test_partial_text_and_the_error(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        events = openai_stream_events("Paris is", include_usage=False)[:-2]  # no finish, no DONE
        events.append(SSEEvent({"error": {"message": "The server is overloaded."}}))
        raw = [event.encode().decode("utf-8").removesuffix("\n\n") for event in events]
        item = attrs.evolve(
            interaction(streamed=True),
            response=RecordedResponse(200, (), Body.from_events(raw)),
        )
        cassettes.add("tests/test_e.py::test_overloaded", item)
        answer = _answer(cli, "tests/test_e.py::test_overloaded")
        assert answer["content"] == "Paris is"
        assert answer["events"] == len(events)
        assert "The server is overloaded." in answer["error"]
        block = _block(cli, "tests/test_e.py::test_overloaded")
        assert _field(block, "response") == "Paris is"
        assert "The server is overloaded." in (_field(block, "error") or "")


class TestShowJson:
    """--json holds each interaction exactly as the file stores it, beside the decoded answer."""

    def test_stored_is_the_files_interaction(
        self, cli: Callable[..., Result], recorder: Recorder
    ) -> None:
        nodeid = "tests/test_show.py::test_stored"
        recorder.stream("anthropic", nodeid, sse_reply(anthropic_stream_events("Oui.")))
        path = cassette_path_for(recorder.cassettes.path, nodeid)
        document = cli("show", nodeid, "--json").json()
        assert isinstance(document, dict)
        [entry] = document["interactions"]
        [stored] = orjson.loads(path.read_bytes())["interactions"]
        assert entry["stored"] == stored
        assert entry["answer"]["content"] == "Oui."


LIVE_TEST = """\
import os

import pytest

import exllm_py

QUESTION = [{"role": "user", "content": "Capital of France?"}]
OPTIONS = {"base_url": os.environ["LOOPBACK_URL"], "api_key": "sk-loopback"}


@pytest.mark.live_api
def test_chat_and_stream():
    answer = exllm_py.chat("anthropic", QUESTION, **OPTIONS)
    streamed = "".join(chunk.content for chunk in exllm_py.stream("gemini", QUESTION, **OPTIONS))
    print(f"ANSWER={answer.content!r} STREAMED={streamed!r}")
"""


class TestShowAfterATestRun:
    """What a live_api test recorded in a pytest run, show prints as the test received it."""

    def test_the_answer_and_the_streamed_text_are_shown(
        self,
        pytester: pytest.Pytester,
        monkeypatch: pytest.MonkeyPatch,
        loopback_server: ProviderServer,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        plain_project(pytester, monkeypatch)
        pytester.makepyfile(test_live=LIVE_TEST)
        run = pytester.runpytest("--exllm-record-mode=once", "-s")
        run.assert_outcomes(passed=1)
        received = re.search(r"ANSWER=('.*') STREAMED=('.*')", run.stdout.str())
        assert received is not None
        answer, streamed = ast.literal_eval(received[1]), ast.literal_eval(received[2])
        capsys.readouterr()
        location = ["--root", str(pytester.path)]
        assert main(["show", "test_live.py::test_chat_and_stream", *location]) == 0
        first, second = _blocks(capsys.readouterr().out)
        assert first[0].split()[-1] == "200"
        assert _field(first, "response") == answer
        assert _field(second, "response") == streamed
        assert _field(second, "streamed") is not None
