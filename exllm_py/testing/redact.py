"""Keeping secrets off disk: redaction of credentials, and the leak check before a save.

Two lines of defence, both applied on every path that writes a cassette:

1. **Redaction.** The credential headers in :data:`SECRET_HEADERS` and the
   query parameters in :data:`SECRET_PARAMS` are replaced by
   :data:`REDACTED`, in requests and responses, whatever their case, and
   a URL's userinfo (``https://alice:S3cret@host``) is dropped.
2. **The leak check.** Redaction only knows where keys usually travel; a
   key can also be echoed in an error body or sit in a header nobody
   thought of. So before a cassette is written, it is searched for the
   value of every API key the providers read from the environment
   (:func:`key_values`) and of every credential the recorded requests
   carried (:func:`request_secrets`: a key given as ``api_key=`` on the
   call is in no variable); a hit refuses the save
   (:class:`RecordingRefused`). Searched are the serialized text and what
   it does not show as text (:func:`hidden_texts`): the joined text of a
   streamed answer, where a key may arrive split across two events, and
   the decoded bytes of a ``base64`` body.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Iterator, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from exllm_py.errors import RecordingRefused
from exllm_py.providers.sse import SSEDecoder
from exllm_py.secret_patterns import (
    URL_SECRET_PARAMS,
    find_secrets,
    hide_url_credentials,
    url_credentials,
)

if TYPE_CHECKING:
    from exllm_py.testing.cassette_file import CassetteFile, Interaction

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_PARAMS",
    "RecordingRefused",
    "add_secrets",
    "find_cassette_leaks",
    "find_leaks",
    "has_userinfo",
    "hidden_texts",
    "is_secret_header",
    "key_env_vars",
    "key_values",
    "redact_headers",
    "redact_url",
    "request_secrets",
]

#: What a secret is replaced with on disk.
REDACTED = "REDACTED"

#: Headers that carry credentials or session state (lowercase; matched case-insensitively).
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "proxy-authorization",
        "x-amz-security-token",
        "ocp-apim-subscription-key",
    }
)

# Gateways and proxies name their credentials freely (helicone-auth,
# x-portkey-api-key, x-csrf-token): a header ending so is redacted too.
_SECRET_HEADER_SUFFIXES = ("-api-key", "-auth", "-token", "-secret")

#: Query parameters that carry credentials (lowercase; matched case-insensitively).
SECRET_PARAMS = URL_SECRET_PARAMS

# Shorter values are not searched for: a test that sets OPENAI_API_KEY=test
# would otherwise refuse every cassette that contains the word "test". Real
# keys are far longer; short ones are still redacted from headers and URLs.
_MIN_KEY_LENGTH = 8
_BEARER = "bearer "


def is_secret_header(name: str) -> bool:
    """Whether the header ``name`` (any case) carries a credential.

    One of :data:`SECRET_HEADERS`, or a name ending in ``-api-key``, ``-auth``,
    ``-token`` or ``-secret``.
    """
    lowered = name.lower()
    return lowered in SECRET_HEADERS or lowered.endswith(_SECRET_HEADER_SUFFIXES)


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with every credential's value replaced by :data:`REDACTED`."""
    return [(name, REDACTED if is_secret_header(name) else value) for name, value in headers]


def redact_url(url: str) -> str:
    """``url`` without userinfo, the values of its :data:`SECRET_PARAMS` redacted.

    :func:`~exllm_py.secret_patterns.hide_url_credentials` with
    :data:`REDACTED` as the replacement. A URL with neither is returned
    unchanged (not re-encoded), so redaction never alters what it has no
    reason to touch; nor are the other query parameters re-encoded.
    """
    return hide_url_credentials(url, replacement=REDACTED)


def has_userinfo(url: str) -> bool:
    """Whether ``url`` carries a user name or password (``https://alice:S3cret@host``)."""
    return "@" in urlsplit(url).netloc


def key_env_vars() -> tuple[str, ...]:
    """The environment variables the providers read API keys from, in registry order."""
    # Imported here: the registry pulls in every provider adapter, which the
    # redaction helpers do not otherwise need (the CLI's `verify` uses them too).
    from exllm_py.providers.registry import PROVIDERS

    names: dict[str, None] = {}
    for spec in PROVIDERS.values():
        names.update(dict.fromkeys(spec.key_envs))
    return tuple(names)


def key_values(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The configured API keys worth searching for: env var name → value."""
    source = os.environ if env is None else env
    return {
        name: value
        for name in key_env_vars()
        if len(value := source.get(name, "").strip()) >= _MIN_KEY_LENGTH
    }


def request_secrets(headers: Iterable[tuple[str, str]], url: str) -> dict[str, str]:
    """The credentials a request carries, before redaction: what they are → value.

    The values of its secret headers (a ``Bearer`` prefix stripped; each
    cookie's value as well as the whole header), of its secret query
    parameters and of its URL's userinfo. Empty values, placeholders
    (:data:`REDACTED`) and values too short to search for are left out.
    """
    found: list[tuple[str, str]] = []
    for header, value in headers:
        lowered = header.lower()
        if lowered not in SECRET_HEADERS:
            continue
        found.append((f"the {lowered} header of a recorded request", value))
        if lowered == "cookie":
            found.extend(
                (f"the {cookie} cookie of a recorded request", morsel)
                for cookie, morsel in _cookies(value)
            )
    query = urlsplit(url).query
    for name, value in parse_qsl(query, keep_blank_values=True) if query else ():
        if name.lower() in SECRET_PARAMS:
            found.append((f"the {name.lower()} query parameter of a recorded request", value))
    if has_userinfo(url):
        found.extend(
            ("the userinfo of a recorded request's URL", value) for value in url_credentials(url)
        )
    return add_secrets({}, found)


def add_secrets(secrets: dict[str, str], found: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Add the ``(what, value)`` pairs of ``found`` to ``secrets`` (what → value); returns it.

    Values are cleaned as :func:`request_secrets` describes, and each is kept
    once; two different values of one kind (two requests, two keys) are both
    kept, the second named ``... (#2)``.
    """
    known = set(secrets.values())
    for what, raw in found:
        value = raw.strip()
        if value.lower().startswith(_BEARER):
            value = value[len(_BEARER) :].strip()
        if len(value) < _MIN_KEY_LENGTH or value == REDACTED or value in known:
            continue
        name, number = what, 2
        while name in secrets:
            name, number = f"{what} (#{number})", number + 1
        secrets[name] = value
        known.add(value)
    return secrets


def _cookies(header: str) -> list[tuple[str, str]]:
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(header)
    except CookieError:
        return []  # a malformed header: its whole value is still searched for
    return [(name, morsel.value) for name, morsel in cookies.items()]


def find_leaks(text: str | Iterable[str], secrets: Mapping[str, str]) -> list[str]:
    """The names of the ``secrets`` (name → value) whose value occurs in ``text``, sorted.

    ``text`` is one text or several, each searched on its own.
    """
    texts = [text] if isinstance(text, str) else list(text)
    return sorted(
        name
        for name, value in secrets.items()
        if len(value) >= _MIN_KEY_LENGTH and any(value in each for each in texts)
    )


def find_cassette_leaks(
    data: bytes, cassette: CassetteFile, secrets: Mapping[str, str]
) -> list[str]:
    """:func:`find_leaks` over ``data`` (``cassette`` encoded) and its :func:`hidden_texts`.

    Also every credential *shape* (:func:`~exllm_py.secret_patterns.find_secrets`)
    in a recorded header or URL: a header no list names (a gateway's own)
    may still carry a key, and no configured value would find it.
    """
    hidden = (text for _, text in hidden_texts(cassette.interactions))
    return find_leaks([data.decode("utf-8"), *hidden], secrets) + _shaped_secrets(cassette)


def _shaped_secrets(cassette: CassetteFile) -> list[str]:
    found = []
    for index, item in enumerate(cassette.interactions):
        places = [("request.url", item.request.url)]
        places += [(f"request header {name!r}", value) for name, value in item.request.headers]
        places += [(f"response header {name!r}", value) for name, value in item.response.headers]
        for place, text in places:
            found += [f"{kind} in interactions[{index}].{place}" for kind, _ in find_secrets(text)]
    return found


def hidden_texts(interactions: Iterable[Interaction]) -> Iterator[tuple[str, str]]:
    """What the bodies say that their stored form does not show as text: ``(where, text)``.

    For a streamed body, the data of its events joined, and, when the events
    are JSON, each string field joined across events (the ``content`` of
    every delta, in order): a key the model streams in two pieces is whole
    only there. For a ``base64`` body, the decoded bytes, read as Latin-1
    (every byte a character, so an ASCII key shows as itself) and as UTF-8.
    For a request URL with percent-escapes, the URL unescaped.
    """
    for index, item in enumerate(interactions):
        if "%" in item.request.url:
            yield f"the unescaped URL of interactions[{index}].request", unquote(item.request.url)
        for part, body in (("request", item.request.body), ("response", item.response.body)):
            where = f"interactions[{index}].{part}"
            if body.kind == "sse":
                for text in _stream_texts(body.value):
                    yield f"the joined events of {where}", text
            elif body.kind == "base64":
                for text in _decoded_texts(body.value):
                    yield f"the decoded base64 body of {where}", text


def _stream_texts(raw_events: Iterable[str]) -> list[str]:
    decoder = SSEDecoder()
    events = decoder.feed("".join(f"{raw}\n\n" for raw in raw_events).encode("utf-8"))
    events += decoder.close()
    datas = [event.data for event in events]
    joined: dict[str, list[str]] = {}
    for data in datas:
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue
        for path, text in _strings(payload, ""):
            joined.setdefault(path, []).append(text)
    # Every path, even one seen once: its string is decoded, so a key written
    # with JSON escapes (``\u002d`` for "-") shows as itself only here.
    return ["".join(datas), *("".join(pieces) for pieces in joined.values())]


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a JSON document, with the path that leads to it.

    An object with an integer ``index`` field is told apart by it, not only
    by where it stands: each event of a stream with ``n=2`` holds one choice,
    always at ``choices[0]``, and its ``index`` says which; a tool call's
    ``index`` and an Anthropic content block's do the same.
    """
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        index = value.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            path = f"{path}#{index}"
        for name, item in value.items():
            yield from _strings(item, f"{path}.{name}")
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _strings(item, f"{path}[{number}]")


def _decoded_texts(value: Any) -> list[str]:
    try:
        content = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return []  # not base64 at all: the stored text is all there is
    return [content.decode("latin-1"), content.decode("utf-8", errors="replace")]
