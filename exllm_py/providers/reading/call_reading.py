"""What reading a request gives: the calls that send it, and why a body cannot be read.

A recorded request body is read back into the arguments of a ``chat()``
call (:class:`CallReading`). One body may be sent by several calls that
spell it differently (a system prompt given as the ``system`` option or as
a leading system message); a reader gives the first spelling and the
variations that apply, and :func:`spellings` combines them. Whether a
reading truly sends the recorded body is for the caller to check, by
building the request again: a reader only proposes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "CallReading",
    "ForeignEndpoint",
    "ForeignRequest",
    "Variation",
    "expect",
    "spellings",
    "system_as_message",
    "system_as_option",
]


class ForeignRequest(ValueError):
    """The body is not one this client builds: a field it never sends, or a shape it never uses."""


class ForeignEndpoint(ForeignRequest):
    """The URL is not the wire format's chat endpoint (an embeddings call, a query string...)."""


@attrs.frozen
class CallReading:
    """A call read back from a request: OpenAI-shaped ``messages`` and its keyword ``options``.

    ``options`` always holds ``model`` and ``base_url``, as the call would
    pass them, and the answer options the body carries.
    """

    messages: Sequence[Mapping[str, Any]]
    options: Mapping[str, Any]

    def with_options(self, **changes: Any) -> CallReading:
        """This reading with options set (or, given as ``None``, removed)."""
        options = {**self.options, **changes}
        return CallReading(
            self.messages, {name: value for name, value in options.items() if value is not None}
        )


#: Another spelling of a reading, or ``None`` when the variation does not apply to it.
Variation = Callable[[CallReading], CallReading | None]


def spellings(first: CallReading, variations: Iterable[Variation]) -> tuple[CallReading, ...]:
    """``first`` and every spelling the variations make of it, alone and combined."""
    readings = [first]
    for vary in variations:
        readings += [other for other in map(vary, readings) if other is not None]
    return tuple(readings)


def system_as_option(reading: CallReading) -> CallReading | None:
    """A leading system message given as the ``system`` option instead (OpenAI's format)."""
    messages = reading.messages
    if len(messages) < 2 or "system" in reading.options:
        return None
    first = messages[0]
    content = first.get("content")
    if first.keys() != {"role", "content"} or first["role"] != "system":
        return None
    if not isinstance(content, str) or not content:
        return None
    return CallReading(messages[1:], {**reading.options, "system": content})


def system_as_message(reading: CallReading) -> CallReading | None:
    """The ``system`` option given as a leading system message instead (a top-level field)."""
    system = reading.options.get("system")
    if system is None:
        return None
    messages = [{"role": "system", "content": system}, *reading.messages]
    return CallReading(messages, reading.with_options(system=None).options)


def expect(value: Any, kind: type[Any] | tuple[type[Any], ...], where: str) -> Any:
    """``value`` if it is a ``kind``, else :class:`ForeignRequest` naming ``where``."""
    if not isinstance(value, kind):
        raise ForeignRequest(f"{where} is {type(value).__name__}, not what this client sends")
    return value
