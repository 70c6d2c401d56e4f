"""Tests for exllm_py.secret_patterns: the credential shapes, redaction, and masking."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import exllm_py.secret_patterns
from exllm_py.secret_patterns import (
    MIN_LENGTH,
    PATTERNS,
    find_secrets,
    hide_url_credentials,
    mask,
    redact_secrets,
    url_credentials,
)

# Built at run time so that no key-shaped literal sits in the repository. Each
# has the length and alphabet of the real thing.
ANTHROPIC_KEY = "sk-ant-" + "api03-" + "Qw3rTy9_uI-o" * 7 + "p" * 10 + "AA"
OPENAI_PROJECT_KEY = "sk-" + "proj-" + "A1b2C3d4e5F6g7H8i9J0_k-L" * 6 + "T3BlbkFJ" + "x" * 8
OPENAI_LEGACY_KEY = "sk-" + "9fK2mQ7xVb3nRt8wYz1cLp4d" * 2
OPENROUTER_KEY = "sk-" + "or-v1-" + "0123456789abcdef" * 4
GOOGLE_KEY = "AIza" + "SyD" + "4fG7hJ2kL9mN1pQ3rS5tU8vW0xY6z_-A"
GROQ_KEY = "gsk_" + "aB3dE6fG9hJ2kL5mN8pQ1rS4tU7vW0xY3zA6bC9dE2fG5hJ8kL1m"[:52]
XAI_KEY = "xai-" + "Zx9Wv8Ut7SrQ6pOn5MlK4jIh3GfE2dCb1A" * 2 + "0123456789AB"
JWT = (
    "eyJhbGciOiJIUzI1NiJ9"
    + "."
    + "eyJzdWIiOiIxMjM0In0"
    + "."
    + "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

KEYS = [
    ("an Anthropic API key", ANTHROPIC_KEY),
    ("an OpenAI project API key", OPENAI_PROJECT_KEY),
    ("an OpenAI-style API key", OPENAI_LEGACY_KEY),
    ("an OpenAI-style API key", OPENROUTER_KEY),
    ("a Google API key", GOOGLE_KEY),
    ("a Groq API key", GROQ_KEY),
    ("an xAI API key", XAI_KEY),
]

ORDINARY = [
    "The model `gpt-4o` does not exist or you do not have access to it.",
    "We use sk-learn and the xai-sdk-python package.",
    "gsk_example and AIzaTheBoss are not keys.",
    "risk-management-frameworks-for-large-enterprises",
    "task-oriented-dialogue-systems-with-many-turns",
    "Use bearer authentication for every request.",
    "authorization: Bearer REDACTED",
    'the header was "Bearer YOUR_API_KEY"',
    "clone ssh://git@github.com/org/repo and mail bob@example.com",
    "redis://user:***@localhost:6379/0?password=***",
]


class TestPatterns:
    """Each shape finds realistic keys of its provider, and nothing in ordinary text."""

    @pytest.mark.parametrize(("kind", "key"), KEYS)
    def test_each_key_shape_is_found_and_named(self, kind: str, key: str) -> None:
        [(found_kind, match)] = find_secrets(f'{{"error": "bad key {key}, try again"}}')
        assert found_kind == kind
        assert match[0] == key

    def test_a_bearer_token_is_found_with_its_scheme(self) -> None:
        [(kind, match)] = find_secrets(f"Authorization: Bearer {JWT}\n")
        assert kind == "a bearer token"
        assert match[0] == f"Bearer {JWT}"
        assert match["secret"] == JWT

    def test_the_scheme_is_matched_in_any_case(self) -> None:
        assert [kind for kind, _ in find_secrets(f"authorization: bearer {JWT}")] == [
            "a bearer token"
        ]

    @pytest.mark.parametrize("text", ORDINARY)
    def test_ordinary_text_holds_no_secret(self, text: str) -> None:
        assert find_secrets(text) == []
        assert redact_secrets(text) == text

    @pytest.mark.parametrize("prefix", ["sk-", "gsk_", "xai-", "Bearer "])
    def test_a_key_needs_min_length_characters_after_its_prefix(self, prefix: str) -> None:
        body = "a1B2c3D4e5" * 3
        assert find_secrets(prefix + body[: MIN_LENGTH - 1]) == []
        assert len(find_secrets(prefix + body[:MIN_LENGTH])) == 1

    def test_a_key_inside_a_longer_token_is_not_one(self) -> None:
        assert find_secrets("my-" + OPENAI_LEGACY_KEY) == []
        assert find_secrets("task-" + OPENAI_LEGACY_KEY[3:]) == []

    def test_a_partly_masked_key_still_counts(self) -> None:
        masked = "sk-" + "abc12" + "*" * 40 + "wxyz"
        assert [kind for kind, _ in find_secrets(masked)] == ["an OpenAI-style API key"]

    def test_where_shapes_overlap_the_first_listed_names_the_match(self) -> None:
        [(kind, match)] = find_secrets(f"Bearer {ANTHROPIC_KEY}")
        assert kind == "an Anthropic API key"
        assert match[0] == ANTHROPIC_KEY

    def test_findings_come_in_order_of_appearance(self) -> None:
        text = f"{GROQ_KEY} then Bearer {JWT} then {ANTHROPIC_KEY}"
        assert [kind for kind, _ in find_secrets(text)] == [
            "a Groq API key",
            "a bearer token",
            "an Anthropic API key",
        ]

    def test_every_pattern_names_its_secret_group(self) -> None:
        for pattern in PATTERNS:
            assert "secret" in pattern.regex.groupindex, pattern.kind


class TestRedactSecrets:
    """Every secret is replaced; the text around it, the Bearer scheme included, stays."""

    @pytest.mark.parametrize(("kind", "key"), KEYS)
    def test_each_key_is_replaced(self, kind: str, key: str) -> None:
        assert redact_secrets(f"bad key {key}, try again") == "bad key [redacted], try again"

    def test_the_bearer_scheme_stays(self) -> None:
        assert redact_secrets(f"header was Bearer {JWT}.") == "header was Bearer [redacted]."

    def test_several_secrets_in_one_text(self) -> None:
        text = f"{XAI_KEY}, {GOOGLE_KEY} and bearer {JWT}"
        assert redact_secrets(text) == "[redacted], [redacted] and bearer [redacted]"


class TestUrlCredentials:
    """A URL's userinfo and credential query values are shapes, listed, and hidden when shown."""

    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            ("could not reach http://alice:S3cret@host/v1", "a password in a URL"),
            ("redis://:pw@localhost:6379/0", "a password in a URL"),
            ("redis://localhost/0?db=1&password=pw", "a password in a URL query"),
        ],
    )
    def test_a_url_password_is_a_secret(self, text: str, kind: str) -> None:
        assert [found for found, _ in find_secrets(text)] == [kind]
        assert "pw" not in redact_secrets(text).replace("password", "")
        assert "S3cret" not in redact_secrets(text)

    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("http://alice:S3cret@host/v1", "http://host/v1"),
            ("http://alice@host/v1", "http://host/v1"),
            ("http://alice:p@ss@host:8080/v1", "http://host:8080/v1"),
            ("https://host/v1?alt=sse&key=AIza123", "https://host/v1?alt=sse&key=[redacted]"),
            ("redis://h/0?Password=pw&db=1", "redis://h/0?Password=[redacted]&db=1"),
            ("http://[::1/broken?token=t0k", "http://[::1/broken?token=[redacted]"),
        ],
    )
    def test_hide_url_credentials(self, url: str, shown: str) -> None:
        assert hide_url_credentials(url) == shown

    def test_a_url_with_nothing_to_hide_is_returned_unchanged(self) -> None:
        url = "https://api.openai.com/v1/chat/completions?alt=sse"
        assert hide_url_credentials(url) == url

    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("redis://alice:S3cret@h/0?password=pw", "redis://alice:***@h/0?password=***"),
            ("redis://:pw@h/0", "redis://:***@h/0"),
            ("redis://a@b:p@ss@h/0", "redis://a@b:***@h/0"),
            ("redis://alice@h/0", "redis://alice@h/0"),
        ],
    )
    def test_the_replacement_and_the_user_name_are_parameters(self, url: str, shown: str) -> None:
        assert hide_url_credentials(url, replacement="***", keep_user=True) == shown

    def test_a_percent_escaped_parameter_name_is_still_a_secret(self) -> None:
        url = "https://host/v1?k%65y=AIza123&API%5FKEY=k2&q=a%20b"
        assert (
            hide_url_credentials(url, replacement="R")
            == "https://host/v1?k%65y=R&API%5FKEY=R&q=a%20b"
        )

    def test_nothing_to_hide_returns_the_same_string(self) -> None:
        url = "https://host/v1?alt=sse&key="
        assert hide_url_credentials(url) is url

    def test_url_credentials_lists_raw_and_decoded_values(self) -> None:
        url = "https://alice:p%40ss@host/v1?api_key=k123&model=m"
        assert url_credentials(url) == ["alice", "p%40ss", "p@ss", "k123"]
        assert url_credentials("https://host/v1") == []


class TestMask:
    """A masked value shows a short prefix and the length, never the value itself."""

    def test_a_key_shows_its_first_eight_characters_and_length(self) -> None:
        assert mask(ANTHROPIC_KEY) == f"sk-ant-a… ({len(ANTHROPIC_KEY)} chars)"

    @pytest.mark.parametrize(("kind", "key"), [*KEYS, ("a bearer token", f"Bearer {JWT}")])
    def test_no_key_appears_in_its_mask(self, kind: str, key: str) -> None:
        assert key not in mask(key)
        assert key[8:16] not in mask(key)

    @pytest.mark.parametrize(
        ("value", "masked"),
        [("", "… (0 chars)"), ("x", "… (1 char)"), ("abcd", "ab… (4 chars)")],
    )
    def test_a_short_value_shows_at_most_half(self, value: str, masked: str) -> None:
        assert mask(value) == masked

    @given(st.text(min_size=1))
    def test_the_shown_part_is_a_proper_prefix(self, value: str) -> None:
        shown, _, rest = mask(value).rpartition("… (")
        assert value.startswith(shown)
        assert len(shown) <= min(8, len(value) // 2)
        assert rest.startswith(f"{len(value)} char")


class TestModule:
    """The module stands alone, so that any layer of exllm_py can import it."""

    def test_it_imports_nothing_of_exllm_py(self) -> None:
        source = Path(exllm_py.secret_patterns.__file__).read_text(encoding="utf-8")
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        assert not [name for name in imported if name.split(".")[0] == "exllm_py"]
