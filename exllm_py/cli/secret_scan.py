"""Finding text that looks like a provider credential, for ``verify``.

Redaction only knows where keys usually travel; a key can also be pasted
into a prompt, echoed in an error body, or arrive in a header nobody
listed. So ``verify`` searches every cassette's text for the shapes of
provider keys. Each finding shows only a masked prefix, so that the
report itself (a CI log) never carries the secret.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["PATTERNS", "Finding", "mask", "scan_text"]

_EDGE = r"(?<![A-Za-z0-9_-])"

#: What each kind of credential looks like; earlier patterns win where two overlap.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Anthropic API key", re.compile(_EDGE + r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("an OpenAI-style API key", re.compile(_EDGE + r"sk-[A-Za-z0-9_-]{20,}")),
    ("a Google API key", re.compile(_EDGE + r"AIza[0-9A-Za-z_-]{35}")),
    ("a Groq API key", re.compile(_EDGE + r"gsk_[A-Za-z0-9]{20,}")),
    ("an xAI API key", re.compile(_EDGE + r"xai-[A-Za-z0-9]{20,}")),
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*")),
)

_SHOWN = 8


@attrs.frozen
class Finding:
    """Something that looks like a credential: what kind, on which line, masked."""

    kind: str
    line: int
    masked: str


def mask(value: str) -> str:
    """The first characters of ``value`` and its length: ``sk-ant-a… (108 chars)``."""
    return f"{value[:_SHOWN]}… ({len(value)} chars)"


def scan_text(text: str) -> list[Finding]:
    """Every credential-like value in ``text``, in order of appearance."""
    taken: list[tuple[int, int]] = []
    findings: list[tuple[int, Finding]] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            line = text.count("\n", 0, start) + 1
            findings.append((start, Finding(kind, line, mask(match[0]))))
    return [finding for _, finding in sorted(findings, key=lambda pair: pair[0])]
