"""A sans-I/O decoder for server-sent events (the ``text/event-stream`` format).

Feed it bytes as they arrive, in chunks of any size; it returns the events
completed so far. It follows the WHATWG event-stream interpretation rules:

- lines end with CRLF, LF or CR, and a CRLF split across two chunks is one
  line ending, not two (so it never invents a blank line);
- the stream is UTF-8 with one optional leading BOM; bytes that are not
  UTF-8 decode as U+FFFD, and a character split across chunks is kept whole;
- ``data`` lines join with ``\\n``; ``event`` names the type (``message``
  when absent); ``id`` sets the last event id, which carries over to later
  events and ignores values containing NUL; ``retry`` and unknown fields
  are ignored; lines starting with ``:`` are comments;
- a block without any ``data`` line dispatches nothing.

One deliberate difference: a stream that ends without its final blank line
still yields its last event from :meth:`SSEDecoder.close`, since some
servers end that way and dropping the end of an answer would lose text.

Each event keeps its ``raw`` block (its lines as received, joined with
``\\n``), which the test cache records so replay reproduces the stream
event by event.
"""

from __future__ import annotations

import codecs
import re

import attrs

__all__ = ["SSEDecoder", "ServerSentEvent"]

_LINE_END = re.compile(r"\r\n|\r|\n")


@attrs.frozen
class ServerSentEvent:
    """One event: ``event`` type (``"message"`` when unnamed), joined ``data`` lines, ``id``."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    raw: str = attrs.field(default="", eq=False, repr=False)


class SSEDecoder:
    """Incremental decoder: ``feed()`` chunks, then ``close()`` for a final unterminated event."""

    def __init__(self) -> None:
        # "utf-8-sig" drops one leading BOM; "replace" is the spec's decoding.
        self._text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._tail = ""  # the start of a line whose ending has not arrived
        self._after_cr = False  # the last chunk ended in CR: a leading LF ends nothing
        self._block: list[str] = []
        self._data: list[str] = []
        self._type = ""
        self._last_id: str | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        return self._lines(self._text.decode(chunk), final=False)

    def close(self) -> list[ServerSentEvent]:
        """Flush what is left: a stream may end without the final blank line."""
        events = self._lines(self._text.decode(b"", final=True), final=True)
        event = self._dispatch()
        return [*events, event] if event is not None else events

    def _lines(self, text: str, *, final: bool) -> list[ServerSentEvent]:
        if not text and not final:
            return []  # only part of a character arrived
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        self._after_cr = text.endswith("\r")
        lines = _LINE_END.split(self._tail + text)
        self._tail = lines.pop()
        if final and self._tail:
            lines.append(self._tail)
            self._tail = ""
        events = []
        for line in lines:
            if line:
                self._field(line)
                continue
            event = self._dispatch()
            if event is not None:
                events.append(event)
        return events

    def _field(self, line: str) -> None:
        self._block.append(line)
        if line.startswith(":"):
            return  # comments keep connections alive and carry nothing
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\0" not in value:
            self._last_id = value

    def _dispatch(self) -> ServerSentEvent | None:
        block, data, event_type = self._block, self._data, self._type
        self._block, self._data, self._type = [], [], ""
        if not data:
            return None
        return ServerSentEvent(
            event=event_type or "message",
            data="\n".join(data),
            id=self._last_id,
            raw="\n".join(block),
        )
