"""The agent client engine driven with plain strings and a fake clock, and the recorded real session."""

from __future__ import annotations

import json
from pathlib import Path

from console.connection import ConnectionState
from console.dialects.agent.engine import AgentEngine, EngineConfig
from console.session import ToolBlock

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "agent_server_normal_session.jsonl"


def frame(**fields: object) -> str:
    return json.dumps(fields)


def token(seq: int, text: str, sid: str = "s1") -> str:
    return frame(type="TOKEN", seq=seq, text=text, stream_id=sid)


def sent(engine: AgentEngine) -> list[dict[str, object]]:
    return [json.loads(f) for f in engine.data_to_send()]


def state(engine: AgentEngine) -> ConnectionState:
    """The state now (a function, so that type narrowing of one check does not leak into the next)."""
    return engine.state


def live_engine(config: EngineConfig | None = None) -> AgentEngine:
    engine = AgentEngine(config=config)
    engine.connected(0.0)
    return engine


def test_recorded_real_session_replays_into_the_right_messages() -> None:
    engine = live_engine()
    expected_out: list[dict[str, object]] = []
    actual_out: list[dict[str, object]] = []
    replies: dict[str, str] = {}
    for line in FIXTURE.read_text().splitlines():
        record = json.loads(line)
        now = record["t"] / 1000
        f = record["frame"]
        if record["dir"] == "out":
            expected_out.append(f)
            if f["type"] == "USER_MESSAGE":
                engine.send_user_message(f["content"], now)
        else:
            engine.receive(json.dumps(f), now)
            if f["type"] == "TOKEN":
                replies[f["stream_id"]] = replies.get(f["stream_id"], "") + f["text"]
        actual_out += sent(engine)
    conversation = engine.conversation
    assert actual_out == expected_out  # same prompts, ACKs and PONGs, in the same order
    users = [m for m in conversation.messages if m.role == "user"]
    agents = [m for m in conversation.messages if m.role == "assistant"]
    assert [m.text for m in users] == [
        "hello",
        "summarize the q3 report",
        "analyze and compare the regions",
        "lookup churn definition",
        "show the database schema",
        "write a long detailed document",
        "what can you do for me",
    ]
    assert {m.stream_id: m.text for m in agents} == replies
    assert all(m.status == "done" for m in agents)
    assert [m.reply_to for m in agents] == [m.id for m in users]
    # Seq numbering restarts with every response: no frame was taken for a duplicate.
    assert engine.sequencer.stats.duplicates == 0
    assert engine.sequencer.stats.restarts == 6
    # The text before a tool call stays in its own block, the rest continues after the card.
    q3 = agents[1]
    kinds = [type(b).__name__ for b in q3.blocks]
    assert kinds == ["TextBlock", "ToolBlock", "TextBlock"]
    tool = q3.blocks[1]
    assert isinstance(tool, ToolBlock) and tool.status == "done"
    assert tool.result == {"value": "23.4%", "period": "YoY", "raw_amount": 4250000, "currency": "USD"}
    # A reply that starts with a tool call has the card first.
    assert isinstance(agents[3].blocks[0], ToolBlock)
    assert set(conversation.contexts) == {
        "ctx_session",
        "ctx_report",
        "ctx_analysis",
        "ctx_search",
        "ctx_schema",
        "ctx_doc",
    }
    assert len(conversation.contexts["ctx_report"]) == 2


def test_ping_is_answered_on_receipt_even_behind_a_gap() -> None:
    engine = live_engine()
    engine.receive(token(1, "a"), 0.1)
    engine.receive(frame(type="PING", seq=3, challenge="c0ffee"), 0.2)  # seq 2 is missing
    assert sent(engine) == [{"type": "PONG", "echo": "c0ffee"}]
    engine.receive(frame(type="PING", seq=4, challenge=""), 0.3)
    assert sent(engine) == [{"type": "PONG", "echo": ""}]


def test_tokens_out_of_order_and_duplicated_render_once_in_order() -> None:
    engine = live_engine()
    engine.send_user_message("hi", 0.0)
    for seq, text in [(1, "Hel"), (3, "wor"), (2, "lo "), (2, "lo "), (4, "ld"), (3, "wor")]:
        engine.receive(token(seq, text), 0.1)
    engine.receive(frame(type="STREAM_END", seq=5, stream_id="s1"), 0.2)
    reply = engine.conversation.messages[-1]
    assert reply.text == "Hello world"
    assert reply.status == "done"
    assert engine.sequencer.stats.duplicates == 2


def test_tool_call_is_acked_once_applied_and_again_after_a_reconnect() -> None:
    engine = live_engine()
    engine.send_user_message("report", 0.0)
    sent(engine)
    engine.receive(token(1, "Revenue grew "), 0.1)
    engine.receive(frame(type="TOOL_CALL", seq=2, call_id="tc1", tool_name="m", args={}, stream_id="s1"), 0.2)
    assert sent(engine) == [{"type": "TOOL_ACK", "call_id": "tc1"}]
    assert state(engine) is ConnectionState.TOOL_CALL_PENDING
    engine.disconnected(0.3, "connection lost", retry_in=0.5)
    assert state(engine) is ConnectionState.RECONNECTING
    engine.connected(0.8)
    assert sent(engine) == [{"type": "RESUME", "last_seq": 2}, {"type": "TOOL_ACK", "call_id": "tc1"}]
    assert state(engine) is ConnectionState.RESUMING
    engine.receive(frame(type="TOOL_RESULT", seq=3, call_id="tc1", result={"v": 1}, stream_id="s1"), 1.0)
    engine.receive(token(4, "23%"), 1.1)
    assert state(engine) is ConnectionState.STREAMING
    reply = engine.conversation.messages[-1]
    assert [b.status for b in reply.blocks if isinstance(b, ToolBlock)] == ["done"]
    assert reply.text == "Revenue grew 23%"


def test_a_tool_call_held_behind_a_gap_is_acked_before_the_server_deadline() -> None:
    engine = live_engine(EngineConfig(ack_deadline=1.5, gap_timeout=10))
    engine.send_user_message("x", 0.0)
    sent(engine)
    engine.receive(frame(type="TOOL_CALL", seq=2, call_id="tc9", tool_name="m", args={}, stream_id="s1"), 0.0)
    engine.tick(1.0)
    assert sent(engine) == []
    engine.tick(1.6)
    assert sent(engine) == [{"type": "TOOL_ACK", "call_id": "tc9"}]
    engine.receive(token(1, "x"), 1.7)  # the gap fills: the call is applied but not acked twice
    assert sent(engine) == []
    assert any(e.kind == "EARLY_ACK" for e in engine.conversation.trace)


def test_a_gap_that_does_not_fill_forces_a_reconnect_and_then_is_skipped() -> None:
    engine = live_engine(EngineConfig(gap_timeout=2.0, max_gap_resumes=1))
    engine.send_user_message("x", 0.0)
    engine.receive(token(1, "a"), 0.0)
    engine.receive(token(3, "c"), 0.1)
    engine.tick(0.2)
    engine.tick(1.0)
    assert not engine.wants_reconnect
    engine.tick(2.3)
    assert engine.wants_reconnect
    engine.disconnected(2.4, "reconnecting to replay a gap", 0.5)
    engine.connected(2.9)
    assert sent(engine)[-1] == {"type": "RESUME", "last_seq": 1}
    engine.tick(3.0)
    engine.tick(5.5)
    assert engine.conversation.messages[-1].text == "ac"
    assert any(e.kind == "GAP_SKIPPED" for e in engine.conversation.trace)


def test_a_reply_that_stalls_after_a_drop_is_interrupted_keeps_its_text_and_can_be_retried() -> None:
    engine = live_engine(EngineConfig(stall_timeout=5.0))
    engine.send_user_message("tell me", 0.0)
    sent(engine)
    engine.receive(token(1, "Part"), 0.1)
    engine.disconnected(0.2, "dropped", 0.5)
    engine.connected(0.7)
    sent(engine)
    engine.tick(4.0)
    assert engine.conversation.messages[-1].status == "streaming"
    engine.tick(5.2)
    reply = engine.conversation.messages[-1]
    assert reply.status == "interrupted"
    assert reply.text == "Part"
    assert state(engine) is ConnectionState.OPEN
    engine.retry(reply.id, 6.0)
    assert sent(engine) == [{"type": "USER_MESSAGE", "content": "tell me"}]


def test_prompts_typed_during_a_reply_are_queued_until_it_ends() -> None:
    engine = live_engine()
    engine.send_user_message("first", 0.0)
    engine.send_user_message("second", 0.1)
    assert sent(engine) == [{"type": "USER_MESSAGE", "content": "first"}]
    engine.receive(token(1, "one"), 0.2)
    engine.receive(frame(type="STREAM_END", seq=2, stream_id="s1"), 0.3)
    assert sent(engine) == [{"type": "USER_MESSAGE", "content": "second"}]
    engine.receive(token(1, "two", "s2"), 0.4)
    replies = [m.text for m in engine.conversation.messages if m.role == "assistant"]
    assert replies == ["one", "two"]


def test_bad_frames_show_on_the_trace_and_lose_nothing() -> None:
    engine = live_engine()
    engine.send_user_message("x", 0.0)
    engine.receive(token(1, "keep "), 0.1)
    engine.receive('{"type": "TOKEN", "seq": 2, "te', 0.2)  # malformed: no seq consumed
    engine.receive(frame(type="MYSTERY", seq=2), 0.3)  # unknown type but holds seq 2
    engine.receive(token(3, "going"), 0.4)
    engine.receive(frame(type="ERROR", seq=4, code="OVERLOADED", message="busy"), 0.5)
    engine.receive(frame(type="STREAM_END", seq=5, stream_id="s1"), 0.6)
    conversation = engine.conversation
    assert conversation.messages[-1].text == "keep going"
    assert conversation.messages[-1].status == "done"
    errors = [e.summary for e in conversation.trace if e.kind == "PROTOCOL_ERROR"]
    assert len(errors) == 2 and "malformed JSON" in errors[0] and "MYSTERY" in errors[1]
    assert [n.text for n in conversation.notices] == ["OVERLOADED: busy"]


def test_user_message_before_connecting_is_sent_once_connected() -> None:
    engine = AgentEngine()
    engine.send_user_message("early", 0.0)
    assert sent(engine) == []
    engine.disconnected(0.1, "refused", 0.5)
    assert state(engine) is ConnectionState.CONNECTING
    engine.connected(0.6)
    assert sent(engine) == [{"type": "USER_MESSAGE", "content": "early"}]


def test_a_listener_without_deltas_hears_no_token_yet_the_counts_add_up() -> None:
    engine = live_engine()
    every: list[str] = []
    coarse: list[str] = []
    engine.conversation.subscribe(lambda change: every.append(type(change).__name__))
    engine.conversation.subscribe(lambda change: coarse.append(type(change).__name__), deltas=False)
    engine.send_user_message("x", 0.0)
    engine.receive(token(1, "one "), 0.1)
    engine.receive(token(2, "two"), 0.2)
    engine.receive("not json", 0.25)
    engine.receive(frame(type="STREAM_END", seq=3, stream_id="s1"), 0.3)
    assert every.count("TextAppended") == 2 and every.count("TraceAdded") >= 5
    assert "TextAppended" not in coarse and "TraceAdded" not in coarse
    assert {"MessageAdded", "MessageStatusChanged"} <= set(coarse)
    conversation = engine.conversation
    assert (
        conversation.counts.received,
        conversation.counts.protocol_errors,
        conversation.counts.text_deltas,
    ) == (4, 1, 2)


def test_a_streaming_reply_needs_no_tick_until_its_stall_rule_may_come_due() -> None:
    engine = live_engine(EngineConfig(stall_timeout=5.0, idle_timeout=30.0))
    engine.send_user_message("tell me", 0.0)
    sent(engine)
    engine.receive(token(1, "Part"), 2.0)
    assert engine.ticking and not engine.urgent
    assert engine.tick_slack(3.0) == 29.0  # idle bound from the last progress: no tick needed before
    engine.tick(31.9)
    assert last_status(engine) == "streaming"
    engine.disconnected(4.0, "dropped", 0.5)  # a drop shortens the bound (the transport hurries a tick)
    engine.connected(4.5)
    sent(engine)
    assert engine.tick_slack(5.0) == 2.0
    engine.tick(7.0)
    assert last_status(engine) == "interrupted"


def last_status(engine: AgentEngine) -> str:
    """The newest message's status (a function: narrowing one check must not leak into the next)."""
    return engine.conversation.messages[-1].status
