"""What the readers of translated formats (Anthropic, Gemini) share: content and stop spellings.

Both formats lose the same distinctions on the way out: a message's text
and a one-part list holding that text become the same block, and a stop
string and a one-string list the same list. The readers pick the plainer
spelling for content (a string) and offer both for ``stop``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exllm_py.providers.reading.call_reading import CallReading

__all__ = ["one_string_stop", "simplest_content"]


def simplest_content(parts: Sequence[dict[str, Any]]) -> str | list[dict[str, Any]] | None:
    """A message's content for these parts: ``None`` for none, the text of a lone text part."""
    if not parts:
        return None
    if len(parts) == 1 and parts[0].keys() == {"type", "text"} and parts[0]["type"] == "text":
        text = parts[0]["text"]
        if isinstance(text, str):
            return text
    return list(parts)


def one_string_stop(reading: CallReading) -> CallReading | None:
    """A one-sequence ``stop`` list given as the string instead."""
    stop = reading.options.get("stop")
    if not isinstance(stop, list) or len(stop) != 1 or not isinstance(stop[0], str):
        return None
    return reading.with_options(stop=stop[0])
