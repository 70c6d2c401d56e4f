"""Keeping secrets off disk: redaction of credentials, and the leak check before a save.

Two lines of defence, both applied on every path that writes a cassette:

1. **Redaction.** The credential headers in :data:`SECRET_HEADERS` and the
   query parameters in :data:`SECRET_PARAMS` are replaced by
   :data:`REDACTED`, in requests and responses, whatever their case.
2. **The leak check.** Redaction only knows where keys usually travel; a
   key can also be echoed in an error body or sit in a header nobody
   thought of. So before a cassette is written, its serialized text is
   searched for the value of every API key the providers read from the
   environment (:func:`key_values`) and of every credential the recorded
   requests carried (:func:`request_secrets`: a key given as ``api_key=``
   on the call is in no variable); a hit refuses the save
   (:class:`RecordingRefused`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from exllm_py.errors import RecordingRefused

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_PARAMS",
    "RecordingRefused",
    "add_secrets",
    "find_leaks",
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
    }
)

#: Query parameters that carry credentials (lowercase; matched case-insensitively).
SECRET_PARAMS = frozenset({"key", "api_key"})

# Shorter values are not searched for: a test that sets OPENAI_API_KEY=test
# would otherwise refuse every cassette that contains the word "test". Real
# keys are far longer; short ones are still redacted from headers and URLs.
_MIN_KEY_LENGTH = 8
_BEARER = "bearer "


def is_secret_header(name: str) -> bool:
    """Whether the header ``name`` (any case) carries a credential."""
    return name.lower() in SECRET_HEADERS


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with every credential's value replaced by :data:`REDACTED`."""
    return [
        (name, REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in headers
    ]


def redact_url(url: str) -> str:
    """``url`` with the values of its ``key`` / ``api_key`` query parameters redacted.

    A URL without such a parameter is returned unchanged (not re-encoded), so
    redaction never alters what it has no reason to touch.
    """
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(name.lower() in SECRET_PARAMS for name, _ in pairs):
        return url
    query = urlencode(
        [(name, REDACTED if name.lower() in SECRET_PARAMS else value) for name, value in pairs]
    )
    return urlunsplit(parts._replace(query=query))


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
    cookie's value as well as the whole header) and of its secret query
    parameters. Empty values, placeholders (:data:`REDACTED`) and values too
    short to search for are left out.
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


def find_leaks(text: str, secrets: Mapping[str, str]) -> list[str]:
    """The names of the ``secrets`` (name → value) whose value occurs in ``text``, sorted."""
    return sorted(
        name for name, value in secrets.items() if len(value) >= _MIN_KEY_LENGTH and value in text
    )
