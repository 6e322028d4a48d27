"""The agent dialect's server side: the frames an agent-server writes decode, in the console's own
decoder, to the events the server meant, and the client frames the console writes read back as what
the console sent; a bad client frame is named with what is wrong and the start of it."""

from __future__ import annotations

import pytest

from console import events as ev
from console.dialects.agent import protocol as proto


@pytest.mark.parametrize(
    ("frame", "event"),
    [
        (proto.token("s_1", "Based on "), ev.TextDelta(stream_id="s_1", text="Based on ")),
        (
            proto.tool_call("s_1", "tc_1", "lookup", {"metric": "revenue"}),
            ev.ToolCall(stream_id="s_1", call_id="tc_1", tool_name="lookup", args={"metric": "revenue"}),
        ),
        (
            proto.tool_result("s_1", "tc_1", {"value": 3}),
            ev.ToolResult(stream_id="s_1", call_id="tc_1", result={"value": 3}),
        ),
        (
            proto.context_snapshot("ctx_1", {"pages": 47}),
            ev.ContextSnapshot(context_id="ctx_1", data={"pages": 47}, size=0),
        ),
        (proto.ping("c0ffee"), ev.Heartbeat(challenge="c0ffee")),
        (proto.ping(""), ev.Heartbeat(challenge="")),
        (proto.stream_end("s_1"), ev.StreamEnd(stream_id="s_1")),
        (proto.error("RATE_LIMIT", "slow down"), ev.ServerError(code="RATE_LIMIT", message="slow down")),
    ],
)
def test_a_numbered_server_frame_decodes_to_the_event_it_was_built_for(
    frame: proto.ServerFrame, event: ev.Event
) -> None:
    text = frame.numbered(7)
    decoded = proto.decode(text)
    if isinstance(event, ev.ContextSnapshot):  # it also tells the size of the frame that carried it
        event = ev.ContextSnapshot(event.context_id, event.data, size=len(text))
    assert (decoded.kind, decoded.seq, decoded.event) == (frame.kind, 7, event)


def test_every_server_frame_type_has_a_builder() -> None:
    built = {
        proto.token("s", "t").kind,
        proto.tool_call("s", "c", "n", {}).kind,
        proto.tool_result("s", "c", None).kind,
        proto.context_snapshot("x", {}).kind,
        proto.ping("p").kind,
        proto.stream_end("s").kind,
        proto.error("E", "m").kind,
    }
    assert built == proto.SERVER_FRAME_TYPES


@pytest.mark.parametrize(
    ("text", "kind", "field", "value"),
    [
        (proto.user_message("hello"), "USER_MESSAGE", "content", "hello"),
        (proto.pong("c0ffee"), "PONG", "echo", "c0ffee"),
        (proto.resume(12), "RESUME", "last_seq", 12),
        (proto.tool_ack("tc_1"), "TOOL_ACK", "call_id", "tc_1"),
    ],
)
def test_the_consoles_client_frames_read_back_on_the_server_side(
    text: str, kind: str, field: str, value: object
) -> None:
    frame = proto.decode_client(text.encode())
    assert (frame.kind, frame.problem, frame.fields[field]) == (kind, "", value)


@pytest.mark.parametrize(
    ("text", "kind", "problem"),
    [
        ('{"type": "PONG", "echo": ', None, "malformed JSON"),
        ('["PONG"]', None, "no 'type'"),
        ('{"echo": "x"}', None, "no 'type'"),
        ('{"type": "HELLO"}', "HELLO", "unknown client frame type 'HELLO'"),
    ],
)
def test_a_bad_client_frame_says_what_is_wrong(text: str, kind: str | None, problem: str) -> None:
    frame = proto.decode_client(text)
    assert frame.kind == kind
    assert frame.problem.startswith(problem)
    assert frame.excerpt == text


def test_a_huge_bad_client_frame_is_reported_by_its_start() -> None:
    frame = proto.decode_client("x" * 100_000)
    assert frame.problem.startswith("malformed JSON") and len(frame.excerpt) < 300
