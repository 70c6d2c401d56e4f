"""The cassette file format: frozen values, the JSON codec, and atomic reads and writes.

A cassette is one JSON document, indented, in a fixed key order so that
re-recording an unchanged exchange changes nothing but ``recorded_at``::

    {
      "version": 1,
      "metadata": {"test": "tests/test_x.py::test_y", "source": "live API at https://api.openai.com"},
      "interactions": [
        {
          "recorded_at": "2025-01-31T12:00:00Z",
          "source": "live API at https://api.openai.com",
          "provider": "openai",
          "request": {
            "method": "POST",
            "url": "https://api.openai.com/v1/chat/completions",
            "headers": {"authorization": "REDACTED", "content-type": "application/json"},
            "json": {"messages": [{"content": "Hi", "role": "user"}], "model": "gpt-4o-mini"}
          },
          "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "json": {"choices": [...], "id": "chatcmpl-..."}
          }
        }
      ]
    }

A body is stored under one key naming its form: ``json`` (the decoded
document, keys sorted), ``sse`` (a streamed answer: the list of events,
each exactly as received, without the blank line that ends it), ``text``
or ``base64``; no key means an empty body. Headers map lowercase names to a
value, or to a list when repeated. Bodies are stored decompressed, so no
``content-encoding`` is ever recorded.

Every write redacts credentials (:mod:`exllm_py.testing.redact`), refuses
to write the value of a configured API key or of a credential a recorded
request sent, and replaces the file atomically
(:func:`~exllm_py.testing.files.write_atomically`), so parallel workers
never see half a file.
"""

from __future__ import annotations

import base64
import errno
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import httpx
import orjson

from exllm_py.errors import RecordingCorrupt
from exllm_py.testing.files import write_atomically
from exllm_py.testing.redact import (
    RecordingRefused,
    find_cassette_leaks,
    redact_headers,
    redact_url,
)

__all__ = [
    "FORMAT_VERSION",
    "Body",
    "BodyKind",
    "CassetteFile",
    "Headers",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "decode_cassette",
    "encode_cassette",
    "read_cassette",
    "recorded_response_headers",
    "write_cassette",
]

#: Bumped when the format changes in a way older readers cannot follow.
FORMAT_VERSION = 1

BodyKind = Literal["empty", "json", "text", "base64", "sse"]
#: Header (name, value) pairs, names lowercase, in stored order.
Headers = tuple[tuple[str, str], ...]

_BODY_KEYS = frozenset({"json", "sse", "text", "base64"})
_JSON_ONLY = frozenset({"json"})

# Transport framing, not content: never recorded (replay recomputes the length).
_FRAMING_HEADERS = frozenset(
    {"connection", "content-encoding", "content-length", "date", "keep-alive", "transfer-encoding"}
)


@attrs.frozen
class Body:
    """A request or response body in its stored form.

    ``value`` is the decoded JSON document (``json``), the text (``text``),
    base64 text (``base64``) or the tuple of raw events (``sse``).
    """

    kind: BodyKind = "empty"
    value: Any = attrs.field(default=None, hash=False)

    @classmethod
    def from_bytes(cls, content: bytes) -> Body:
        """The stored form of ``content``: JSON when it parses, else text, else base64."""
        if not content:
            return EMPTY
        try:
            document = orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
        else:
            # Re-encoded with sorted keys: a re-recording of the same document
            # then makes no diff, whatever order the server sent its keys in.
            return cls("json", orjson.loads(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)))
        try:
            return cls("text", content.decode("utf-8"))
        except UnicodeDecodeError:
            return cls("base64", base64.b64encode(content).decode("ascii"))

    @classmethod
    def from_events(cls, raw_events: Iterable[str]) -> Body:
        """A streamed body: each server-sent event's raw text, in order."""
        return cls("sse", tuple(raw_events))

    def to_bytes(self) -> bytes:
        """The body as it goes over the wire (a stream as one piece)."""
        if self.kind == "json":
            return orjson.dumps(self.value)
        if self.kind == "text":
            return str(self.value).encode("utf-8")
        if self.kind == "base64":
            return base64.b64decode(self.value)
        if self.kind == "sse":
            return b"".join(self.chunks())
        return b""

    def chunks(self) -> list[bytes]:
        """The body in the pieces it arrived in: one per event for a stream, else one."""
        if self.kind == "sse":
            return [f"{raw}\n\n".encode() for raw in self.value]
        content = self.to_bytes()
        return [content] if content else []

    def to_json(self) -> dict[str, Any]:
        """The body's entry in a cassette: ``{kind: value}``, or nothing when empty."""
        if self.kind == "empty":
            return {}
        return {self.kind: list(self.value) if self.kind == "sse" else self.value}


EMPTY = Body()


@attrs.frozen
class RecordedRequest:
    """A request as recorded: method, URL (credentials redacted), kept headers, body."""

    method: str
    url: str
    headers: Headers = ()
    body: Body = EMPTY


@attrs.frozen
class RecordedResponse:
    """A response as recorded: status, headers (no transport framing), decompressed body."""

    status: int
    headers: Headers = ()
    body: Body = EMPTY

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lowercase), if any."""
        return next((value for key, value in self.headers if key == name), None)


@attrs.frozen
class Interaction:
    """One recorded exchange, with when and from where it was recorded, and for which provider.

    ``provider`` (:func:`~exllm_py.testing.provider_label.provider_label`) is
    optional in the file: cassettes recorded before it existed have none,
    and readers that predate it ignore it, so it needs no new format version.
    """

    request: RecordedRequest
    response: RecordedResponse
    recorded_at: str
    source: str = ""
    provider: str = ""


@attrs.frozen
class CassetteFile:
    """The content of one cassette file; ``metadata`` holds ``test`` and ``source``."""

    interactions: tuple[Interaction, ...] = ()
    metadata: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    version: int = FORMAT_VERSION


def recorded_response_headers(headers: Iterable[tuple[str, str]]) -> Headers:
    """Response headers as a cassette keeps them: no framing, credentials redacted, sorted."""
    kept = sorted((name.lower(), value) for name, value in headers)
    return tuple(redact_headers((n, v) for n, v in kept if n not in _FRAMING_HEADERS))


# -- encoding ------------------------------------------------------------------------------


def encode_cassette(cassette: CassetteFile) -> bytes:
    """The cassette as indented JSON, credentials redacted, ending with a newline."""
    document = {
        "version": cassette.version,
        "metadata": dict(cassette.metadata),
        "interactions": [_encode_interaction(item) for item in cassette.interactions],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _encode_interaction(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    return {
        "recorded_at": interaction.recorded_at,
        "source": interaction.source,
        **({"provider": interaction.provider} if interaction.provider else {}),
        "request": {
            "method": request.method,
            "url": redact_url(request.url),
            "headers": _encode_headers(request.headers),
            **request.body.to_json(),
        },
        "response": {
            "status": response.status,
            "headers": _encode_headers(response.headers),
            **response.body.to_json(),
        },
    }


def _encode_headers(headers: Headers) -> dict[str, str | list[str]]:
    encoded: dict[str, str | list[str]] = {}
    for name, value in sorted(redact_headers(headers), key=lambda pair: pair[0]):
        previous = encoded.get(name)
        if previous is None:
            encoded[name] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            encoded[name] = [previous, value]
    return encoded


# -- decoding ------------------------------------------------------------------------------


class _Problem(Exception):
    """Raised inside the decoder; turned into ``RecordingCorrupt`` naming the file."""


def decode_cassette(data: bytes, path: Path | str = "<cassette>") -> CassetteFile:
    """Parse a cassette; ``RecordingCorrupt`` names ``path`` and what is wrong."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RecordingCorrupt(
            f"cassette {path} is not valid JSON ({exc}); fix it by hand, or delete it and "
            "re-record (--exllm-record-mode=rewrite)"
        ) from exc
    try:
        return _decode_document(document)
    except _Problem as exc:
        raise RecordingCorrupt(
            f"cassette {path} is not a valid exllm_py cassette: {exc}; fix it by hand, "
            "or delete it and re-record (--exllm-record-mode=rewrite)"
        ) from exc


def _decode_document(document: Any) -> CassetteFile:
    if not isinstance(document, dict):
        raise _Problem(f"expected a JSON object at the top, got {type(document).__name__}")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _Problem(f'"version" must be an integer, got {version!r}')
    if version != FORMAT_VERSION:
        raise _Problem(
            f"format version {version} is not supported (this exllm_py reads version "
            f"{FORMAT_VERSION}); upgrade exllm_py or re-record"
        )
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _Problem('"metadata" must be an object of strings')
    items = document.get("interactions")
    if not isinstance(items, list):
        raise _Problem(f'"interactions" must be a list, got {type(items).__name__}')
    interactions = tuple(_decode_interaction(item, index) for index, item in enumerate(items))
    return CassetteFile(interactions, metadata, version)


def _decode_interaction(item: Any, index: int) -> Interaction:
    # Paths in messages are formatted only on failure: a large cassette
    # decodes thousands of fields, and loading must stay fast.
    item = _expect(item, dict, index, "")
    request = _expect(item.get("request"), dict, index, ".request")
    response = _expect(item.get("response"), dict, index, ".response")
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise _Problem(
            f"interactions[{index}].response.status must be an HTTP status, got {status!r}"
        )
    url = _expect(request.get("url"), str, index, ".request.url")
    problem = _url_problem(url)
    if problem is not None:
        raise _Problem(f"interactions[{index}].request.url {url!r} is not a URL ({problem})")
    headers = _decode_headers(response.get("headers", {}), index, ".response.headers")
    if any(name == "content-encoding" for name, _ in headers):
        raise _Problem(
            f"interactions[{index}].response.headers has a content-encoding, but cassettes "
            "store bodies decoded; remove the header"
        )
    return Interaction(
        request=RecordedRequest(
            method=_expect(request.get("method"), str, index, ".request.method"),
            url=url,
            headers=_decode_headers(request.get("headers", {}), index, ".request.headers"),
            body=_decode_body(request, index, ".request"),
        ),
        response=RecordedResponse(
            status=status,
            headers=headers,
            body=_decode_body(response, index, ".response"),
        ),
        recorded_at=_expect(item.get("recorded_at"), str, index, ".recorded_at"),
        source=_expect(item.get("source", ""), str, index, ".source"),
        provider=_expect(item.get("provider", ""), str, index, ".provider"),
    )


@functools.lru_cache(maxsize=256)
def _url_problem(url: str) -> str | None:
    # Cached: a cassette's interactions mostly share a few URLs.
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        return str(exc)
    return None


def _decode_headers(headers: Any, index: int, path: str) -> Headers:
    pairs: list[tuple[str, str]] = []
    for name, value in _expect(headers, dict, index, path).items():
        if not name.isascii():
            # Header names go over the wire as ASCII (values are replayed as UTF-8).
            raise _Problem(f"interactions[{index}]{path} has the header name {name!r}, not ASCII")
        if isinstance(value, str):
            pairs.append((name.lower(), value))
            continue
        for one in _expect(value, list, index, f"{path}.{name}"):
            pairs.append((name.lower(), _expect(one, str, index, f"{path}.{name}[]")))
    return tuple(pairs)


def _decode_body(message: dict[str, Any], index: int, path: str) -> Body:
    present = message.keys() & _BODY_KEYS
    if present == _JSON_ONLY:
        return Body("json", message["json"])  # the common case, first
    if not present:
        return EMPTY
    if len(present) > 1:
        raise _Problem(
            f"interactions[{index}]{path} has more than one body ({', '.join(sorted(present))})"
        )
    [kind] = present
    value = message[kind]
    if kind == "sse":
        events = _expect(value, list, index, f"{path}.sse")
        if not all(isinstance(event, str) for event in events):
            raise _Problem(f"interactions[{index}]{path}.sse must be a list of strings")
        return Body("sse", tuple(events))
    text = _expect(value, str, index, f"{path}.{kind}")
    if kind == "base64":
        try:
            base64.b64decode(text, validate=True)
        except ValueError as exc:
            raise _Problem(f"interactions[{index}]{path}.base64 is not valid base64") from exc
    return Body("base64" if kind == "base64" else "text", text)


def _expect(value: Any, kind: type[Any], index: int, path: str) -> Any:
    if not isinstance(value, kind):
        raise _Problem(
            f"interactions[{index}]{path} must be a {_TYPE_NAMES[kind]}, got {_describe(value)}"
        )
    return value


_TYPE_NAMES: dict[type[Any], str] = {dict: "JSON object", list: "list", str: "string"}


def _describe(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


# -- files ---------------------------------------------------------------------------------


def read_cassette(path: Path) -> CassetteFile:
    """Load the cassette at ``path``.

    Raises ``FileNotFoundError`` when it is absent and ``RecordingCorrupt``
    when it cannot be read as a cassette (a directory in its place included).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise RecordingCorrupt(f"cassette {path} cannot be read: {_read_problem(exc)}") from exc
    return decode_cassette(data, path)


def _read_problem(exc: OSError) -> str:
    if exc.errno == errno.EISDIR:
        return "it is a directory, not a file; remove it (and re-record)"
    if exc.errno == errno.ENOTDIR:
        return "a part of its path is not a directory; remove the file in its place"
    return exc.strerror or str(exc)


def write_cassette(path: Path, cassette: CassetteFile, *, secrets: Mapping[str, str]) -> int:
    """Write ``cassette`` atomically; returns its size in bytes.

    ``secrets`` maps what each secret is (an environment variable, a
    request's credential) to a value that must never reach disk: if any
    value occurs in the encoded cassette, nothing is written and
    :class:`~exllm_py.testing.redact.RecordingRefused` names what leaked.
    """
    data = encode_cassette(cassette)
    leaks = find_cassette_leaks(data, cassette, secrets)
    if leaks:
        raise RecordingRefused(
            f"cassette {path} was not saved: it contains the value of {', '.join(leaks)}. "
            "A recorded body or header echoes the API key; make the request without it "
            "(or add the header to exllm_ignore_headers) and re-record"
        )
    write_atomically(path, data)
    return len(data)
