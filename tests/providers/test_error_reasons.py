"""Errors mapped from the reason Google puts in the body, over a real HTTP exchange.

The bodies follow the shape Google documents for ``google.rpc.ErrorInfo``
(status, message, details); they are written here, not recorded (see
``recorded/SOURCES.md``).
"""

from __future__ import annotations

from typing import Any

import pytest

import exllm_py
from exllm_py.errors import AuthenticationError, ProviderError
from tests.fakes import ProviderServer, json_reply

PROJECT = "123456789012"
ENABLE_URL = (
    "https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/"
    f"overview?project={PROJECT}"
)


def google_error(code: int, status: str, message: str, info: dict[str, Any]) -> dict[str, Any]:
    detail = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "googleapis.com"}
    return {
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "details": [{**detail, **info}],
        }
    }


BAD_KEY = google_error(
    400,
    "INVALID_ARGUMENT",
    "API key not valid. Please pass a valid API key.",
    {"reason": "API_KEY_INVALID", "metadata": {"service": "generativelanguage.googleapis.com"}},
)
DISABLED = google_error(
    403,
    "PERMISSION_DENIED",
    f"Generative Language API has not been used in project {PROJECT} before or it is disabled.",
    {
        "reason": "SERVICE_DISABLED",
        "metadata": {
            "service": "generativelanguage.googleapis.com",
            "consumer": f"projects/{PROJECT}",
            "activationUrl": ENABLE_URL,
        },
    },
)


def ask(server: ProviderServer) -> None:
    exllm_py.chat(
        "gemini",
        [{"role": "user", "content": "Hi"}],
        model="gemini-2.0-flash",
        base_url=server.url,
        api_key="test-key",
        cache=False,
    )


class TestGeminiReasons:
    """A reason naming the key or the project makes an AuthenticationError, whatever the status."""

    def test_invalid_key_is_an_authentication_error(self, provider_server: ProviderServer) -> None:
        provider_server.enqueue(json_reply(BAD_KEY, status=400))
        with pytest.raises(AuthenticationError) as info:
            ask(provider_server)
        assert info.value.status == 400
        assert "API key not valid" in str(info.value)

    def test_disabled_api_says_what_to_enable_where(self, provider_server: ProviderServer) -> None:
        provider_server.enqueue(json_reply(DISABLED, status=403))
        with pytest.raises(AuthenticationError) as info:
            ask(provider_server)
        assert info.value.status == 403
        message = str(info.value)
        assert (
            f"enable generativelanguage.googleapis.com in Google Cloud project {PROJECT}" in message
        )
        assert ENABLE_URL in message

    def test_other_reasons_keep_the_status_mapping(self, provider_server: ProviderServer) -> None:
        body = google_error(400, "INVALID_ARGUMENT", "bad field", {"reason": "BAD_FIELD"})
        provider_server.enqueue(json_reply(body, status=400))
        with pytest.raises(ProviderError) as info:
            ask(provider_server)
        assert type(info.value) is ProviderError
