"""What ``verify`` checks in each cassette, and across cassettes.

Per file: it parses as JSON without repeated keys (a reader silently keeps
the last one, which hides a botched merge); its format version is the one
this exllm_py reads; it decodes as a cassette; every ``recorded_at`` is a
time; credential headers and key query parameters are redacted, and no
request URL carries userinfo (``https://alice:S3cret@host``); and its text
holds neither a configured API key's value nor anything shaped like a
provider key (:data:`~exllm_py.secret_patterns.PATTERNS`): redaction only
knows where keys usually travel, and a key can also be pasted into a prompt
or echoed in an error body. The text searched includes what the file does
not show as text (:func:`~exllm_py.testing.redact.hidden_texts`): a
streamed answer's events joined, a ``base64`` body decoded. A key-shaped
finding is reported masked, so that the report itself (a CI log) never
carries the secret. Across files: no two
names differ only in case (they collide on macOS and Windows checkouts) and
no two cassettes claim the same test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from exllm_py.cli.inventory import parse_time
from exllm_py.errors import RecordingCorrupt
from exllm_py.secret_patterns import find_secrets, mask
from exllm_py.testing.cassette_file import FORMAT_VERSION, CassetteFile, decode_cassette
from exllm_py.testing.paths import cassette_path_for
from exllm_py.testing.redact import (
    REDACTED,
    find_leaks,
    has_userinfo,
    hidden_texts,
    is_secret_header,
    redact_url,
)

__all__ = ["FileReport", "Problem", "check_file", "check_together"]

_REWRITE = "re-record it (--exllm-record-mode=rewrite)"


@attrs.frozen
class Problem:
    """One thing wrong with one file.

    ``kind`` is ``corrupt``, ``format``, ``redaction``, ``secret`` or ``duplicate``.
    """

    file: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}: {self.message}"


@attrs.frozen
class FileReport:
    """The problems of one file, and the test its metadata names (for the checks across files)."""

    path: Path
    shown: str
    problems: tuple[Problem, ...]
    test: str | None = None


def check_file(path: Path, shown: str, secrets: Mapping[str, str]) -> FileReport:
    """Every per-file check on the cassette at ``path`` (``shown`` names it in messages)."""
    problems: list[Problem] = []

    def problem(kind: str, message: str) -> None:
        problems.append(Problem(shown, kind, message))

    try:
        data = path.read_bytes()
    except OSError as exc:
        problem("corrupt", f"cannot be read: {exc.strerror or exc}")
        return FileReport(path, shown, tuple(problems))
    text = data.decode("utf-8", errors="replace")
    for kind, match in find_secrets(text):
        line = text.count("\n", 0, match.start()) + 1
        problem("secret", f"line {line}: looks like {kind}: {mask(match[0])}")
    for name in find_leaks(text, secrets):
        problem("secret", f"contains the value of {name}, the API key set in the environment")
    repeated: list[str] = []
    try:
        document = json.loads(text, object_pairs_hook=_pairs_noting(repeated))
    except ValueError:
        document = None  # decode_cassette below says what is wrong, as the plugin would
    for key in dict.fromkeys(repeated):
        problem("duplicate", f"a JSON object repeats the key {key!r}; readers keep only the last")
    version = document.get("version") if isinstance(document, dict) else None
    if isinstance(version, int) and version != FORMAT_VERSION:
        problem(
            "format",
            f"format version {version}, but this exllm_py reads version {FORMAT_VERSION}; "
            + _REWRITE,
        )
        return FileReport(path, shown, tuple(problems))
    try:
        cassette = decode_cassette(data, shown)
    except RecordingCorrupt as exc:
        problem("corrupt", str(exc))
        return FileReport(path, shown, tuple(problems))
    for kind, message in _content_problems(cassette):
        problem(kind, message)
    for kind, message in _hidden_secrets(cassette, text, secrets):
        problem(kind, message)
    return FileReport(path, shown, tuple(problems), cassette.metadata.get("test") or None)


def check_together(reports: Sequence[FileReport], cassette_dir: Path) -> list[Problem]:
    """The problems only visible across files: case collisions, two cassettes for one test."""
    problems: list[Problem] = []
    by_folded: dict[str, list[FileReport]] = {}
    by_test: dict[str, list[FileReport]] = {}
    for report in reports:
        by_folded.setdefault(str(report.path).casefold(), []).append(report)
        if report.test:
            by_test.setdefault(report.test, []).append(report)
    for group in by_folded.values():
        for report in group[1:]:
            problems.append(
                Problem(
                    report.shown,
                    "duplicate",
                    f"its name differs from {group[0].shown} only in case; the two collide "
                    "on case-insensitive file systems (macOS, Windows)",
                )
            )
    for test, group in by_test.items():
        if len(group) < 2:
            continue
        home = cassette_path_for(cassette_dir, test)
        for report in group:
            if report.path == home:
                continue
            others = ", ".join(other.shown for other in group if other is not report)
            problems.append(
                Problem(
                    report.shown,
                    "duplicate",
                    f"its metadata names the test {test}, as {others} does; that test's "
                    f"cassette is {home.name} in {home.parent.name}, so this one is a copy "
                    "(remove it, or re-record it under its own test)",
                )
            )
    return problems


def _content_problems(cassette: CassetteFile) -> Iterable[tuple[str, str]]:
    for index, item in enumerate(cassette.interactions):
        where = f"interactions[{index}]"
        if parse_time(item.recorded_at) is None:
            yield "format", f"{where}.recorded_at {item.recorded_at!r} is not an ISO 8601 time"
        for part, headers in (
            ("request", item.request.headers),
            ("response", item.response.headers),
        ):
            for name, value in headers:
                if is_secret_header(name) and value != REDACTED:
                    yield "redaction", f"{where}.{part}.headers.{name} is not redacted"
        url = item.request.url
        if has_userinfo(url):
            yield (
                "redaction",
                f"{where}.request.url carries userinfo (a user name or password before '@'); "
                "remove it from the file, or " + _REWRITE,
            )
        elif redact_url(url) != url:
            yield "redaction", f"{where}.request.url carries an unredacted key parameter"


def _hidden_secrets(
    cassette: CassetteFile, shown: str, secrets: Mapping[str, str]
) -> Iterable[tuple[str, str]]:
    # Only what the file's text (``shown``) does not show already: that was reported.
    reported = set(find_leaks(shown, secrets))
    seen: set[str] = set()
    for where, text in hidden_texts(cassette.interactions):
        for kind, match in find_secrets(text):
            if match[0] not in shown and match[0] not in seen:
                seen.add(match[0])
                yield "secret", f"{where} holds what looks like {kind}: {mask(match[0])}"
        for name in find_leaks(text, secrets):
            if name in reported:
                continue
            reported.add(name)
            yield (
                "secret",
                f"{where} contains the value of {name}, the API key set in the environment",
            )


def _pairs_noting(
    repeated: list[str],
) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for key, value in items:
            if key in document:
                repeated.append(key)
            document[key] = value
        return document

    return pairs
