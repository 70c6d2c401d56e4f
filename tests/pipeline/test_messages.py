"""Tests for exllm_py.pipeline.validate: which messages are accepted, and how refusals read.

Accepted messages reach the loopback provider server, which shows what
was sent; refused ones never leave, and their whole message is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client, Message
from exllm_py.cache.nocache import NoCache
from exllm_py.errors import ConfigurationError, ValidationError
from tests.fakes import ProviderServer, provider_server

__all__ = ["provider_server"]

HI = {"role": "user", "content": "Hi"}
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(cache_strategy=NoCache(), env={"OPENAI_API_KEY": "sk-test"}) as client:
        yield client


def sent(client: Client, server: ProviderServer, messages: Any) -> list[dict[str, Any]]:
    client.chat("openai", messages, base_url=server.url)
    body = server.last_request.body
    assert isinstance(body, dict)
    messages_sent: list[dict[str, Any]] = body["messages"]
    return messages_sent


def refusal(client: Client, server: ProviderServer, messages: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        client.chat("openai", messages, base_url=server.url)
    assert server.requests == [], "a refused call must not reach the provider"
    return str(caught.value)


class TestAccepted:
    """Lists and tuples of dicts or ``Message`` objects; messages go out as dicts."""

    def test_a_tuple_of_messages_is_sent(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        assert sent(client, provider_server, (HI,)) == [HI]

    def test_message_objects_after_dicts_are_sent_as_dicts(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        messages = [
            {"role": "system", "content": "Be brief."},
            Message(role="user", content="Hi"),
            Message(role="assistant", content="Hello"),
        ]
        assert sent(client, provider_server, messages) == [
            {"role": "system", "content": "Be brief."},
            HI,
            {"role": "assistant", "content": "Hello"},
        ]

    def test_an_assistant_turn_of_tool_calls_needs_no_content(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        turn = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
        answer = {"role": "tool", "tool_call_id": "call_1", "content": "42"}
        sent_messages = sent(client, provider_server, [HI, turn, answer])
        assert [message["role"] for message in sent_messages] == ["user", "assistant", "tool"]

    def test_user_content_parts_are_sent(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        parts = [{"type": "text", "text": "What is this?"}]
        assert sent(client, provider_server, [{"role": "user", "content": parts}]) == [
            {"role": "user", "content": parts}
        ]


class TestRefused:
    """Each refusal says which message is wrong, how, and what is expected."""

    @pytest.mark.parametrize(
        ("messages", "expected"),
        [
            (
                "Hi",
                "messages must be a list of messages such as "
                "[{'role': 'user', 'content': 'Hi'}], got str",
            ),
            (
                {"role": "user", "content": "Hi"},
                "messages must be a list of messages such as "
                "[{'role': 'user', 'content': 'Hi'}], got dict",
            ),
            ([], "messages is empty: pass at least one message"),
            (
                [{"role": "robot", "content": "Hi"}],
                "messages[0] has unknown role 'robot'; "
                "expected one of assistant, developer, system, tool, user",
            ),
            (
                [HI, {"content": "Hi"}],
                "messages[1] has unknown role None; "
                "expected one of assistant, developer, system, tool, user",
            ),
            ([{"role": "user"}], "messages[0] (user) has no content"),
            (
                [{"role": "assistant", "content": None, "tool_calls": []}],
                "messages[0] (assistant) has no content",
            ),
            (
                [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]}, HI],
                "messages[0] (system) content must be a string, got list",
            ),
            (
                [{"role": "user", "content": 42}],
                "messages[0] (user) content must be a string or a list of content parts, got int",
            ),
            (
                [{"role": "user", "content": [{"text": "Hi"}]}],
                "messages[0].content[0] must be a dict with a 'type', "
                "e.g. {'type': 'text', 'text': '...'}",
            ),
            (
                [{"role": "user", "content": [{"type": "text", "text": "Hi"}, "Hi"]}],
                "messages[0].content[1] must be a dict with a 'type', "
                "e.g. {'type': 'text', 'text': '...'}",
            ),
        ],
        ids=repr,
    )
    def test_the_message_says_what_to_fix(
        self, client: Client, provider_server: ProviderServer, messages: Any, expected: str
    ) -> None:
        assert refusal(client, provider_server, messages) == expected

    def test_a_provider_name_that_is_no_string_is_unknown(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        with pytest.raises(ConfigurationError, match=r"unknown provider \['openai'\]; known"):
            client.chat(["openai"], [HI], base_url=provider_server.url)  # type: ignore[arg-type]
        assert provider_server.requests == []
