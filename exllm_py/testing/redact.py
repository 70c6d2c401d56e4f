"""Keeping secrets off disk: redaction of credentials, and the leak check before a save.

Two lines of defence, both applied on every path that writes a cassette:

1. **Redaction.** The credential headers in :data:`SECRET_HEADERS` and the
   query parameters in :data:`SECRET_PARAMS` are replaced by
   :data:`REDACTED`, in requests and responses, whatever their case.
2. **The leak check.** Redaction only knows where keys usually travel; a
   key can also be echoed in an error body or sit in a header nobody
   thought of. So before a cassette is written, its serialized text is
   searched for the value of every API key the providers read from the
   environment; a hit refuses the save (:class:`RecordingRefused`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from exllm_py.errors import RecordingRefused

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_PARAMS",
    "RecordingRefused",
    "find_leaks",
    "is_secret_header",
    "key_env_vars",
    "key_values",
    "redact_headers",
    "redact_url",
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


def find_leaks(text: str, secrets: Mapping[str, str]) -> list[str]:
    """The names of the ``secrets`` (name → value) whose value occurs in ``text``, sorted."""
    return sorted(
        name for name, value in secrets.items() if len(value) >= _MIN_KEY_LENGTH and value in text
    )
