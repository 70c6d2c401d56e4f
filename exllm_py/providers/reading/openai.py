"""Reading a chat-completions body back into the call that sends it.

The adapter passes messages and options through, so the reading is mostly
the body itself: ``model`` and ``messages`` apart, every field is an
answer option of the same name (``max_completion_tokens``, which the
adapter sends for OpenAI's reasoning models, is ``max_tokens``). A field
that is no answer option (``stream``, ``user``, ``logprobs``) is one this
client never sends. A leading system message may also have been the
``system`` option.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exllm_py.providers.reading.call_reading import (
    CallReading,
    ForeignEndpoint,
    ForeignRequest,
    expect,
    spellings,
    system_as_option,
)
from exllm_py.request import ANSWER_OPTIONS

__all__ = ["read_chat_completions"]

_ENDPOINT = "/chat/completions"
# Body field → the option it was: the adapter renames this one for reasoning models.
_RENAMED = {"max_completion_tokens": "max_tokens"}
# Options that never appear as a body field of their own name.
_NOT_FIELDS = frozenset({"model", "system"})


def read_chat_completions(url: str, body: Mapping[str, Any]) -> tuple[CallReading, ...]:
    """The calls that POST ``body`` to ``url``; the first keeps a system message a message."""
    if not url.endswith(_ENDPOINT):
        raise ForeignEndpoint(f"{url} is not a {_ENDPOINT} endpoint")
    options: dict[str, Any] = {
        "model": expect(body.get("model"), str, "model"),
        "base_url": url.removesuffix(_ENDPOINT),
    }
    messages = expect(body.get("messages"), list, "messages")
    for field, value in body.items():
        if field in ("model", "messages"):
            continue
        option = _RENAMED.get(field, field)
        if option not in ANSWER_OPTIONS or option in _NOT_FIELDS:
            raise ForeignRequest(f"the body has {field!r}, which this client never sends")
        options[option] = value
    return spellings(CallReading(messages, options), [system_as_option])
