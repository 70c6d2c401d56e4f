"""A sans-I/O decoder for server-sent events (the ``text/event-stream`` format).

Feed it bytes as they arrive, in chunks of any size; it returns the events
completed so far. Each event keeps its ``raw`` text block exactly as
received, which the test cache records so replay can reproduce the stream
event by event.
"""

from __future__ import annotations

import attrs

__all__ = ["SSEDecoder", "ServerSentEvent"]


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
        self._buffer = ""
        self._pending = b""

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        text = self._decode(chunk)
        self._buffer += text.replace("\r\n", "\n").replace("\r", "\n")
        events = []
        while True:
            block, separator, rest = self._buffer.partition("\n\n")
            if not separator:
                break
            self._buffer = rest
            event = _parse_block(block)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """Flush what is left: a stream may end without the final blank line."""
        block, self._buffer = self._buffer.strip("\n"), ""
        event = _parse_block(block) if block else None
        return [event] if event is not None else []

    def _decode(self, chunk: bytes) -> str:
        # A multi-byte UTF-8 character may be split across chunks: keep the
        # incomplete tail for the next feed.
        data = self._pending + chunk
        try:
            self._pending = b""
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(data) - 3:
                raise
            self._pending = data[exc.start :]
            return data[: exc.start].decode("utf-8")


def _parse_block(block: str) -> ServerSentEvent | None:
    event_type = "message"
    data_lines: list[str] = []
    event_id: str | None = None
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue  # comments keep connections alive and carry nothing
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data_lines.append(value)
        elif field == "event":
            event_type = value
        elif field == "id":
            event_id = value
    if not data_lines and event_type == "message":
        return None
    return ServerSentEvent(event=event_type, data="\n".join(data_lines), id=event_id, raw=block)
