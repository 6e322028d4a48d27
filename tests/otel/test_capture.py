"""What the live capture hands the exporter, driven through the agent engine with plain frames."""

from __future__ import annotations

import json

from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.otel.capture import LATE_GRACE, LiveCapture
from console.otel.records import TextPart, ToolPart


def frame(**fields: object) -> str:
    return json.dumps(fields)


def engine() -> AgentEngine:
    e = AgentEngine(config=EngineConfig(idle_timeout=5, stall_timeout=5))
    e.connected(0.0)
    return e


def test_a_reply_is_captured_once_at_its_end_with_its_prompt_text_and_tool_call() -> None:
    e = engine()
    capture = LiveCapture(e.conversation)
    e.send_user_message("report please", 0.1)
    e.receive(frame(type="TOKEN", seq=1, text="Revenue ", stream_id="s1"), 0.2)
    e.receive(
        frame(type="TOOL_CALL", seq=2, call_id="t1", tool_name="lookup", args={"q": 1}, stream_id="s1"), 0.3
    )
    assert capture.take().replies == []  # streaming: nothing yet
    e.receive(frame(type="TOOL_RESULT", seq=3, call_id="t1", result={"v": 2}, stream_id="s1"), 0.9)
    e.receive(frame(type="TOKEN", seq=4, text="grew.", stream_id="s1"), 1.0)
    e.receive(frame(type="STREAM_END", seq=5, stream_id="s1"), 1.1)
    (reply,) = capture.take().replies
    assert (reply.prompt, reply.start, reply.end, reply.status) == ("report please", 0.1, 1.1, "done")
    assert reply.parts == (
        TextPart("Revenue "),
        ToolPart("t1", "lookup", {"q": 1}, 0.3, {"v": 2}, 0.9),
        TextPart("grew."),
    )
    assert capture.take().replies == []


def test_a_stalled_reply_that_streams_again_is_captured_whole_when_it_ends() -> None:
    e = engine()
    capture = LiveCapture(e.conversation)
    e.send_user_message("hi", 0.1)
    e.receive(frame(type="TOKEN", seq=1, text="Hel", stream_id="s1"), 0.2)
    e.tick(6.0)  # no data for 5 s: interrupted
    assert e.conversation.messages[-1].status == "interrupted"
    assert capture.take().replies == []  # maybe only late
    e.receive(frame(type="TOKEN", seq=2, text="lo", stream_id="s1"), 7.0)
    e.receive(frame(type="STREAM_END", seq=3, stream_id="s1"), 7.5)
    (reply,) = capture.take().replies
    assert (reply.status, reply.parts, reply.end) == ("done", (TextPart("Hello"),), 7.5)


def test_a_stalled_reply_that_never_resumes_is_captured_interrupted_after_the_grace() -> None:
    e = engine()
    capture = LiveCapture(e.conversation)
    e.send_user_message("hi", 0.1)
    e.receive(frame(type="TOKEN", seq=1, text="Hel", stream_id="s1"), 0.2)
    e.tick(6.0)
    e.receive(frame(type="PING", challenge="c"), 6.0 + LATE_GRACE / 2)
    first = capture.take()
    assert first.replies == [] and "STALLED" in {i.kind for i in first.incidents}
    assert capture.open_since() == 0.1  # the incidents since its prompt wait for its span
    e.receive(frame(type="PING", challenge="d"), 6.0 + LATE_GRACE)
    (reply,) = capture.take().replies
    assert (reply.status, reply.end, reply.parts) == ("interrupted", 6.0, (TextPart("Hel"),))
    assert capture.open_since() is None
