"""The agent dialect decoder: every server frame, and every way a frame can be bad."""

from __future__ import annotations

import json

import pytest

from console import events as ev
from console.dialects.agent import protocol as proto


def test_token_frame_decodes_to_text_delta() -> None:
    frame = proto.decode('{"type": "TOKEN", "seq": 2, "text": "Based on ", "stream_id": "s_01"}')
    assert frame.kind == "TOKEN"
    assert frame.seq == 2
    assert frame.event == ev.TextDelta(stream_id="s_01", text="Based on ")


def test_every_server_frame_of_the_spec_example_decodes() -> None:
    frames = [
        {"type": "CONTEXT_SNAPSHOT", "seq": 1, "context_id": "ctx_01", "data": {"pages": 47}},
        {
            "type": "TOOL_CALL",
            "seq": 5,
            "call_id": "tc_01",
            "tool_name": "lookup_metric",
            "args": {"metric": "revenue_yoy"},
            "stream_id": "s_01",
        },
        {
            "type": "TOOL_RESULT",
            "seq": 6,
            "call_id": "tc_01",
            "result": {"value": "23.4%"},
            "stream_id": "s_01",
        },
        {"type": "PING", "seq": 15, "challenge": "a1b2c3"},
        {"type": "STREAM_END", "seq": 42, "stream_id": "s_01"},
        {"type": "ERROR", "seq": 43, "code": "RATE_LIMITED", "message": "slow down"},
    ]
    events = [proto.decode(json.dumps(f)).event for f in frames]
    assert events == [
        ev.ContextSnapshot("ctx_01", {"pages": 47}, size=len(json.dumps(frames[0]))),
        ev.ToolCall("s_01", "tc_01", "lookup_metric", {"metric": "revenue_yoy"}),
        ev.ToolResult("s_01", "tc_01", {"value": "23.4%"}),
        ev.Heartbeat("a1b2c3"),
        ev.StreamEnd("s_01"),
        ev.ServerError("RATE_LIMITED", "slow down"),
    ]


def test_empty_challenge_is_a_valid_ping_and_is_echoed() -> None:
    frame = proto.decode('{"type": "PING", "seq": 3, "challenge": ""}')
    assert frame.event == ev.Heartbeat("")
    assert json.loads(proto.pong("")) == {"type": "PONG", "echo": ""}


@pytest.mark.parametrize(
    ("raw", "reason", "seq"),
    [
        ('{"type": "TOKEN", "seq": 2, "text": "Hel', "malformed JSON", None),
        ("[1, 2, 3]", "not an object", None),
        ('"PING"', "not an object", None),
        ('{"seq": 4, "text": "x"}', "no string 'type'", 4),
        ('{"type": "TELEPORT", "seq": 9}', "unknown frame type 'TELEPORT'", 9),
        ('{"type": "TOKEN", "seq": 2, "stream_id": "s"}', "field 'text' is missing", 2),
        (
            '{"type": "TOKEN", "seq": 2, "text": 5, "stream_id": "s"}',
            "field 'text' must be a string, got number",
            2,
        ),
        (
            '{"type": "TOOL_CALL", "seq": 3, "call_id": "c", "tool_name": "t", "args": [], "stream_id": "s"}',
            "field 'args' must be an object, got array",
            3,
        ),
        ('{"type": "TOKEN", "text": "x", "stream_id": "s"}', "no valid 'seq'", None),
        ('{"type": "TOKEN", "seq": true, "text": "x", "stream_id": "s"}', "no valid 'seq'", None),
        ('{"type": "CONTEXT_SNAPSHOT", "seq": 1, "context_id": "c"}', "field 'data' is missing", 1),
    ],
)
def test_bad_frames_become_protocol_errors_not_exceptions(raw: str, reason: str, seq: int | None) -> None:
    frame = proto.decode(raw)
    assert frame.kind == "INVALID"
    assert isinstance(frame.event, ev.ProtocolError)
    assert reason in frame.event.reason
    assert frame.seq == seq


def test_oversized_frame_is_rejected_with_its_size_and_only_an_excerpt_kept() -> None:
    raw = json.dumps({"type": "CONTEXT_SNAPSHOT", "seq": 1, "context_id": "c", "data": {"blob": "x" * 5000}})
    frame = proto.decode(raw, max_size=1000)
    assert isinstance(frame.event, ev.ProtocolError)
    assert "exceeds the 1000-byte limit" in frame.event.reason
    assert len(frame.event.excerpt) < 400


def test_bytes_frames_decode_like_text() -> None:
    frame = proto.decode('{"type": "TOKEN", "seq": 1, "text": "héllo", "stream_id": "s"}'.encode())
    assert frame.event == ev.TextDelta("s", "héllo")


def test_identical_frames_share_a_fingerprint_and_different_ones_do_not() -> None:
    a = proto.decode('{"type": "TOKEN", "seq": 1, "text": "a", "stream_id": "s"}')
    b = proto.decode('{"type": "TOKEN", "seq": 1, "text": "a", "stream_id": "s"}')
    c = proto.decode('{"type": "TOKEN", "seq": 1, "text": "b", "stream_id": "s"}')
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_client_frames() -> None:
    assert json.loads(proto.user_message("Summarise the Q3 report")) == {
        "type": "USER_MESSAGE",
        "content": "Summarise the Q3 report",
    }
    assert json.loads(proto.pong("a1b2c3")) == {"type": "PONG", "echo": "a1b2c3"}
    assert json.loads(proto.resume(41)) == {"type": "RESUME", "last_seq": 41}
    assert json.loads(proto.tool_ack("tc_01")) == {"type": "TOOL_ACK", "call_id": "tc_01"}
