"""SSE event-stream framing from plain strings: the WHATWG interpretation, any chunking, and bounds: a
line or an event past its limit breaks the stream, without buffering it and without losing the events
completed before it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from console.dialects.sse.event_stream import ServerSentEvent, SSEDecoder
from tests.dialects.sse.test_protocol import SPEC_SAMPLE

# ----------------------------------------------------------------------------------------------
# Framing (WHATWG event-stream interpretation)
# ----------------------------------------------------------------------------------------------


def test_whatwg_multiline_data_example() -> None:
    events = SSEDecoder().decode("data: YHOO\ndata: +2\ndata: 10\n\n")
    assert events == [ServerSentEvent("message", "YHOO\n+2\n10")]


def test_whatwg_ids_comments_and_leading_space_example() -> None:
    text = ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
    decoder = SSEDecoder()
    events = decoder.decode(text)
    assert events == [
        ServerSentEvent("message", "first event", id="1"),
        ServerSentEvent("message", "second event", id=""),  # a bare `id` resets the last event id
        ServerSentEvent("message", " third event", id=""),  # only one leading space is removed
    ]
    assert decoder.comments == 1


def test_whatwg_empty_data_example() -> None:
    decoder = SSEDecoder()
    events = decoder.decode("data\n\ndata\ndata\n\ndata:")
    assert events == [ServerSentEvent("message", ""), ServerSentEvent("message", "\n")]
    assert decoder.pending
    assert decoder.flush() == []  # the unterminated last event is not dispatched


def test_whatwg_space_after_colon_is_optional() -> None:
    events = SSEDecoder().decode("data:test\n\ndata: test\n\n")
    assert events == [ServerSentEvent("message", "test"), ServerSentEvent("message", "test")]


def test_crlf_cr_and_lf_line_ends_all_work() -> None:
    events = SSEDecoder().decode("event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\revent: c\ndata: 3\n\n")
    assert [(e.event, e.data) for e in events] == [("a", "1"), ("b", "2"), ("c", "3")]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.decode("data: x\r") == []
    # The LF completing that CRLF must not be read as the blank line that dispatches.
    assert decoder.decode("\n") == []
    assert decoder.decode("data: y\r") == []
    assert decoder.decode("\r") == [ServerSentEvent("message", "x\ny")]  # CR CR: dispatched at once


def test_a_field_split_across_chunks() -> None:
    decoder = SSEDecoder()
    assert decoder.decode("ev") == []
    assert decoder.decode("ent: text_chunk\nda") == []
    assert decoder.decode('ta: {"a":') == []
    assert decoder.decode(" 1}\n") == []
    assert decoder.decode("\n") == [ServerSentEvent("text_chunk", '{"a": 1}')]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_chunking_of_the_spec_sample_gives_the_same_events(data: st.DataObject) -> None:
    text = SPEC_SAMPLE.replace("}\nevent:", "}\n\nevent:").replace("\n", "\r\n") + "\r\n"
    whole = SSEDecoder().decode(text)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(text) - 1), max_size=40)))
    decoder = SSEDecoder()
    events = []
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        events += decoder.decode(text[start:end])
    assert events == whole
    assert len(whole) == 61


def test_byte_order_mark_at_stream_start_is_ignored() -> None:
    assert SSEDecoder().decode("\ufeffdata: a\n\n") == [ServerSentEvent("message", "a")]


def test_event_name_defaults_to_message_and_is_reset_after_dispatch() -> None:
    events = SSEDecoder().decode("event: ping\ndata: 1\n\ndata: 2\n\n")
    assert [e.event for e in events] == ["ping", "message"]


def test_retry_is_taken_only_when_all_digits() -> None:
    decoder = SSEDecoder()
    events = decoder.decode("retry: 2500\ndata: a\n\nretry: 10s\ndata: b\n\n")
    assert [e.retry for e in events] == [2500, None]
    assert decoder.retry == 2500


def test_retry_alone_sets_the_reconnection_time_without_an_event() -> None:
    decoder = SSEDecoder()
    assert decoder.decode("retry:1500\n\n") == []
    assert decoder.retry == 1500


def test_id_with_nul_is_ignored_and_ids_persist() -> None:
    decoder = SSEDecoder()
    events = decoder.decode("id: 7\ndata: a\n\nid: 8\x00\ndata: b\n\ndata: c\n\n")
    assert [e.id for e in events] == ["7", "7", "7"]


def test_id_of_a_block_without_data_still_counts_but_an_unfinished_block_does_not() -> None:
    decoder = SSEDecoder()
    decoder.decode("id: 4\n\n")
    assert decoder.last_event_id == "4"
    decoder.decode("id: 5\ndata: cut off")
    decoder.flush()
    # A reconnect must ask for what comes after 4: event 5 never arrived whole.
    assert decoder.last_event_id == "4"


def test_unknown_fields_are_ignored() -> None:
    assert SSEDecoder().decode("foo: bar\ndata: a\n\n") == [ServerSentEvent("message", "a")]


# ----------------------------------------------------------------------------------------------
# Bounds
# ----------------------------------------------------------------------------------------------


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
