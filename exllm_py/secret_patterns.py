"""What provider API keys and bearer tokens look like, and how to hide or show one.

This is exllm_py's one list of credential shapes. Error messages built from
what a provider answered go through :func:`redact_secrets` before they are
raised, and ``exllm-cache verify`` reports every :func:`find_secrets` match
in a cassette, shown only through :func:`mask`. A shape added to
:data:`PATTERNS` is therefore both kept out of messages and caught in
cassettes.

Each shape is a provider's prefix followed by at least :data:`MIN_LENGTH`
characters of its keys' alphabet (a bearer token: ``Bearer`` and the
token). Real keys are far longer (39 to about 170 characters); words that
merely start like a key (``sk-learn``, ``xai-sdk-python``) are far shorter.
``*`` counts as a key character because providers echo keys partly masked
(``sk-proj-****…****Ab1C``), and even the unmasked ends should go no further.

Credentials also ride in URLs: a password in the userinfo
(``https://alice:S3cret@host``) or in a query parameter such as ``key=``
or ``password=`` (:data:`URL_SECRET_PARAMS`). A URL password is a shape
here too, so that it is found and hidden in any text; a URL itself is only
ever shown or stored through :func:`hide_url_credentials`, exllm_py's one
way of hiding a URL's credentials (what takes their place, and whether
the user name stays, are its parameters: the Redis CLI shows
``redis://user:***@host``, a cassette ``https://host?key=REDACTED``).
:func:`url_credentials` lists a URL's credential values, so that they can
be searched for.

This module imports nothing else of exllm_py, so that every layer can use it.
"""

from __future__ import annotations

import functools
import re
import typing
from urllib.parse import parse_qsl, unquote, unquote_plus

import attrs

__all__ = [
    "MIN_LENGTH",
    "PATTERNS",
    "REDACTED",
    "URL_SECRET_PARAMS",
    "SecretPattern",
    "find_secrets",
    "hide_url_credentials",
    "mask",
    "redact_secrets",
    "url_credentials",
]

#: Characters a key needs after its prefix (a bearer token after ``Bearer``) to count.
MIN_LENGTH = 20

#: What :func:`redact_secrets` puts where a secret was.
REDACTED = "[redacted]"

# A key never continues a longer token: "task-…" and "my-sk-…" hold no "sk-" key.
_EDGE = r"(?<![A-Za-z0-9_-])"
_LONG = f"{{{MIN_LENGTH},}}"
# The alphabets, masking "*" included: OpenAI, Anthropic and Google keys use
# "-" and "_"; Groq and xAI keys are letters and digits; bearer tokens are
# RFC 6750 b64tokens, without a final "." (more likely the end of a sentence).
_KEY = r"[A-Za-z0-9_*-]"
_ALNUM = r"[A-Za-z0-9*]"
_TOKEN = r"[A-Za-z0-9._~+/*-]"
_SHOWN = 8

#: Query parameters whose value is a credential, in a provider's or Redis's URL (lowercase).
URL_SECRET_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "api-key",
        "apikey",
        "password",
        "token",
        "access_token",
        "subscription-key",
        "sig",
    }
)

# Userinfo runs from "scheme://" to the last "@" before the path; greedy, so
# that an unencoded "@" inside a password is not taken for the end.
_USERINFO = re.compile(r"(?<=://)(?P<userinfo>[^/?#\s]*)@")
_QUERY_SECRET = re.compile(r"(?<=[?&])(?P<name>[^=&#\s]+)=(?P<value>[^&#\s]*)")


@attrs.frozen
class SecretPattern:
    """One shape of credential: what to call it (``an Anthropic API key``), and its regex.

    The regex's ``secret`` group is the credential itself; the rest of a
    match (the ``Bearer`` before a token) is context, kept by redaction.
    """

    kind: str
    regex: re.Pattern[str]


def _key(kind: str, prefix: str, body: str) -> SecretPattern:
    return SecretPattern(kind, re.compile(rf"{_EDGE}(?P<secret>{re.escape(prefix)}{body})"))


if typing.TYPE_CHECKING:
    #: Every credential shape; where two overlap (``sk-ant-…`` is also an ``sk-``
    #: key), the earlier one names the match. Compiled on first use
    #: (:func:`_patterns`): every layer imports this module, few redact.
    PATTERNS: tuple[SecretPattern, ...]


@functools.cache
def _patterns() -> tuple[SecretPattern, ...]:
    return (
        _key("an Anthropic API key", "sk-ant-", _KEY + _LONG),
        _key("an OpenAI project API key", "sk-proj-", _KEY + _LONG),
        # OpenAI's older and service-account keys, OpenRouter's sk-or-v1-, DeepSeek's.
        _key("an OpenAI-style API key", "sk-", _KEY + _LONG),
        _key("a Google API key", "AIza", _KEY + "{35,}"),
        _key("a Groq API key", "gsk_", _ALNUM + _LONG),
        _key("an xAI API key", "xai-", _ALNUM + _LONG),
        SecretPattern(
            "a bearer token",
            re.compile(rf"{_EDGE}(?i:bearer)\s+(?P<secret>{_TOKEN}{_LONG}(?<!\.)=*)"),
        ),
        # Only userinfo with a password: "ssh://git@host" names a user, no secret. A
        # password of stars ("user:***@") is one already masked.
        SecretPattern(
            "a password in a URL",
            re.compile(r"(?<=://)(?P<secret>[^\s/?#@:\"'<>\\]*:(?!\*+@)[^\s/?#\"'<>\\]+)@"),
        ),
        SecretPattern(
            "a password in a URL query",
            re.compile(r"(?<=[?&])(?i:password)=(?!\*+(?![^&#\s]))(?P<secret>[^&#\s\"'<>\\]+)"),
        ),
    )


def __getattr__(name: str) -> typing.Any:
    if name == "PATTERNS":
        return _patterns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def find_secrets(text: str) -> list[tuple[str, re.Match[str]]]:
    """Every credential in ``text``, as ``(kind, match)`` in order of appearance.

    ``match[0]`` is the whole match (``Bearer eyJ…``); ``match.span("secret")``
    is where the credential itself is.
    """
    found: list[tuple[str, re.Match[str]]] = []
    for pattern in _patterns():
        for match in pattern.regex.finditer(text):
            start, end = match.span()
            if not any(start < other.end() and other.start() < end for _, other in found):
                found.append((pattern.kind, match))
    return sorted(found, key=lambda pair: pair[1].start())


def redact_secrets(text: str) -> str:
    """``text`` with every credential replaced by :data:`REDACTED` (``Bearer [redacted]``)."""
    pieces: list[str] = []
    position = 0
    for _, match in find_secrets(text):
        start, end = match.span("secret")
        pieces += [text[position:start], REDACTED]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def mask(value: str) -> str:
    """``value`` shown safely: its first characters and its length, ``sk-ant-a… (108 chars)``.

    At most half of ``value`` is shown, so even a short value never appears whole.
    """
    shown = value[: min(_SHOWN, len(value) // 2)]
    return f"{shown}… ({len(value)} char{'' if len(value) == 1 else 's'})"


def hide_url_credentials(url: str, *, replacement: str = REDACTED, keep_user: bool = False) -> str:
    """``url`` as it may be shown or stored: its credentials hidden.

    By default the userinfo is dropped and the value of every
    :data:`URL_SECRET_PARAMS` query parameter (its name matched in any case,
    percent-escaped or not) becomes ``replacement``:
    ``https://alice:S3cret@host/v1?key=…`` becomes
    ``https://host/v1?key=[redacted]``. With ``keep_user``, the user name
    stays and only a password is replaced (``redis://alice:***@host``).
    Works on text rather than a parsed URL, so a URL too malformed to parse
    is still cleaned, and a URL with nothing to hide comes back unchanged
    (the very same string).
    """
    hidden = url
    if "@" in hidden:
        hidden = _USERINFO.sub(
            lambda match: _hidden_userinfo(match, replacement, keep_user), hidden, count=1
        )
    if "?" in hidden:
        hidden = _QUERY_SECRET.sub(lambda match: _hidden_parameter(match, replacement), hidden)
    return url if hidden == url else hidden


def url_credentials(url: str) -> list[str]:
    """The credential values ``url`` carries: userinfo and secret query values, raw and decoded."""
    found: list[str] = []
    userinfo = _USERINFO.search(url)
    if userinfo is not None:
        for part in userinfo[0][:-1].split(":", 1):
            found += [part, unquote(part)]
    _, _, query = url.partition("?")
    for name, value in parse_qsl(query.partition("#")[0], keep_blank_values=True):
        if name.lower() in URL_SECRET_PARAMS:
            found.append(value)
    return [value for value in dict.fromkeys(found) if value]


def _hidden_userinfo(match: re.Match[str], replacement: str, keep_user: bool) -> str:
    if not keep_user:
        return ""
    user, colon, _ = match["userinfo"].partition(":")
    return f"{user}:{replacement}@" if colon else match[0]


def _hidden_parameter(match: re.Match[str], replacement: str) -> str:
    name = unquote_plus(match["name"]).lower()
    if name not in URL_SECRET_PARAMS or not match["value"]:
        return match[0]
    return f"{match['name']}={replacement}"
