"""Request matching: the key a request is recorded under and looked up by.

A key is made of the method, the canonical URL, the matched headers and the
canonical body:

- **URL**: scheme, host and path as given, the default port dropped, query
  parameters sorted (their order never matters) and credential parameters
  (``key``, ``api_key``) left out, since a replay may run without a key.
- **Headers**: every request header except the credentials (a keyless
  replay sends none) and the ignored ones: by default those a transport or
  a tracing library adds (:data:`DEFAULT_IGNORED_HEADERS`), plus any the
  user configures. An entry ending in ``*`` ignores a prefix.
- **Body**: JSON bodies as orjson dumps them with sorted keys, so key order
  never matters, after removing the ignored body paths (``metadata.user_id``;
  ``*`` for every element, digits for a list index); other bodies as bytes.

Keys are plain tuples, so a cassette indexes its interactions in a dict and
every lookup is one hash. When nothing matches, :func:`closest_diff`
explains the miss as a diff against the closest recorded request.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias
from urllib.parse import urlencode

import attrs
import httpx
import orjson

from exllm_py.testing.redact import SECRET_HEADERS, SECRET_PARAMS, redact_url

__all__ = [
    "DEFAULT_IGNORED_HEADERS",
    "MatchKey",
    "Matcher",
    "canonical_url",
    "canonical_url_text",
    "closest_diff",
    "header_pairs",
    "key_digest",
]

#: Headers that say how a request travelled or whose account sent it, not what it asks:
#: never matched nor recorded. The SDKs' ``x-stainless-*`` (retry count, OS, runtime,
#: package version, async, timeouts) and ``user-agent`` differ between machines, runs
#: and retries; the account's project or workspace (``OPENAI_PROJECT_ID``, a client
#: option) is set where the recording is made and unset in CI, and names an account.
DEFAULT_IGNORED_HEADERS = frozenset(
    {
        "accept-encoding",
        "anthropic-user-profile-id",
        "anthropic-workspace-id",
        "baggage",
        "connection",
        "content-length",
        "expect",
        "host",
        "idempotency-key",
        "keep-alive",
        "openai-project",
        "te",
        "traceparent",
        "tracestate",
        "transfer-encoding",
        "user-agent",
        "x-request-id",
        "x-stainless-*",
    }
)

#: method, canonical URL, matched headers (sorted), canonical body.
MatchKey: TypeAlias = tuple[str, str, tuple[tuple[str, str], ...], bytes]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Part of every key digest: bumped if what a digest covers ever changes.
_DIGEST_VERSION = 1
_SORTED = orjson.OPT_SORT_KEYS
_PRETTY = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2


def _lowercase(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.strip().lower() for name in names if name.strip())


def _split_paths(paths: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(path.split(".")) for path in dict.fromkeys(paths) if path)


@attrs.frozen
class Matcher:
    """Computes match keys; ``ignore_headers`` and ``ignore_body_paths`` add to the defaults."""

    ignore_headers: frozenset[str] = attrs.field(default=frozenset(), converter=_lowercase)
    ignore_body_paths: tuple[tuple[str, ...], ...] = attrs.field(default=(), converter=_split_paths)
    _exact: frozenset[str] = attrs.field(init=False, repr=False)
    _prefixes: tuple[str, ...] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        names = self.ignore_headers | DEFAULT_IGNORED_HEADERS
        # Frozen: derived fields are set once, here, the way attrs documents.
        object.__setattr__(self, "_exact", frozenset(n for n in names if not n.endswith("*")))
        object.__setattr__(
            self, "_prefixes", tuple(sorted(n[:-1] for n in names if n.endswith("*")))
        )

    def is_ignored(self, header: str) -> bool:
        """Whether ``header`` (lowercase) is left out of keys and cassettes."""
        return header in self._exact or header.startswith(self._prefixes)

    def recorded_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """The request headers worth keeping in a cassette (credentials still in), sorted."""
        return sorted(
            (name.lower(), value) for name, value in headers if not self.is_ignored(name.lower())
        )

    def key(
        self, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> MatchKey:
        """The key of a request whose URL and body are already canonical.

        See :func:`canonical_url` and :meth:`canonical_body`.
        """
        matched = tuple(
            sorted(
                (lowered, value)
                for name, value in headers
                if not self.is_ignored(lowered := name.lower()) and lowered not in SECRET_HEADERS
            )
        )
        return (method.upper(), url, matched, body)

    def request_key(self, request: httpx.Request) -> MatchKey:
        """The key of a live request (its body must have been read)."""
        return self.key(
            request.method,
            canonical_url(request.url),
            header_pairs(request.headers),
            self.canonical_body(request.content),
        )

    def canonical_body(self, content: bytes) -> bytes:
        """A request body as it takes part in keys: canonical JSON, else the bytes."""
        if not content:
            return b""
        try:
            document = orjson.loads(content)
        except orjson.JSONDecodeError:
            return content
        return self.canonical_document(document)

    def canonical_document(self, document: Any) -> bytes:
        """A decoded JSON body as it takes part in keys: ignored paths removed, keys sorted."""
        for path in self.ignore_body_paths:
            document = _without(document, path)
        return orjson.dumps(document, option=_SORTED)

    def describe(self, key: MatchKey) -> list[str]:
        """A key as readable lines, for diffs: request line, headers, pretty body."""
        method, url, headers, body = key
        lines = [f"{method} {redact_url(url)}"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if body:
            lines.append("")
            lines.extend(_pretty(body).splitlines())
        return lines


def key_digest(key: MatchKey) -> str:
    """A stable hex digest (SHA-256) of ``key``: the same request always gets the same one.

    It names a recording the way production's ``cache_key`` names an entry.
    The method, URL and headers go in as JSON, then a NUL byte (JSON text
    never holds one, so nothing can shift across it), then the body's bytes.
    """
    method, url, headers, body = key
    digest = hashlib.sha256(orjson.dumps([_DIGEST_VERSION, method, url, headers]))
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def header_pairs(headers: httpx.Headers) -> list[tuple[str, str]]:
    """``(lowercase name, value)`` pairs, as ``headers.multi_items()`` gives them, faster.

    ``multi_items`` re-reads the headers' encoding for every item; ASCII
    headers (nearly all) are decoded directly instead.
    """
    try:
        return [
            (name.decode("ascii").lower(), value.decode("ascii")) for name, value in headers.raw
        ]
    except UnicodeDecodeError:
        return headers.multi_items()


def canonical_url(url: httpx.URL) -> str:
    """Scheme, host, non-default port and path, then the sorted non-credential query."""
    port = url.port
    host = url.host
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if port is not None and port != _DEFAULT_PORTS.get(url.scheme):
        host = f"{host}:{port}"
    base = f"{url.scheme}://{host}{url.path}"
    if not url.query:
        return base
    pairs = sorted(
        (name, value)
        for name, value in url.params.multi_items()
        if name.lower() not in SECRET_PARAMS
    )
    return f"{base}?{urlencode(pairs)}" if pairs else base


@functools.lru_cache(maxsize=1024)
def canonical_url_text(url: str) -> str:
    """:func:`canonical_url` of a URL written as text (a recorded request's).

    Cached: a run's cassettes hold a few URLs many times over, and parsing
    one is most of what reading an interaction's key costs.
    """
    return canonical_url(httpx.URL(url))


def closest_diff(
    wanted: Sequence[str], candidates: Iterable[Sequence[str]]
) -> tuple[float, str] | None:
    """The unified diff from the candidate most like ``wanted`` (lines), and its similarity.

    Candidates with the same request line (method and URL) come first; among
    them, the one with the most lines in common wins, and ties go to the one
    with the most characters in common. ``None`` when there are no candidates.
    """
    scored = [
        (
            bool(lines) and bool(wanted) and lines[0] == wanted[0],
            difflib.SequenceMatcher(None, lines, wanted, autojunk=False).ratio(),
            lines,
        )
        for lines in candidates
    ]
    if not scored:
        return None
    top = max((same, ratio) for same, ratio, _ in scored)
    # Character-level similarity is costlier: only the tied best candidates pay it.
    text = "\n".join(wanted)
    ratio, best = max(
        (difflib.SequenceMatcher(None, "\n".join(lines), text).ratio(), lines)
        for same, line_ratio, lines in scored
        if (same, line_ratio) == top
    )
    diff = difflib.unified_diff(
        list(best), list(wanted), "closest recorded request", "this request", lineterm=""
    )
    return ratio, "\n".join(diff)


def _pretty(body: bytes) -> str:
    try:
        return orjson.dumps(orjson.loads(body), option=_PRETTY).decode()
    except orjson.JSONDecodeError:
        return body.decode("utf-8", errors="replace")


def _without(document: Any, path: tuple[str, ...]) -> Any:
    """``document`` without what ``path`` points at; copies only along the path."""
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        names = list(document) if head == "*" else [head] if head in document else []
        if not names:
            return document
        copy = dict(document)
        for name in names:
            if rest:
                copy[name] = _without(document[name], rest)
            else:
                del copy[name]
        return copy
    if isinstance(document, list):
        if head == "*":
            indices = range(len(document))
        elif head.isdigit() and int(head) < len(document):
            indices = range(int(head), int(head) + 1)
        else:
            return document
        if not rest:
            dropped = set(indices)
            return [item for i, item in enumerate(document) if i not in dropped]
        copy_list = list(document)
        for i in indices:
            copy_list[i] = _without(document[i], rest)
        return copy_list
    return document
