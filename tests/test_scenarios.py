"""Scenarios are recognised from the console's own trace, as the engine records it."""

from __future__ import annotations

import json

from console.dialects.agent.engine import AgentEngine
from console.scenarios import ScenarioDetector


def frame(**fields: object) -> str:
    return json.dumps(fields)


def test_every_chaos_scenario_is_named_from_the_trace() -> None:
    engine = AgentEngine()
    detector = ScenarioDetector()
    engine.connected(0.0)
    engine.send_user_message("go", 0.0)

    def token(seq: int, at: float) -> None:
        engine.receive(frame(type="TOKEN", seq=seq, text=f"t{seq} ", stream_id="s"), at)

    token(1, 0.1)
    token(3, 0.2)  # out of order
    token(2, 0.3)
    token(2, 0.35)  # duplicate
    engine.receive(frame(type="PING", seq=4, challenge=""), 0.4)
    engine.receive(frame(type="TOOL_CALL", seq=5, call_id="a", tool_name="x", args={}, stream_id="s"), 0.5)
    engine.receive(frame(type="TOOL_CALL", seq=6, call_id="b", tool_name="y", args={}, stream_id="s"), 0.55)
    engine.receive(frame(type="CONTEXT_SNAPSHOT", seq=7, context_id="c", data={"blob": "x" * 600_000}), 0.6)
    engine.disconnected(0.7, "connection lost", 0.5)
    engine.connected(1.2)
    engine.receive(frame(type="TOOL_RESULT", seq=8, call_id="a", result={}, stream_id="s"), 4.0)  # a spike
    engine.receive(frame(type="ERROR", seq=9, code="BUSY", message="later"), 4.1)
    engine.receive("{not json", 4.2)
    kinds = [s.kind for entry in engine.conversation.trace for s in detector.feed(entry)]
    assert kinds == [
        "reorder",
        "duplicate",
        "corrupt_heartbeat",
        "rapid_tools",
        "oversized",
        "drop",
        "resume",
        "spike",
        "error",
        "malformed",
    ]


def test_a_quiet_reply_names_nothing() -> None:
    engine = AgentEngine()
    detector = ScenarioDetector()
    engine.connected(0.0)
    engine.send_user_message("go", 0.0)
    for seq in range(1, 20):
        engine.receive(frame(type="TOKEN", seq=seq, text="x ", stream_id="s"), seq * 0.05)
    engine.receive(frame(type="STREAM_END", seq=20, stream_id="s"), 1.1)
    assert [s for entry in engine.conversation.trace for s in detector.feed(entry)] == []
