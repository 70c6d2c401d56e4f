"""Converting a vcrpy cassette (YAML or JSON) into an exllm_py cassette.

For suites moving their LLM calls from ``@pytest.mark.vcr`` to
``@pytest.mark.live_api``: the vcrpy file is read with vcrpy's own loader
and serializers (so every format vcrpy reads is understood), then each
interaction is stored the exllm_py way: bodies decompressed and kept as
JSON structures, streamed answers split into their events, credentials
redacted. ``exllm-cache import-vcr PATH`` calls :func:`import_vcr_cassette`.

vcrpy does not record when an interaction happened, so ``recorded_at`` is
the vcrpy file's modification time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from exllm_py.errors import RecordingCorrupt
from exllm_py.providers.sse import SSEDecoder
from exllm_py.testing.cassette_file import (
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    recorded_response_headers,
    write_cassette,
)
from exllm_py.testing.files import utc_timestamp
from exllm_py.testing.matching import Matcher
from exllm_py.testing.redact import (
    add_secrets,
    key_values,
    redact_headers,
    redact_url,
    request_secrets,
)

__all__ = ["import_vcr_cassette", "read_vcr_cassette"]


def import_vcr_cassette(source: Path, destination: Path, *, overwrite: bool = False) -> Path:
    """Convert the vcrpy cassette ``source`` and write it to ``destination``; returns the path.

    ``destination`` may be a directory: the cassette is then written there
    as ``<source stem>.json``. An existing file is replaced only when
    ``overwrite`` is true (``FileExistsError`` otherwise). Raises
    ``RecordingCorrupt`` when vcrpy cannot read ``source``, and
    :class:`~exllm_py.testing.redact.RecordingRefused` when the value of a
    configured API key, or of a credential its requests carried, appears in it.
    """
    source, destination = Path(source), Path(destination)
    if destination.is_dir():
        destination = destination / f"{source.stem}.json"
    if destination.exists() and not overwrite:
        raise FileExistsError(
            f"{destination} exists; choose another destination or pass overwrite=True"
        )
    cassette, sent = _convert(source)
    # vcrpy keeps credentials as sent (unless filtered): a key passed on the
    # call is in no variable, so the requests' own are searched for as well.
    write_cassette(destination, cassette, secrets=add_secrets(key_values(os.environ), sent))
    return destination


def read_vcr_cassette(source: Path) -> CassetteFile:
    """The vcrpy cassette at ``source`` as exllm_py values (nothing written)."""
    return _convert(Path(source))[0]


def _convert(source: Path) -> tuple[CassetteFile, list[tuple[str, str]]]:
    """The cassette, and the credentials its requests carried (what, value)."""
    requests, responses = _load(source)
    recorded_at = utc_timestamp(datetime.fromtimestamp(source.stat().st_mtime, UTC))
    matcher = Matcher()
    try:
        interactions = tuple(
            _interaction(request, response, recorded_at, source.name, matcher)
            for request, response in zip(requests, responses, strict=True)
        )
    except UnicodeEncodeError as exc:
        # vcrpy leaves as text a body it cannot encode (a lone surrogate, which a
        # JSON file can spell as \ud83d), and httpx takes ASCII header values only.
        unencodable = exc.object[exc.start : exc.end]
        raise RecordingCorrupt(
            f"vcrpy cassette {source} cannot be read: it holds {unencodable!r}, which cannot "
            f"be encoded ({exc.reason}); remove it from the file or re-record"
        ) from exc
    sent = [
        found
        for request in requests
        for found in request_secrets(
            [(str(k), str(v)) for k, v in request.headers.items()], str(request.uri)
        ).items()
    ]
    sources = sorted({item.source for item in interactions})
    return CassetteFile(interactions, {"source": "; ".join(sources)}), sent


def _load(source: Path) -> tuple[Sequence[Any], Sequence[Any]]:
    try:
        # vcrpy is an optional dependency (the "testing" extra): imported on use.
        # It ships no type information, hence the ignores.
        from vcr.persisters.filesystem import (
            FilesystemPersister,
        )
        from vcr.serializers import (
            jsonserializer,
            yamlserializer,
        )
    except ImportError as exc:
        raise ImportError(
            "importing vcrpy cassettes needs vcrpy: pip install 'exllm_py[testing]'"
        ) from exc
    serializer = jsonserializer if source.suffix.lower() == ".json" else yamlserializer
    try:
        loaded = FilesystemPersister.load_cassette(source, serializer)
    except FileNotFoundError:
        raise
    except Exception as exc:  # vcrpy and its YAML/JSON parsers raise many kinds
        raise RecordingCorrupt(
            f"vcrpy cassette {source} cannot be read: {type(exc).__name__}: {exc}"
        ) from exc
    # vcrpy returns (requests, responses), plus metadata when the file has any.
    return loaded[0], loaded[1]


def _interaction(
    request: Any, response: Mapping[str, Any], recorded_at: str, name: str, matcher: Matcher
) -> Interaction:
    url = httpx.URL(str(request.uri))
    request_headers = [(str(k), str(v)) for k, v in request.headers.items()]
    body = request.body
    status = response.get("status", {})
    response_headers = [
        (str(header).lower(), str(value))
        for header, values in response.get("headers", {}).items()
        for value in (values if isinstance(values, list) else [values])
    ]
    content = _content(response.get("body", {}).get("string", b""))
    return Interaction(
        request=RecordedRequest(
            method=str(request.method).upper(),
            url=redact_url(str(url)),
            headers=tuple(redact_headers(matcher.recorded_headers(request_headers))),
            body=Body.from_bytes(_content(body)),
        ),
        response=RecordedResponse(
            status=int(status.get("code", 200)),
            headers=recorded_response_headers(response_headers),
            body=_response_body(response_headers, content),
        ),
        recorded_at=recorded_at,
        source=f"live API at {url.scheme}://{url.netloc.decode('ascii')} "
        f"(imported from vcrpy cassette {name})",
    )


def _content(value: Any) -> bytes:
    if value is None:
        return b""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _response_body(headers: list[tuple[str, str]], content: bytes) -> Body:
    # vcrpy keeps bodies as the server sent them, compressed or not: decode
    # through httpx so the cassette never holds a content-encoding.
    decoded = httpx.Response(200, headers=headers, content=content).read()
    content_type = next((v for n, v in headers if n == "content-type"), "")
    if not content_type.startswith("text/event-stream"):
        return Body.from_bytes(decoded)
    decoder = SSEDecoder()
    events = [event.raw for event in decoder.feed(decoded)]
    events.extend(event.raw for event in decoder.close())
    return Body.from_events(events)
