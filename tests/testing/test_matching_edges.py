"""Tests for exllm_py.testing.matching at its edges: ignored body paths, URLs, keys, diffs."""

from __future__ import annotations

import difflib
import hashlib
from typing import Any

import httpx
import orjson
import pytest

from exllm_py.testing.matching import Matcher, canonical_url, closest_diff, key_digest

BODY = {
    "model": "m",
    "metadata": {"user_id": "u-1", "trace": "t-1"},
    "messages": [
        {"role": "system", "content": "Be brief.", "name": "a"},
        {"role": "user", "content": "Hi", "name": "b"},
        {"role": "user", "content": "Again", "name": "c"},
    ],
}


def without(*paths: str) -> Any:
    return orjson.loads(Matcher(ignore_body_paths=paths).canonical_document(BODY))


class TestIgnoredBodyPaths:
    """A path names one place (``*`` every element, digits a list index); the rest stays."""

    def test_a_nested_key_goes_and_its_siblings_stay(self) -> None:
        assert without("metadata.user_id")["metadata"] == {"trace": "t-1"}

    def test_a_star_reaches_into_every_element(self) -> None:
        assert [m.get("name") for m in without("messages.*.name")["messages"]] == [None] * 3

    def test_a_star_at_the_end_empties_a_list_or_an_object(self) -> None:
        document = without("messages.*", "metadata.*")
        assert (document["messages"], document["metadata"]) == ([], {})

    def test_an_index_removes_that_element_only(self) -> None:
        assert [m["content"] for m in without("messages.1")["messages"]] == ["Be brief.", "Again"]

    def test_an_index_reaches_into_that_element_only(self) -> None:
        names = [m.get("name") for m in without("messages.1.name")["messages"]]
        assert names == ["a", None, "c"]

    @pytest.mark.parametrize(
        "path", ["messages.3", "messages.3.name", "messages.x", "model.x", "absent.x", "absent"]
    )
    def test_a_path_to_nothing_changes_nothing(self, path: str) -> None:
        assert without(path) == BODY

    def test_the_empty_body_stays_empty(self) -> None:
        assert Matcher().canonical_body(b"") == b""


class TestCanonicalUrl:
    """Ports, IPv6 hosts and credential-only queries take their canonical form."""

    @pytest.mark.parametrize(
        ("url", "canonical"),
        [
            ("https://[::1]:8443/v1/x", "https://[::1]:8443/v1/x"),
            ("http://[::1]:80/v1/x", "http://[::1]/v1/x"),
            ("https://h.example:443/v1", "https://h.example/v1"),
            ("https://h.example:80/v1", "https://h.example:80/v1"),
            ("https://h.example/v1?key=abc", "https://h.example/v1"),
            ("https://h.example/v1?KEY=abc&b=2&a=1", "https://h.example/v1?a=1&b=2"),
        ],
    )
    def test_canonical_form(self, url: str, canonical: str) -> None:
        assert canonical_url(httpx.URL(url)) == canonical


class TestKeys:
    """A key holds the method in capitals, and its digest follows the documented recipe."""

    def test_the_method_is_upper_case(self) -> None:
        assert Matcher().key("post", "https://h/x", [], b"")[0] == "POST"

    def test_the_digest_is_sha256_of_the_json_head_a_nul_and_the_body(self) -> None:
        key = Matcher().key("POST", "https://h/x", [("accept", "*/*")], b'{"a":1}')
        head = orjson.dumps([1, "POST", "https://h/x", [["accept", "*/*"]]])
        assert key_digest(key) == hashlib.sha256(head + b"\0" + b'{"a":1}').hexdigest()

    def test_a_key_reads_as_request_line_headers_blank_line_and_pretty_body(self) -> None:
        key = Matcher().key("POST", "https://h/x", [("accept", "*/*")], b'{"b":1,"a":[2]}')
        assert Matcher().describe(key) == [
            "POST https://h/x",
            "accept: */*",
            "",
            "{",
            '  "a": [',
            "    2",
            "  ],",
            '  "b": 1',
            "}",
        ]

    def test_a_body_that_is_not_json_reads_as_text(self) -> None:
        key = Matcher().key("POST", "https://h/x", [], b"caf\xc3\xa9 \xff")
        assert Matcher().describe(key)[-1] == "café \ufffd"


class TestClosestDiff:
    """The diff reads from the closest recorded request to this one, with its similarity."""

    def test_an_identical_request_is_similar_through_and_through(self) -> None:
        wanted = ["POST https://h/x", "accept: */*"]
        found = closest_diff(wanted, [["GET https://h/y"], list(wanted)])
        assert found == (1.0, "")

    def test_the_diff_names_both_sides_and_has_one_line_per_change(self) -> None:
        wanted = ["POST https://h/x", "", '{"q": "hello"}']
        recorded = ["POST https://h/x", "", '{"q": "hallo"}']
        found = closest_diff(wanted, [recorded])
        assert found is not None
        ratio, diff = found
        assert diff.splitlines() == [
            "--- closest recorded request",
            "+++ this request",
            "@@ -1,3 +1,3 @@",
            " POST https://h/x",
            " ",
            '-{"q": "hallo"}',
            '+{"q": "hello"}',
        ]
        text = "\n".join(wanted)
        assert ratio == difflib.SequenceMatcher(None, "\n".join(recorded), text).ratio()

    def test_the_same_request_line_beats_more_lines_in_common(self) -> None:
        wanted = ["POST https://h/x", "a: 1", "b: 2"]
        elsewhere = ["POST https://h/other", "a: 1", "b: 2"]
        same_line = ["POST https://h/x", "c: 3", "d: 4"]
        found = closest_diff(wanted, [elsewhere, same_line])
        assert found is not None
        assert "-c: 3" in found[1]

    def test_more_lines_in_common_beat_more_characters_in_common(self) -> None:
        wanted = ["POST https://h/x", "a: 1", "b: 2", "c: 3"]
        most_lines = ["POST https://h/x", "a: 1", "b: 2", "c: " + "a whole other value " * 3]
        most_characters = ["POST https://h/x", "a: 1 ", "b: 2 ", "c: 3 "]
        found = closest_diff(wanted, [most_characters, most_lines])
        assert found is not None
        assert "-c: a whole other value" in found[1]

    def test_an_empty_description_is_never_the_same_request_line(self) -> None:
        found = closest_diff(["POST https://h/x"], [[], ["GET https://h/x"]])
        assert found is not None
        assert "-GET https://h/x" in found[1]
