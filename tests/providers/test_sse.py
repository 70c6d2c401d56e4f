"""The SSE decoder follows the WHATWG event-stream rules, however the bytes are split."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exllm_py.providers.sse import ServerSentEvent, SSEDecoder

LINE_ENDINGS = ("\n", "\r", "\r\n")


def decode(*chunks: bytes, close: bool = True) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.close() if close else events


def summary(events: list[ServerSentEvent]) -> list[tuple[str, str, str | None]]:
    return [(event.event, event.data, event.id) for event in events]


def stream_with(ending: str) -> bytes:
    lines = [
        ": keep-alive",
        "",
        "data: a",
        "data: b",
        "",
        "event: delta",
        "id: 7",
        "data: {}",
        "",
        "data: é😀",
        "",
    ]
    return ending.join(lines).encode() + ending.encode()


EXPECTED = [("message", "a\nb", None), ("delta", "{}", "7"), ("message", "é😀", "7")]


class TestSpecExamples:
    """The examples of the WHATWG specification decode as it says."""

    def test_data_lines_join_with_newlines(self) -> None:
        """Three data lines make one event whose data joins them with LF."""
        events = decode(b"data: YHOO\ndata: +2\ndata: 10\n\n")
        assert summary(events) == [("message", "YHOO\n+2\n10", None)]

    def test_ids_carry_over_and_an_empty_id_resets_them(self) -> None:
        """``id`` sets the last event id for later events; a bare ``id`` empties it."""
        stream = (
            b": test stream\n\ndata: first event\nid: 1\n\n"
            b"data:second event\nid\n\ndata:  third event\n\n"
        )
        assert summary(decode(stream)) == [
            ("message", "first event", "1"),
            ("message", "second event", ""),
            ("message", " third event", ""),
        ]

    def test_a_field_without_a_colon_has_an_empty_value(self) -> None:
        """A bare ``data`` line adds an empty line of data."""
        events = decode(b"data\n\ndata\ndata\n\ndata:", close=False)
        assert [event.data for event in events] == ["", "\n"]

    def test_only_one_space_after_the_colon_is_dropped(self) -> None:
        """``data:test`` and ``data: test`` carry the same value."""
        assert [e.data for e in decode(b"data:test\n\ndata: test\n\n")] == ["test", "test"]


class TestLineEndings:
    """CRLF, LF and CR all end a line, and no split of the bytes changes the events."""

    @pytest.mark.parametrize("ending", LINE_ENDINGS, ids=["LF", "CR", "CRLF"])
    def test_every_ending_decodes_the_same_events(self, ending: str) -> None:
        """The same stream with each kind of line ending gives the same events."""
        assert summary(decode(stream_with(ending))) == EXPECTED

    @pytest.mark.parametrize("ending", LINE_ENDINGS, ids=["LF", "CR", "CRLF"])
    def test_every_split_point_gives_the_same_events(self, ending: str) -> None:
        """Cutting the stream in two at any byte changes nothing."""
        data = stream_with(ending)
        for cut in range(len(data) + 1):
            assert summary(decode(data[:cut], data[cut:])) == EXPECTED, cut

    @pytest.mark.parametrize("ending", LINE_ENDINGS, ids=["LF", "CR", "CRLF"])
    def test_byte_by_byte_gives_the_same_events(self, ending: str) -> None:
        """Feeding one byte at a time changes nothing."""
        data = stream_with(ending)
        assert summary(decode(*(data[i : i + 1] for i in range(len(data))))) == EXPECTED

    def test_a_crlf_split_across_reads_is_one_line_ending(self) -> None:
        """A CR at the end of one read and LF at the start of the next end one line."""
        events = decode(b"data: a\r", b"\ndata: b\r\n\r\n")
        assert summary(events) == [("message", "a\nb", None)]

    def test_a_lone_lf_read_after_a_cr_read_is_not_dropped_twice(self) -> None:
        """Only the LF right after a CR is swallowed; the next LF ends a line."""
        events = decode(b"data: a\r", b"\n", b"\n")
        assert summary(events) == [("message", "a", None)]

    def test_a_cr_then_a_cr_is_a_blank_line(self) -> None:
        """Two CRs in separate reads end an event."""
        assert summary(decode(b"data: a\r", b"\r", close=False)) == [("message", "a", None)]


# A module-level function, not a method: hypothesis wants one executor per test,
# and runners that run a test twice in one process (mutmut) make a new instance.
@given(st.lists(st.integers(min_value=0, max_value=80), max_size=6))
def test_any_set_of_split_points_gives_the_same_events(cuts: list[int]) -> None:
    """However read boundaries fall, a CRLF stream decodes the same."""
    data = stream_with("\r\n")
    points = sorted({min(cut, len(data)) for cut in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert summary(decode(*chunks)) == EXPECTED


class TestText:
    """The stream is UTF-8 text."""

    def test_a_character_split_across_reads_is_kept_whole(self) -> None:
        """A multi-byte character cut between reads decodes once, whole."""
        data = "data: héllo 😀\n\n".encode()
        for cut in range(len(data) + 1):
            assert [e.data for e in decode(data[:cut], data[cut:])] == ["héllo 😀"], cut

    def test_invalid_bytes_become_replacement_characters(self) -> None:
        """Bytes that are not UTF-8 decode as U+FFFD instead of failing the stream."""
        assert [e.data for e in decode(b"data: a\xffb\n\n")] == ["a\ufffdb"]

    def test_one_leading_bom_is_dropped(self) -> None:
        """A BOM at the start is not part of the first field name."""
        events = decode(b"\xef\xbb\xbf", b"data: x\n\n")
        assert [e.data for e in events] == ["x"]

    def test_a_truncated_character_at_the_end_becomes_a_replacement(self) -> None:
        """A stream cut inside a character still yields its last event."""
        assert [e.data for e in decode(b"data: \xf0\x9f")] == ["\ufffd"]


class TestFields:
    """What each field does, and what dispatches an event."""

    def test_a_block_without_data_dispatches_nothing(self) -> None:
        """Comments, or an ``event`` line alone, make no event."""
        assert decode(b": ping\n\nevent: ping\n\nretry: 10\n\n") == []

    def test_an_id_with_nul_is_ignored(self) -> None:
        """An ``id`` containing NUL leaves the last event id as it was."""
        events = decode(b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n")
        assert [e.id for e in events] == ["1", "1"]

    def test_unknown_fields_are_ignored(self) -> None:
        """A field the spec does not name changes nothing."""
        assert summary(decode(b"foo: bar\ndata: a\n\n")) == [("message", "a", None)]

    def test_the_event_type_resets_after_each_event(self) -> None:
        """An ``event`` name applies to its own block only."""
        events = decode(b"event: x\ndata: 1\n\ndata: 2\n\n")
        assert [e.event for e in events] == ["x", "message"]

    def test_raw_keeps_the_block_as_received(self) -> None:
        """``raw`` holds the block's lines, comments included, joined with LF."""
        (event,) = decode(b": c\r\nevent: x\r\ndata:  y\r\n\r\n")
        assert event.raw == ": c\nevent: x\ndata:  y"


class TestClose:
    """``close()`` flushes the end of a stream."""

    def test_an_unterminated_last_event_is_yielded(self) -> None:
        """A stream ending without its blank line still yields its last event."""
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\n\ndata: b") == [ServerSentEvent(data="a")]
        assert summary(decoder.close()) == [("message", "b", None)]

    def test_an_event_ended_by_one_newline_is_yielded(self) -> None:
        """A last event whose final line ended, but not the block, is yielded too."""
        assert [e.data for e in decode(b"data: a\ndata: b\n")] == ["a\nb"]

    def test_closing_an_empty_decoder_yields_nothing(self) -> None:
        """Nothing fed, nothing flushed."""
        assert SSEDecoder().close() == []

    def test_closing_twice_yields_the_last_event_once(self) -> None:
        """A second close finds nothing left."""
        decoder = SSEDecoder()
        decoder.feed(b"data: a")
        assert len(decoder.close()) == 1
        assert decoder.close() == []

    def test_a_closed_decoder_starts_afresh(self) -> None:
        """After ``close()`` nothing of the old stream is left to join the next."""
        decoder = SSEDecoder()
        decoder.feed(b"data: a")
        decoder.close()
        assert summary(decoder.feed(b"data: b\n\n")) == [("message", "b", None)]
