"""Tests for exllm_py.testing.redact: credentials never reach a cassette."""

from __future__ import annotations

import pytest

from exllm_py.testing.redact import (
    REDACTED,
    SECRET_HEADERS,
    SECRET_PARAMS,
    add_secrets,
    find_leaks,
    has_userinfo,
    key_env_vars,
    key_values,
    redact_headers,
    redact_url,
    request_secrets,
)


def _cases(name: str) -> list[str]:
    return [name, name.upper(), name.title(), name[0].upper() + name[1:]]


class TestRedactHeaders:
    """Every credential header is redacted whatever its case; other headers are kept."""

    @pytest.mark.parametrize(
        "name", [case for header in sorted(SECRET_HEADERS) for case in _cases(header)]
    )
    def test_secret_header_in_any_case_is_redacted(self, name: str) -> None:
        assert redact_headers([(name, "sk-live-123456789")]) == [(name, REDACTED)]

    def test_the_listed_headers_are_the_contract_and_proxy_credentials(self) -> None:
        contract = {
            "authorization",
            "x-api-key",
            "api-key",
            "x-goog-api-key",
            "cookie",
            "set-cookie",
            "openai-organization",
        }
        proxies = {"proxy-authorization", "x-amz-security-token", "ocp-apim-subscription-key"}
        assert contract | proxies == SECRET_HEADERS

    @pytest.mark.parametrize(
        "name", ["Helicone-Auth", "x-portkey-api-key", "X-CSRF-Token", "x-client-secret"]
    )
    def test_gateway_credential_headers_are_redacted_by_their_ending(self, name: str) -> None:
        """A header named like a credential (-auth, -api-key, -token, -secret) is redacted."""
        assert redact_headers([(name, "opaque-value-1234")]) == [(name, REDACTED)]

    @pytest.mark.parametrize("name", ["x-ratelimit-remaining-tokens", "x-request-id", "accept"])
    def test_headers_that_merely_mention_tokens_are_kept(self, name: str) -> None:
        assert redact_headers([(name, "42")]) == [(name, "42")]

    def test_other_headers_are_kept(self) -> None:
        headers = [("content-type", "application/json"), ("anthropic-version", "2023-06-01")]
        assert redact_headers(headers) == headers


class TestRedactUrl:
    """The key and api_key query parameters are redacted in any case; the rest is untouched."""

    @pytest.mark.parametrize(
        "name", [case for param in sorted(SECRET_PARAMS) for case in _cases(param)]
    )
    def test_secret_param_in_any_case_is_redacted(self, name: str) -> None:
        url = f"https://example.com/v1/models?alt=sse&{name}=AIzaSecretValue"
        redacted = redact_url(url)
        assert "AIzaSecretValue" not in redacted
        assert f"{name}={REDACTED}" in redacted
        assert "alt=sse" in redacted

    def test_url_without_secrets_is_returned_unchanged(self) -> None:
        url = "https://example.com/v1/x?b=%2F&a=1"
        assert redact_url(url) is url

    def test_the_other_parameters_are_not_re_encoded(self) -> None:
        url = "https://example.com/v1/x?q=a%20b&key=k-123&path=%2F"
        assert redact_url(url) == f"https://example.com/v1/x?q=a%20b&key={REDACTED}&path=%2F"

    def test_a_url_too_malformed_to_parse_is_redacted_too(self) -> None:
        url = "http://alice:S3cret@[::1/v1?key=k-123"
        assert redact_url(url) == f"http://[::1/v1?key={REDACTED}"

    @pytest.mark.parametrize("userinfo", ["alice:S3cret@", "alice@", ":S3cret@", "a:p@ss@"])
    def test_userinfo_is_dropped(self, userinfo: str) -> None:
        url = f"http://{userinfo}gateway.example:8080/v1/chat?key=k-123"
        assert has_userinfo(url)
        assert redact_url(url) == f"http://gateway.example:8080/v1/chat?key={REDACTED}"
        assert not has_userinfo(redact_url(url))


class TestKeyValues:
    """The leak check searches for the values of the providers' key variables."""

    def test_variables_come_from_the_provider_registry(self) -> None:
        names = key_env_vars()
        for name in (
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "GEMINI_API_KEY",
            "GOOGLE_API_KEY",
            "GROQ_API_KEY",
            "LMSTUDIO_API_KEY",
        ):
            assert name in names

    def test_set_and_long_enough_values_are_returned(self) -> None:
        env = {"OPENAI_API_KEY": "sk-abcdefgh1234", "ANTHROPIC_API_KEY": "short", "OTHER": "x" * 20}
        assert key_values(env) == {"OPENAI_API_KEY": "sk-abcdefgh1234"}

    def test_find_leaks_names_the_variables_whose_value_occurs(self) -> None:
        secrets = {"OPENAI_API_KEY": "sk-abcdefgh1234", "GEMINI_API_KEY": "AIza-never-seen"}
        assert find_leaks('{"echo": "sk-abcdefgh1234"}', secrets) == ["OPENAI_API_KEY"]
        assert find_leaks("nothing here", secrets) == []


class TestRequestSecrets:
    """A request's own credentials are searched for too: a per-call key is in no variable."""

    def test_secret_headers_and_parameters_are_taken_without_bearer(self) -> None:
        headers = [
            ("Authorization", "Bearer sk-live-per-call-0001"),
            ("x-goog-api-key", "AIza-per-call-0002"),
            ("content-type", "application/json"),
        ]
        url = "https://api.example.com/v1/x?alt=sse&KEY=AIza-in-the-url-0003"
        assert request_secrets(headers, url) == {
            "the authorization header of a recorded request": "sk-live-per-call-0001",
            "the x-goog-api-key header of a recorded request": "AIza-per-call-0002",
            "the key query parameter of a recorded request": "AIza-in-the-url-0003",
        }

    def test_the_url_userinfo_is_taken(self) -> None:
        found = request_secrets([], "http://alice:S3cret-pass-01@host/v1")
        assert set(found.values()) == {"S3cret-pass-01"}  # "alice" is too short to search for
        assert "the userinfo of a recorded request's URL" in found

    def test_placeholders_empty_and_short_values_are_ignored(self) -> None:
        headers = [("authorization", "Bearer REDACTED"), ("x-api-key", ""), ("api-key", "k")]
        assert request_secrets(headers, "https://example.com/x?api_key=REDACTED") == {}

    def test_each_cookie_value_is_searched_for(self) -> None:
        found = request_secrets([("cookie", "session=sess-0123456789; theme=dark")], "https://e.x")
        assert found["the session cookie of a recorded request"] == "sess-0123456789"
        assert "dark" not in found.values()

    def test_two_values_of_one_kind_are_both_kept(self) -> None:
        headers = [("authorization", "Bearer sk-first-0001"), ("authorization", "sk-second-0002")]
        assert sorted(request_secrets(headers, "https://e.x").values()) == [
            "sk-first-0001",
            "sk-second-0002",
        ]

    def test_secrets_of_several_requests_are_named_apart(self) -> None:
        known = {"OPENAI_API_KEY": "sk-from-the-env-0001"}
        found = [
            ("the authorization header of a recorded request", "Bearer sk-from-the-env-0001"),
            ("the authorization header of a recorded request", "Bearer sk-per-call-0002"),
            ("the authorization header of a recorded request", "Bearer sk-per-call-0003"),
        ]
        assert add_secrets(known, found) == {
            "OPENAI_API_KEY": "sk-from-the-env-0001",
            "the authorization header of a recorded request": "sk-per-call-0002",
            "the authorization header of a recorded request (#2)": "sk-per-call-0003",
        }
