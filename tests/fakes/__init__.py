"""Test doubles that cross real sockets: a loopback provider server and realistic payloads.

:mod:`tests.fakes.provider_server` runs a real HTTP server on 127.0.0.1
speaking the OpenAI, Anthropic and Gemini wire formats;
:mod:`tests.fakes.payloads` builds the bodies and stream events those
providers send. To use the ``provider_server`` fixture in a test package,
import it into that package's ``conftest.py``::

    from tests.fakes import provider_server

    __all__ = ["provider_server"]
"""

from tests.fakes.payloads import (
    SSEEvent,
    anthropic_error,
    anthropic_message,
    anthropic_stream_events,
    gemini_error,
    gemini_response,
    gemini_stream_events,
    openai_completion,
    openai_error,
    openai_stream_events,
    text_pieces,
)
from tests.fakes.provider_server import (
    DEFAULT_TEXT,
    ProviderServer,
    RecordedRequest,
    Reply,
    Responder,
    default_reply,
    disconnect_reply,
    json_reply,
    provider_server,
    sse_reply,
    text_reply,
)

__all__ = [
    "DEFAULT_TEXT",
    "ProviderServer",
    "RecordedRequest",
    "Reply",
    "Responder",
    "SSEEvent",
    "anthropic_error",
    "anthropic_message",
    "anthropic_stream_events",
    "default_reply",
    "disconnect_reply",
    "gemini_error",
    "gemini_response",
    "gemini_stream_events",
    "json_reply",
    "openai_completion",
    "openai_error",
    "openai_stream_events",
    "provider_server",
    "sse_reply",
    "text_pieces",
    "text_reply",
]
