"""Tests for exllm_py.testing.matching: what makes two requests the same recording."""

from __future__ import annotations

import httpx
import orjson

from exllm_py.testing.matching import Matcher, canonical_url, closest_diff, header_pairs


def _request(
    url: str = "https://api.example.com/v1/chat",
    body: object = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> httpx.Request:
    content = orjson.dumps(body) if body is not None else b""
    return httpx.Request(method, url, content=content, headers=headers or {})


class TestHeaderPairs:
    """Header pairs are what ``multi_items`` gives: lowercase names, every value in order."""

    def test_ascii_headers(self) -> None:
        headers = httpx.Headers(
            [("Content-Type", "application/json"), ("X-Trace", "a"), ("x-trace", "b")]
        )
        assert header_pairs(headers) == [
            ("content-type", "application/json"),
            ("x-trace", "a"),
            ("x-trace", "b"),
        ]
        assert header_pairs(headers) == headers.multi_items()

    def test_a_value_that_is_not_ascii(self) -> None:
        headers = httpx.Headers([(b"X-Name", "café".encode()), (b"Accept", b"*/*")])
        assert header_pairs(headers) == [("x-name", "café"), ("accept", "*/*")]


class TestCanonicalUrl:
    """URLs match whatever their query order, default port or credential parameters."""

    def test_query_order_does_not_matter(self) -> None:
        a = canonical_url(httpx.URL("https://h.example/p?b=2&a=1"))
        assert a == canonical_url(httpx.URL("https://h.example/p?a=1&b=2"))
        assert a == "https://h.example/p?a=1&b=2"

    def test_default_port_is_dropped_and_others_kept(self) -> None:
        assert canonical_url(httpx.URL("https://h.example:443/p")) == "https://h.example/p"
        # httpx keeps the port when the scheme is not written in lowercase.
        assert canonical_url(httpx.URL("HTTPS://h.example:443/p")) == "https://h.example/p"
        assert canonical_url(httpx.URL("http://127.0.0.1:8080/p")) == "http://127.0.0.1:8080/p"

    def test_credential_parameters_take_no_part(self) -> None:
        keyed = canonical_url(httpx.URL("https://h.example/p?alt=sse&KEY=secret"))
        assert keyed == canonical_url(httpx.URL("https://h.example/p?alt=sse"))


class TestRequestKey:
    """Keys compare method, URL, matched headers and canonical JSON body."""

    def test_json_key_order_does_not_matter(self) -> None:
        matcher = Matcher()
        a = matcher.request_key(_request(body={"model": "m", "messages": [{"a": 1, "b": 2}]}))
        b = matcher.request_key(_request(body={"messages": [{"b": 2, "a": 1}], "model": "m"}))
        assert a == b

    def test_different_bodies_differ(self) -> None:
        matcher = Matcher()
        assert matcher.request_key(_request(body={"x": 1})) != matcher.request_key(
            _request(body={"x": 2})
        )

    def test_credentials_and_transport_headers_are_ignored(self) -> None:
        matcher = Matcher()
        keyed = _request(
            body={"x": 1},
            headers={"Authorization": "Bearer sk", "User-Agent": "a/1", "X-Stainless-Os": "L"},
        )
        keyless = _request(body={"x": 1}, headers={"user-agent": "b/2"})
        assert matcher.request_key(keyed) == matcher.request_key(keyless)

    def test_other_headers_take_part_unless_ignored(self) -> None:
        v1 = _request(body={}, headers={"anthropic-version": "2023-06-01", "x-trace-id": "1"})
        v2 = _request(body={}, headers={"anthropic-version": "2024-01-01", "x-trace-id": "2"})
        assert Matcher().request_key(v1) != Matcher().request_key(v2)
        ignoring = Matcher(ignore_headers=frozenset({"Anthropic-Version", "x-trace-*"}))
        assert ignoring.request_key(v1) == ignoring.request_key(v2)

    def test_a_star_ignores_headers_by_prefix_and_only_by_prefix(self) -> None:
        matcher = Matcher(ignore_headers=frozenset({"x-trace-*", "x-exact"}))
        assert matcher.is_ignored("x-trace-id")
        assert matcher.is_ignored("x-trace-")
        assert not matcher.is_ignored("x-tracer")  # the dash is part of the prefix
        assert matcher.is_ignored("x-exact")
        assert not matcher.is_ignored("x-exactly")  # no star: the whole name only

    def test_ignored_body_paths_take_no_part(self) -> None:
        matcher = Matcher(ignore_body_paths=("metadata.user_id", "messages.*.name"))
        a = _request(body={"metadata": {"user_id": "u1", "k": 1}, "messages": [{"name": "a"}]})
        b = _request(body={"metadata": {"user_id": "u2", "k": 1}, "messages": [{"name": "b"}]})
        c = _request(body={"metadata": {"user_id": "u1", "k": 2}, "messages": [{"name": "a"}]})
        assert matcher.request_key(a) == matcher.request_key(b)
        assert matcher.request_key(a) != matcher.request_key(c)

    def test_list_index_paths_remove_one_item(self) -> None:
        matcher = Matcher(ignore_body_paths=("items.0",))
        assert matcher.canonical_document({"items": [1, 2]}) == b'{"items":[2]}'

    def test_body_that_is_not_json_is_compared_as_bytes(self) -> None:
        matcher = Matcher()
        assert matcher.canonical_body(b"a=1&b=2") == b"a=1&b=2"
        assert matcher.canonical_body(b"") == b""


class TestClosestDiff:
    """A miss is explained by a diff against the most similar recorded request."""

    def test_picks_the_candidate_with_the_same_target_and_most_in_common(self) -> None:
        matcher = Matcher()
        wanted = matcher.describe(matcher.request_key(_request(body={"q": "hello", "n": 1})))
        near = matcher.describe(matcher.request_key(_request(body={"q": "hallo", "n": 1})))
        far = matcher.describe(
            matcher.request_key(_request("https://other.example/x", body={"q": "hello", "n": 1}))
        )
        found = closest_diff(wanted, [far, near])
        assert found is not None
        _, diff = found
        assert '-  "q": "hallo"' in diff
        assert '+  "q": "hello"' in diff
        assert "other.example" not in diff

    def test_no_candidates_gives_none(self) -> None:
        assert closest_diff(["POST x"], []) is None


# Request headers as openai 3.57.0 and anthropic 2.14.0 sent them to the loopback
# provider server (host, connection, length and encoding left out).
_OPENAI_SDK = {
    "authorization": "Bearer sk-test",
    "accept": "application/json",
    "content-type": "application/json",
    "user-agent": "OpenAI/Python 3.57.0",
    "x-stainless-lang": "python",
    "x-stainless-package-version": "3.57.0",
    "x-stainless-os": "Linux",
    "x-stainless-arch": "x64",
    "x-stainless-runtime": "CPython",
    "x-stainless-runtime-version": "3.11.7",
    "x-stainless-async": "false",
    "x-stainless-retry-count": "0",
    "x-stainless-read-timeout": "600",
    "openai-project": "proj_recording_machine",
}
_ANTHROPIC_SDK = {
    "x-stainless-timeout": "600",
    "x-stainless-retry-count": "0",
    "accept": "application/json",
    "content-type": "application/json",
    "user-agent": "AsyncAnthropic/Python 2.14.0",
    "x-stainless-async": "async:asyncio",
    "authorization": "Bearer sk-ant-test",
    "anthropic-version": "2026-10-21",
    "anthropic-workspace-id": "wrkspc_recording_machine",
}


class TestSDKHeaders:
    """What an SDK varies between runs, retries, machines and accounts neither matches nor stays."""

    def test_a_retry_from_another_machine_and_account_has_the_same_key(self) -> None:
        elsewhere = {
            **{name: value for name, value in _OPENAI_SDK.items() if name != "openai-project"},
            "user-agent": "AsyncOpenAI/Python 3.58.1",
            "x-stainless-package-version": "3.58.1",
            "x-stainless-os": "MacOS",
            "x-stainless-runtime-version": "3.13.1",
            "x-stainless-async": "async:asyncio",
            "x-stainless-retry-count": "1",
        }
        first = _request(body={"model": "m"}, headers=_OPENAI_SDK)
        again = _request(body={"model": "m"}, headers=elsewhere)
        assert Matcher().request_key(first) == Matcher().request_key(again)

    def test_recorded_headers_keep_only_what_changes_the_answer(self) -> None:
        sent = _request(body={}, headers=_ANTHROPIC_SDK)
        kept = Matcher().recorded_headers(sent.headers.multi_items())
        assert [name for name, _ in kept] == [
            "accept",
            "anthropic-version",
            "authorization",  # redacted on every write
            "content-type",
        ]
