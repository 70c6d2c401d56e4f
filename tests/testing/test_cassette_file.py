"""Tests for exllm_py.testing.cassette_file: the on-disk format and its safe writes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import attrs
import orjson
import pytest

from exllm_py.errors import RecordingCorrupt
from exllm_py.testing.cassette_file import (
    FORMAT_VERSION,
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    decode_cassette,
    encode_cassette,
    read_cassette,
    recorded_response_headers,
    write_cassette,
)
from exllm_py.testing.redact import RecordingRefused


def _interaction(
    answer: str = "Hi!", recorded_at: str = "2025-01-01T00:00:00Z", **response_headers: str
) -> Interaction:
    return Interaction(
        request=RecordedRequest(
            "POST",
            "https://api.example.com/v1/chat?key=AIzaLeaky&alt=sse",
            (("authorization", "Bearer sk-live"), ("content-type", "application/json")),
            Body.from_bytes(b'{"model":"m","messages":[{"role":"user","content":"Hi"}]}'),
        ),
        response=RecordedResponse(
            200,
            (("content-type", "application/json"), *response_headers.items()),
            Body.from_bytes(orjson.dumps({"z": 1, "answer": answer})),
        ),
        recorded_at=recorded_at,
        source="loopback",
    )


class TestBody:
    """Bodies are kept as JSON structures when they parse, else as text or base64."""

    def test_json_is_decoded_with_sorted_keys(self) -> None:
        body = Body.from_bytes(b'{"b": 1, "a": {"d": 2, "c": 3}}')
        assert body.kind == "json"
        assert list(body.value) == ["a", "b"]
        assert list(body.value["a"]) == ["c", "d"]

    def test_text_and_binary_round_trip(self) -> None:
        assert Body.from_bytes(b"plain text").to_bytes() == b"plain text"
        binary = Body.from_bytes(b"\xff\x00\xfe")
        assert binary.kind == "base64"
        assert binary.to_bytes() == b"\xff\x00\xfe"
        assert Body.from_bytes(b"").kind == "empty"

    def test_events_replay_one_chunk_each(self) -> None:
        body = Body.from_events(["event: a\ndata: {}", "data: [DONE]"])
        assert body.chunks() == [b"event: a\ndata: {}\n\n", b"data: [DONE]\n\n"]

    def test_a_stream_goes_out_whole_as_its_events_joined(self) -> None:
        body = Body.from_events(["data: 1", "data: [DONE]"])
        assert body.to_bytes() == b"data: 1\n\ndata: [DONE]\n\n"

    def test_a_body_that_is_not_a_stream_is_one_chunk(self) -> None:
        assert Body.from_bytes(b'{"b": 1, "a": 2}').chunks() == [b'{"a":2,"b":1}']
        assert Body.from_bytes(b"caf\xc3\xa9").chunks() == [b"caf\xc3\xa9"]
        assert Body().chunks() == []


class TestEncoding:
    """The file is indented JSON with the version first and bodies as structures."""

    def test_layout(self) -> None:
        text = encode_cassette(CassetteFile((_interaction(),), {"test": "t"})).decode()
        assert text.startswith('{\n  "version": 1,\n  "metadata"')
        document = orjson.loads(text)
        interaction = document["interactions"][0]
        assert list(interaction) == ["recorded_at", "source", "request", "response"]
        assert interaction["request"]["json"]["messages"][0]["content"] == "Hi"
        assert interaction["response"]["json"] == {"answer": "Hi!", "z": 1}
        assert text.endswith("}\n")

    def test_every_write_redacts_credentials(self) -> None:
        text = encode_cassette(CassetteFile((_interaction(**{"set-cookie": "s=1"}),))).decode()
        for secret in ("sk-live", "AIzaLeaky", "s=1"):
            assert secret not in text
        assert text.count("REDACTED") == 3

    def test_re_encoding_an_unchanged_exchange_differs_only_in_recorded_at(self) -> None:
        first = encode_cassette(CassetteFile((_interaction(),))).decode().splitlines()
        again = _interaction(recorded_at="2025-06-01T00:00:00Z")
        second = encode_cassette(CassetteFile((again,))).decode().splitlines()
        changed = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
        [(before, after)] = changed
        assert '"recorded_at"' in before
        assert '"recorded_at"' in after

    def test_round_trip(self) -> None:
        original = CassetteFile(
            (_interaction(), _interaction("Bye")), {"test": "t", "source": "loopback"}
        )
        decoded = decode_cassette(encode_cassette(original))
        assert decoded.metadata == original.metadata
        assert [i.response.body.value for i in decoded.interactions] == [
            {"answer": "Hi!", "z": 1},
            {"answer": "Bye", "z": 1},
        ]
        assert decoded.interactions[0].request.headers[0] == ("authorization", "REDACTED")
        assert [(i.recorded_at, i.source, i.response.status) for i in decoded.interactions] == [
            ("2025-01-01T00:00:00Z", "loopback", 200),
            ("2025-01-01T00:00:00Z", "loopback", 200),
        ]

    def test_a_header_is_looked_up_by_name(self) -> None:
        response = RecordedResponse(200, (("x-a", "1"), ("x-b", "2"), ("x-b", "3")), Body())
        assert (response.header("x-b"), response.header("x-c")) == ("2", None)

    def test_repeated_headers_become_a_list(self) -> None:
        interaction = _interaction()
        response = RecordedResponse(200, (("x-a", "1"), ("x-a", "2")), Body())
        encoded = encode_cassette(CassetteFile((Interaction(interaction.request, response, "t"),)))
        document = orjson.loads(encoded)
        assert document["interactions"][0]["response"]["headers"] == {"x-a": ["1", "2"]}
        assert decode_cassette(encoded).interactions[0].response.headers == (
            ("x-a", "1"),
            ("x-a", "2"),
        )


class TestProviderField:
    """An interaction may name its provider; cassettes without one still read, same version."""

    def test_written_after_source_and_read_back(self) -> None:
        named = attrs.evolve(_interaction(), provider="openai")
        encoded = encode_cassette(CassetteFile((named,)))
        [item] = orjson.loads(encoded)["interactions"]
        assert list(item) == ["recorded_at", "source", "provider", "request", "response"]
        assert decode_cassette(encoded).interactions[0].provider == "openai"

    def test_unknown_provider_is_not_written(self) -> None:
        [item] = orjson.loads(encode_cassette(CassetteFile((_interaction(),))))["interactions"]
        assert "provider" not in item

    def test_cassette_from_before_the_field_reads_with_none(self) -> None:
        document = orjson.loads(encode_cassette(CassetteFile((_interaction(),))))
        assert document["version"] == FORMAT_VERSION == 1
        [interaction] = decode_cassette(orjson.dumps(document)).interactions
        assert interaction.provider == ""

    def test_a_provider_that_is_not_a_string_is_corrupt(self) -> None:
        document = orjson.loads(encode_cassette(CassetteFile((_interaction(),))))
        document["interactions"][0]["provider"] = ["openai"]
        with pytest.raises(RecordingCorrupt, match=r"interactions\[0\]\.provider must be a string"):
            decode_cassette(orjson.dumps(document))


class TestCorruptCassettes:
    """A cassette that cannot be used raises RecordingCorrupt naming the file and the problem."""

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            (b"{not json", "not valid JSON"),
            (b"[]", "expected a JSON object"),
            (b'{"interactions": []}', '"version" must be an integer'),
            (b'{"version": 99, "interactions": []}', "format version 99 is not supported"),
            (b'{"version": 1, "interactions": {}}', '"interactions" must be a list'),
            (b'{"version": 1, "interactions": [{}]}', "interactions[0].request must be"),
            (
                b'{"version": 1, "interactions": [{"request": {"method": "GET", "url": "u"},'
                b' "response": {"status": 99}, "recorded_at": "t"}]}',
                "interactions[0].response.status must be an HTTP status",
            ),
            (
                b'{"version": 1, "interactions": [{"request": {"method": "GET", "url": "u",'
                b' "json": 1, "text": "x"}, "response": {"status": 200}, "recorded_at": "t"}]}',
                "more than one body",
            ),
        ],
    )
    def test_problem_is_named(self, tmp_path: Path, content: bytes, problem: str) -> None:
        path = tmp_path / "broken.json"
        path.write_bytes(content)
        with pytest.raises(RecordingCorrupt) as caught:
            read_cassette(path)
        assert str(path) in str(caught.value)
        assert problem in str(caught.value)

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            ('"text": 5', "interactions[1].response.text must be a string, got int 5"),
            ('"sse": "data: x"', "interactions[1].response.sse must be a list, got str 'data: x'"),
            ('"sse": ["data: x", 2]', "interactions[1].response.sse must be a list of strings"),
            ('"base64": "%%%"', "interactions[1].response.base64 is not valid base64"),
            (
                '"text": "a", "json": {}',
                "interactions[1].response has more than one body (json, text)",
            ),
        ],
        ids=["text", "sse", "sse-items", "base64", "two-bodies"],
    )
    def test_a_bad_response_body_is_named_by_its_interaction(
        self, tmp_path: Path, body: str, problem: str
    ) -> None:
        """The first interaction is sound; the message points at the second one's body."""
        sound = (
            '{"request": {"method": "GET", "url": "u"}, '
            '"response": {"status": 200}, "recorded_at": "t"}'
        )
        broken = sound.replace('"status": 200', f'"status": 200, {body}')
        path = tmp_path / "broken.json"
        path.write_text(f'{{"version": 1, "interactions": [{sound}, {broken}]}}')
        with pytest.raises(RecordingCorrupt) as caught:
            read_cassette(path)
        assert problem in str(caught.value)

    @pytest.mark.parametrize(
        ("value", "described"),
        [("null", "got nothing"), ("7", "got int 7"), ('"GET"', "got str 'GET'")],
        ids=["null", "number", "string"],
    )
    def test_a_wrong_value_is_described(self, tmp_path: Path, value: str, described: str) -> None:
        path = tmp_path / "broken.json"
        path.write_text(f'{{"version": 1, "interactions": [{{"request": {value}}}]}}')
        with pytest.raises(RecordingCorrupt) as caught:
            read_cassette(path)
        assert f"interactions[0].request must be a JSON object, {described};" in str(caught.value)

    def test_a_long_wrong_value_is_cut_at_80_characters(self, tmp_path: Path) -> None:
        path = tmp_path / "broken.json"
        path.write_text(f'{{"version": 1, "interactions": [{{"request": "{"x" * 200}"}}]}}')
        with pytest.raises(RecordingCorrupt) as caught:
            read_cassette(path)
        assert ", got " + f"str '{'x' * 200}'"[:80] + ";" in str(caught.value)

    def test_a_directory_in_its_place_says_to_remove_it(self, tmp_path: Path) -> None:
        (tmp_path / "cassette.json").mkdir()
        with pytest.raises(RecordingCorrupt) as caught:
            read_cassette(tmp_path / "cassette.json")
        assert str(caught.value) == (
            f"cassette {tmp_path / 'cassette.json'} cannot be read: it is a directory, "
            "not a file; remove it (and re-record)"
        )

    def test_a_file_where_a_folder_should_be_says_to_remove_it(self, tmp_path: Path) -> None:
        (tmp_path / "module").write_text("")
        path = tmp_path / "module" / "cassette.json"
        with pytest.raises(RecordingCorrupt) as caught:
            read_cassette(path)
        assert str(caught.value) == (
            f"cassette {path} cannot be read: a part of its path is not a directory; "
            "remove the file in its place"
        )

    def test_any_other_failure_is_named_by_the_system_reason_alone(self, tmp_path: Path) -> None:
        path = tmp_path / "cassette.json"
        path.symlink_to(path)  # a link to itself: opening it loops
        with pytest.raises(RecordingCorrupt) as caught:
            read_cassette(path)
        assert str(caught.value) == f"cassette {path} cannot be read: {os.strerror(errno.ELOOP)}"

    def test_missing_file_is_not_corrupt(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError):
            read_cassette(tmp_path / "absent.json")

    def test_version_is_the_current_one(self) -> None:
        assert FORMAT_VERSION == 1


class TestRecordedResponseHeaders:
    """Response headers are kept lowercased and sorted, without framing, credentials redacted."""

    def test_the_kept_headers(self) -> None:
        headers = [
            ("X-Request-Id", "req-1"),
            ("Content-Length", "42"),
            ("Set-Cookie", "session=abc"),
            ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"),
            ("Date", "Mon, 01 Jan 2025 00:00:00 GMT"),
            ("content-type", "text/plain"),
        ]
        assert recorded_response_headers(headers) == (
            ("content-type", "application/json"),
            ("content-type", "text/plain"),
            ("set-cookie", "REDACTED"),
            ("x-request-id", "req-1"),
        )


class TestWriteCassette:
    """Writes are atomic and refuse to put a configured key's value on disk."""

    def test_the_refusal_names_every_leaked_key_and_the_way_out(self, tmp_path: Path) -> None:
        path = tmp_path / "c.json"
        leaky = CassetteFile((_interaction("keys: sk-proj-0123456789 and sk-ant-9876543210"),))
        secrets = {"OPENAI_API_KEY": "sk-proj-0123456789", "ANTHROPIC_API_KEY": "sk-ant-9876543210"}
        with pytest.raises(RecordingRefused) as caught:
            write_cassette(path, leaky, secrets=secrets)
        assert str(caught.value) == (
            f"cassette {path} was not saved: it contains the value of "
            "ANTHROPIC_API_KEY, OPENAI_API_KEY. A recorded body or header echoes the API key; "
            "make the request without it (or add the header to exllm_ignore_headers) and re-record"
        )
        assert not path.exists()

    def test_writes_and_reads_back(self, tmp_path: Path) -> None:
        path = tmp_path / "nested" / "dir" / "c.json"
        size = write_cassette(path, CassetteFile((_interaction(),)), secrets={})
        assert size == path.stat().st_size
        assert read_cassette(path).interactions[0].response.body.value["answer"] == "Hi!"
        assert sorted(p.name for p in path.parent.iterdir()) == ["c.json"]
        assert path.stat().st_mode & 0o644 == 0o644

    def test_leaked_key_refuses_the_save_and_keeps_the_old_file(self, tmp_path: Path) -> None:
        path = tmp_path / "c.json"
        write_cassette(path, CassetteFile((_interaction(),)), secrets={})
        before = path.read_bytes()
        leaky = CassetteFile((_interaction("your key is sk-proj-0123456789"),))
        with pytest.raises(RecordingRefused) as caught:
            write_cassette(path, leaky, secrets={"OPENAI_API_KEY": "sk-proj-0123456789"})
        assert "OPENAI_API_KEY" in str(caught.value)
        assert "sk-proj-0123456789" not in str(caught.value)
        assert path.read_bytes() == before
        assert sorted(os.listdir(tmp_path)) == ["c.json"]
