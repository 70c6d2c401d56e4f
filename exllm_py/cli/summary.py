"""One line about a recorded request: its model and the start of its last message.

Knows the three wire formats: OpenAI-style ``messages`` (and the presets),
Anthropic ``messages`` with content blocks, and Gemini ``contents`` with
``parts`` (whose model is in the URL path, ``…/models/<model>:generateContent``).
"""

from __future__ import annotations

import re
from typing import Any

from exllm_py.testing.cassette_file import Interaction

__all__ = ["last_message", "model_of", "streamed"]

_URL_MODEL = re.compile(r"/models/([^/:?]+)")


def model_of(interaction: Interaction) -> str:
    """The model the request asked for; ``-`` when it does not say."""
    body = interaction.request.body
    if body.kind == "json" and isinstance(body.value, dict):
        model = body.value.get("model")
        if isinstance(model, str) and model:
            return model
    found = _URL_MODEL.search(interaction.request.url)
    return found[1] if found else "-"


def last_message(interaction: Interaction) -> str:
    """The text of the request's last message (or its prompt); empty when there is none."""
    body = interaction.request.body
    if body.kind != "json" or not isinstance(body.value, dict):
        return body.value if body.kind == "text" and isinstance(body.value, str) else ""
    document = body.value
    for key in ("messages", "contents"):
        items = document.get(key)
        if isinstance(items, list) and items:
            return _text(items[-1])
    prompt = document.get("prompt") or document.get("input")
    return _text(prompt)


def streamed(interaction: Interaction) -> bool:
    """Whether the answer was streamed (recorded as server-sent events)."""
    return interaction.response.body.kind == "sse"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(filter(None, (_text(item) for item in value)))
    if isinstance(value, dict):
        for key in ("content", "parts", "text"):
            if key in value:
                return _text(value[key])
    return ""
