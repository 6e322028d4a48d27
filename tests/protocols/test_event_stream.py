"""Event-stream framing within bounds: a line or an event past its limit breaks the stream, without
buffering it and without losing the events completed before it."""

from __future__ import annotations

from console.dialects.sse.event_stream import ServerSentEvent, SSEDecoder


def test_a_line_over_the_limit_across_chunks_breaks_the_stream_and_is_not_buffered() -> None:
    decoder = SSEDecoder(max_line=100)
    assert decoder.decode("data: ok\n\ndata: ") == [ServerSentEvent(data="ok")]
    for _ in range(10):
        assert decoder.decode("x" * 30) == []
    assert decoder.broken is not None and "line of over" in decoder.broken
    assert not decoder.pending  # what was held is dropped
    assert decoder.decode("\n\ndata: more\n\n") == []  # nothing more from this stream


def test_events_before_an_overlong_line_in_the_same_chunk_stand() -> None:
    decoder = SSEDecoder(max_line=50)
    events = decoder.decode("id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: " + "y" * 80 + "\n\n")
    assert [(e.id, e.data) for e in events] == [("1", "a"), ("2", "b")]
    assert decoder.broken is not None
    assert decoder.last_event_id == "2"


def test_an_event_of_many_short_data_lines_is_bounded_too() -> None:
    decoder = SSEDecoder(max_line=100, max_event=1000)
    assert decoder.decode("data: 0123456789\n" * 200) == []
    assert decoder.broken is not None and "event of over" in decoder.broken


def test_flush_readies_the_decoder_for_the_next_stream_keeping_the_last_id() -> None:
    decoder = SSEDecoder(max_line=20)
    decoder.decode("id: 7\ndata: a\n\ndata: " + "z" * 40)
    assert decoder.broken is not None
    decoder.flush()
    assert decoder.broken is None
    assert decoder.decode("data: b\n\n") == [ServerSentEvent(data="b", id="7")]
