"""Tests for exllm_py.testing.redact: the leak check looks where the stored text does not show.

Each test builds a cassette in memory and asks the public leak-check
functions what they search: the exact texts, their labels and their order,
since a report that names the wrong place sends the reader to the wrong place.
"""

from __future__ import annotations

import base64

import orjson

from exllm_py.testing.cassette_file import (
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    encode_cassette,
)
from exllm_py.testing.redact import (
    add_secrets,
    find_cassette_leaks,
    find_leaks,
    hidden_texts,
    key_values,
    request_secrets,
)

# Built at run time so that no key-shaped literal sits in the repository.
OPENAI_KEY = "sk-" + "hiddenkey0123456789abcdef"
GOOGLE_KEY = "AIza" + "Sy" + "0123456789abcdefghijklmnopqrstuvw"
URL = "https://api.example.com/v1/chat/completions"
NO_BODY = Body.from_bytes(b"")


def interaction(
    request_body: Body = NO_BODY,
    response_body: Body = NO_BODY,
    *,
    url: str = URL,
    request_headers: tuple[tuple[str, str], ...] = (),
    response_headers: tuple[tuple[str, str], ...] = (),
) -> Interaction:
    return Interaction(
        request=RecordedRequest("POST", url, request_headers, request_body),
        response=RecordedResponse(200, response_headers, response_body),
        recorded_at="2025-01-31T12:00:00Z",
        source="a test",
    )


def event(payload: object) -> str:
    return "data: " + orjson.dumps(payload).decode()


class TestStreams:
    """A streamed body is searched as its joined data and as each string field joined."""

    def test_pieces_of_a_key_split_across_events_are_joined(self) -> None:
        events = [
            event({"choices": [{"index": 0, "delta": {"content": OPENAI_KEY[:10]}}]}),
            "data: not json",
            event({"choices": [{"index": 0, "delta": {"content": OPENAI_KEY[10:]}}]}),
            "data: [DONE]",
        ]
        found = list(hidden_texts([interaction(response_body=Body.from_events(events))]))
        datas = [line.removeprefix("data: ") for line in events]
        assert found == [
            ("the joined events of interactions[0].response", "".join(datas)),
            ("the joined events of interactions[0].response", OPENAI_KEY),
        ]

    def test_two_choices_streamed_together_are_joined_apart(self) -> None:
        """Each event holds one choice at ``choices[0]``; its ``index`` says which."""
        events = [
            event({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
            event({"choices": [{"index": 1, "delta": {"content": "Bon"}}]}),
            event({"choices": [{"index": 0, "delta": {"content": "lo"}}]}),
            event({"choices": [{"index": 1, "delta": {"content": "jour"}}]}),
        ]
        texts = [text for _, text in hidden_texts([interaction(Body.from_events(events))])]
        assert texts[1:] == ["Hello", "Bonjour"]

    def test_list_elements_are_joined_by_their_position(self) -> None:
        events = [event({"parts": ["Hel", "Bon"]}), event({"parts": ["lo", "jour"]})]
        texts = [text for _, text in hidden_texts([interaction(Body.from_events(events))])]
        assert texts[1:] == ["Hello", "Bonjour"]

    def test_a_true_or_false_index_is_no_position(self) -> None:
        events = [event({"index": True, "text": "Hel"}), event({"index": False, "text": "lo"})]
        texts = [text for _, text in hidden_texts([interaction(Body.from_events(events))])]
        assert "Hello" in texts

    def test_a_stream_without_a_final_blank_line_keeps_its_last_event(self) -> None:
        events = [event({"text": "Hel"}), event({"text": "lo"}) + "\n"]
        texts = [text for _, text in hidden_texts([interaction(Body.from_events(events))])]
        assert texts[-1] == "Hello"

    def test_an_escaped_key_shows_as_itself_only_when_decoded(self) -> None:
        escaped = OPENAI_KEY.replace("-", "\\u002d")
        events = ['data: {"text": "' + escaped + '"}']
        cassette = CassetteFile((interaction(response_body=Body.from_events(events)),))
        secrets = {"OPENAI_API_KEY": OPENAI_KEY}
        assert OPENAI_KEY not in encode_cassette(cassette).decode()
        assert find_cassette_leaks(encode_cassette(cassette), cassette, secrets) == [
            "OPENAI_API_KEY"
        ]


class TestBase64AndUrls:
    """A ``base64`` body is decoded both ways; an escaped URL is unescaped."""

    def test_a_binary_body_is_read_as_latin_1_and_as_utf_8(self) -> None:
        content = b"\xff\xfe " + OPENAI_KEY.encode()
        body = Body("base64", base64.b64encode(content).decode())
        assert list(hidden_texts([interaction(body)])) == [
            ("the decoded base64 body of interactions[0].request", content.decode("latin-1")),
            (
                "the decoded base64 body of interactions[0].request",
                content.decode("utf-8", errors="replace"),
            ),
        ]

    def test_a_body_that_is_not_strict_base64_adds_nothing(self) -> None:
        # Lenient decoding would skip the "!" and read a key out of the rest.
        value = base64.b64encode(OPENAI_KEY.encode()).decode() + "!"
        assert list(hidden_texts([interaction(Body("base64", value))])) == []

    def test_an_escaped_url_is_searched_unescaped(self) -> None:
        escaped = URL + "?token=" + OPENAI_KEY.replace("-", "%2D")
        found = list(hidden_texts([interaction(url=escaped), interaction()]))
        assert found == [
            ("the unescaped URL of interactions[0].request", URL + "?token=" + OPENAI_KEY)
        ]


class TestKeyShapes:
    """A key shape in any recorded header or URL is named by where it sits."""

    def test_each_place_is_named(self) -> None:
        cassette = CassetteFile(
            (
                interaction(),
                interaction(
                    url=f"{URL}?key={GOOGLE_KEY}",
                    request_headers=(("x-gateway", f"Bearer {OPENAI_KEY}"),),
                    response_headers=(("x-echo", GOOGLE_KEY),),
                ),
            )
        )
        assert find_cassette_leaks(encode_cassette(cassette), cassette, {}) == [
            "a Google API key in interactions[1].request.url",
            "an OpenAI-style API key in interactions[1].request header 'x-gateway'",
            "a Google API key in interactions[1].response header 'x-echo'",
        ]


class TestValues:
    """Values of eight characters or more are searched for; shorter ones would match words."""

    def test_a_value_of_eight_characters_is_searched_for(self) -> None:
        assert key_values({"OPENAI_API_KEY": "12345678", "GROQ_API_KEY": "1234567"}) == {
            "OPENAI_API_KEY": "12345678"
        }
        assert find_leaks("echo 12345678", {"OPENAI_API_KEY": "12345678"}) == ["OPENAI_API_KEY"]

    def test_each_text_is_searched_for_the_value_inside_it(self) -> None:
        texts = ["no key here", f"echo: {OPENAI_KEY}."]
        assert find_leaks(texts, {"mine": OPENAI_KEY, "other": GOOGLE_KEY}) == ["mine"]

    def test_a_value_is_kept_once_and_a_third_of_a_kind_is_numbered(self) -> None:
        what = "the x-api-key header of a recorded request"
        found = [(what, "value-0001"), (what, "value-0001"), (what, "value-0002")]
        found += [(what, "value-0003"), (what, "REDACTED"), (what, "12345678")]
        assert add_secrets({}, found) == {
            what: "value-0001",
            f"{what} (#2)": "value-0002",
            f"{what} (#3)": "value-0003",
            f"{what} (#4)": "12345678",
        }

    def test_a_secret_header_after_others_is_taken(self) -> None:
        headers = [("content-type", "application/json"), ("X-Api-Key", "value-0001")]
        url = "https://alice:pass-0123456@api.example.com/v1"
        assert request_secrets(headers, url) == {
            "the x-api-key header of a recorded request": "value-0001",
            "the userinfo of a recorded request's URL": "pass-0123456",
        }
