"""cache_key: everything that changes the answer changes the key, nothing else does."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exllm_py import Message
from exllm_py.cache.keys import KEY_FORMAT_VERSION, cache_key
from exllm_py.errors import ValidationError

MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is 2+2?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "4"},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "And this?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        ],
    },
]
OPTIONS: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "base_url": "https://api.openai.com/v1",
    "temperature": 0,
}
BASE = cache_key("openai", MESSAGES, OPTIONS)


def with_message_change(path: tuple[Any, ...], value: Any) -> list[dict[str, Any]]:
    messages = copy.deepcopy(MESSAGES)
    target: Any = messages
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return messages


class TestWhatChangesTheKey:
    """Each field that changes the answer yields a different key."""

    def test_the_key_is_a_sha256_hex_digest(self) -> None:
        assert len(BASE) == 64
        assert int(BASE, 16) >= 0

    def test_the_provider(self) -> None:
        assert cache_key("groq", MESSAGES, OPTIONS) != BASE

    @pytest.mark.parametrize(
        ("option", "value"),
        [
            ("base_url", "https://proxy.example/v1"),
            ("model", "gpt-4o"),
            ("temperature", 0.7),
            ("max_tokens", 10),
            ("top_p", 0.5),
            ("stop", ["\n"]),
            ("seed", 7),
            ("tools", [{"type": "function", "function": {"name": "f"}}]),
            ("tool_choice", "required"),
            ("response_format", {"type": "json_object"}),
            ("system", "Answer in French."),
            ("n", 2),
            ("cache_namespace", "tenant-a"),
        ],
    )
    def test_each_answer_option(self, option: str, value: Any) -> None:
        assert cache_key("openai", MESSAGES, {**OPTIONS, option: value}) != BASE

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            ((1, "content"), "What is 3+3?"),
            ((1, "role"), "assistant"),
            ((1, "name"), "alice"),
            ((2, "tool_calls", 0, "function", "arguments"), '{"a": 1}'),
            ((3, "tool_call_id"), "c2"),
            ((4, "content", 1, "image_url", "url"), "https://example.com/b.png"),
        ],
    )
    def test_every_message_field(self, path: tuple[Any, ...], value: Any) -> None:
        assert cache_key("openai", with_message_change(path, value), OPTIONS) != BASE

    def test_message_order(self) -> None:
        assert cache_key("openai", list(reversed(MESSAGES)), OPTIONS) != BASE

    def test_base_urls_apart_only_in_their_last_character(self) -> None:
        """Only a trailing slash is dropped from a base URL: any other last character counts."""
        gateway = "https://gateway.example/route/X"
        with_x = cache_key("openai", MESSAGES, {**OPTIONS, "base_url": gateway})
        without = cache_key("openai", MESSAGES, {**OPTIONS, "base_url": gateway[:-1]})
        slashed = cache_key("openai", MESSAGES, {**OPTIONS, "base_url": gateway + "/"})
        assert with_x != without
        assert slashed == with_x


class TestWhatDoesNotChangeTheKey:
    """Credentials, timeouts, cache controls and dict order never enter the key."""

    @pytest.mark.parametrize(
        ("option", "value"),
        [
            ("api_key", "sk-other"),
            ("timeout", 3),
            ("cache", "refresh"),
            ("cache_ttl", 60),
        ],
    )
    def test_options_that_do_not_change_the_answer(self, option: str, value: Any) -> None:
        assert cache_key("openai", MESSAGES, {**OPTIONS, option: value}) == BASE

    def test_an_option_set_to_none_is_the_same_as_unset(self) -> None:
        assert cache_key("openai", MESSAGES, {**OPTIONS, "seed": None}) == BASE

    def test_message_objects_and_dicts_give_the_same_key(self) -> None:
        objects = [Message(role="user", content="What is 2+2?")]
        dicts = [{"role": "user", "content": "What is 2+2?"}]
        assert cache_key("openai", objects, OPTIONS) == cache_key("openai", dicts, OPTIONS)


json_leaves = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
json_values = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


def reordered(value: Any) -> Any:
    """The same JSON value with every dict's keys in reverse insertion order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


class TestNonJsonInput:
    """Input that has no canonical JSON form is a validation error, not a crash."""

    @pytest.mark.parametrize("value", [2**64, object(), {1: "int key"}])
    def test_is_rejected_with_a_clear_message(self, value: Any) -> None:
        with pytest.raises(ValidationError, match="must be JSON values"):
            cache_key("openai", [{"role": "user", "content": "Hi", "extra": value}], OPTIONS)


class TestDictOrder:
    """Dict key order, at any depth, never changes the key."""

    @given(extra=st.dictionaries(st.text(min_size=1, max_size=6), json_values, max_size=5))
    def test_message_dict_order_is_irrelevant(self, extra: dict[str, Any]) -> None:
        message = {"role": "user", "content": "Hi", **{f"x_{k}": v for k, v in extra.items()}}
        assert cache_key("openai", [message], OPTIONS) == cache_key(
            "openai", [reordered(message)], OPTIONS
        )

    @given(schema=st.dictionaries(st.text(min_size=1, max_size=6), json_values, max_size=6))
    def test_option_dict_order_is_irrelevant(self, schema: dict[str, Any]) -> None:
        options = {**OPTIONS, "response_format": {"type": "json_schema", "schema": schema}}
        assert cache_key("openai", MESSAGES, options) == cache_key(
            "openai", MESSAGES, reordered(options)
        )


class TestExplicitKeyFormat:
    """An explicit key's digest is part of the format: entries stored under it stay reachable."""

    @pytest.mark.parametrize("namespace", [None, "tenant-a"])
    def test_it_hashes_the_version_namespace_and_key(self, namespace: str | None) -> None:
        """SHA-256 of ``[version, namespace, "explicit", key]``: stored entries stay reachable."""
        document = orjson.dumps([KEY_FORMAT_VERSION, namespace, "explicit", "capital-fr"])
        options = {"cache_key": "capital-fr", "cache_namespace": namespace}
        assert cache_key("openai", MESSAGES, options) == hashlib.sha256(document).hexdigest()


class Thing:
    """A value with no JSON form and no ``to_dict``."""


class TestWhatHasNoJsonForm:
    """The refusal's cause names the type that has no JSON form."""

    def test_the_cause_names_the_type(self) -> None:
        with pytest.raises(ValidationError, match="must be JSON values") as raised:
            cache_key("openai", [{"role": "user", "content": "Hi", "extra": Thing()}], OPTIONS)
        root = raised.value.__cause__
        while root is not None and root.__cause__ is not None:
            root = root.__cause__
        assert isinstance(root, TypeError)
        assert str(root) == "Thing is not a JSON value"
