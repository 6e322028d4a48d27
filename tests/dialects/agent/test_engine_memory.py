"""What the agent engine remembers of its streams and acked tool calls stays bounded over a long run,
and what that memory is for still works: one TOOL_ACK per call, duplicates dropped, a late frame of
an ended reply refused."""

from __future__ import annotations

import json

from console.dialects.agent.engine import AgentEngine
from console.dialects.agent.streams import ACKED_KEPT
from console.limits import Limits
from console.session import Conversation, ToolBlock
from console.window import Window

REPLIES = 10_000
WINDOW = Window(messages=40)


def frame(**fields: object) -> str:
    return json.dumps(fields)


def acks(engine: AgentEngine) -> list[str]:
    return [str(f["call_id"]) for f in map(json.loads, engine.data_to_send()) if f["type"] == "TOOL_ACK"]


def reply(engine: AgentEngine, n: int, now: float) -> list[str]:
    """Prompt n and its reply (a token, a tool call and its result, the end), each frame sent twice
    as a chaotic network would; returns the TOOL_ACKs that went out."""
    engine.send_user_message(f"prompt {n}", now)
    sid, call = f"s{n}", f"tc{n}"
    frames = [
        frame(type="TOKEN", seq=1, text=f"reply {n}", stream_id=sid),
        frame(type="TOOL_CALL", seq=2, call_id=call, tool_name="lookup", args={}, stream_id=sid),
        frame(type="TOOL_RESULT", seq=3, call_id=call, result={"n": n}, stream_id=sid),
        frame(type="STREAM_END", seq=4, stream_id=sid),
    ]
    sent: list[str] = []
    for raw in frames:
        engine.receive(raw, now)
        sent += acks(engine)
        engine.receive(raw, now)  # the duplicate: dropped, and never acked again
        sent += acks(engine)
    return sent


def test_ten_thousand_replies_leave_the_engine_bookkeeping_bounded_and_correct() -> None:
    engine = AgentEngine(Conversation(limits=Limits(window=WINDOW)))
    engine.connected(0.0)
    for n in range(REPLIES):
        assert reply(engine, n, n * 0.01) == [f"tc{n}"]  # one ack per call, duplicates or not
    conv = engine.conversation
    assert len(engine._streams) <= WINDOW.messages  # the newest streams only
    assert len(engine._acked) == 0  # every call got its result: nothing left to remember
    assert engine.sequencer.stats.duplicates == 4 * REPLIES
    # What the user sees: the newest replies in full, each with its tool card done.
    last = conv.messages[-1]
    assert last.text == f"reply {REPLIES - 1}" and last.status == "done"
    assert [b.status for b in last.blocks if isinstance(b, ToolBlock)] == ["done"]
    # A late frame of a recent reply that ended is refused, not shown.
    errors = conv.counts.protocol_errors
    engine.receive(frame(type="TOKEN", text="late", stream_id=f"s{REPLIES - 2}"), REPLIES * 0.01)
    assert conv.counts.protocol_errors == errors + 1
    assert conv.messages[-1].text == f"reply {REPLIES - 1}"


def test_calls_never_answered_are_remembered_up_to_a_cap() -> None:
    engine = AgentEngine(Conversation(limits=Limits(window=WINDOW)))
    engine.connected(0.0)
    engine.send_user_message("many tools", 0.0)
    calls = ACKED_KEPT + 500
    for seq in range(1, calls + 1):
        engine.receive(
            frame(type="TOOL_CALL", seq=seq, call_id=f"tc{seq}", tool_name="m", args={}, stream_id="s1"),
            0.1,
        )
    assert acks(engine) == [f"tc{seq}" for seq in range(1, calls + 1)]
    assert len(engine._acked) == ACKED_KEPT
    # After a reconnect the calls still waiting are acked again (the server may have missed them).
    engine.disconnected(0.2, "connection lost", retry_in=0.1)
    engine.connected(0.3)
    assert len(acks(engine)) == engine.conversation.limits.waiting_tool_calls
