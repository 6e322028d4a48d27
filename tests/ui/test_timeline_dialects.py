"""Every dialect's streamed reply reads the same on the timeline: its text is one row, grouped by the
category of the row kinds (console/trace_kinds.py), whatever the dialect calls a piece of text."""

from __future__ import annotations

import json

from console.dialects.agent.engine import AgentEngine
from console.dialects.agui.engine import AguiEngine
from console.dialects.chat.engine import ChatEngine
from console.dialects.sse.engine import SSEEngine
from console.dialects.sse.event_stream import ServerSentEvent
from console.session import Conversation
from console.trace_kinds import Category
from console.ui.timeline_model import TimelineModel
from console.ui.timeline_rows import Row

PIECES = ["The ", "weather ", "is ", "fine."]


def text_rows(conversation: Conversation) -> list[Row]:
    model = TimelineModel()
    model.feed_history(list(conversation.trace))
    return [row for row in model.rows if row.category is Category.TEXT]


def assert_one_finished_row(conversation: Conversation) -> None:
    rows = text_rows(conversation)
    assert [(row.tokens, row.text(), row.streaming) for row in rows] == [(4, "The weather is fine.", False)]


def test_the_agent_dialects_reply_is_one_text_row() -> None:
    engine = AgentEngine()
    engine.connected(0.0)
    engine.send_user_message("weather?", 0.5)
    for seq, piece in enumerate(PIECES, 1):
        engine.receive(json.dumps({"type": "TOKEN", "seq": seq, "text": piece, "stream_id": "s1"}), 1.0)
    engine.receive(json.dumps({"type": "STREAM_END", "seq": 5, "stream_id": "s1"}), 1.1)
    assert_one_finished_row(engine.conversation)


def test_the_sse_dialects_reply_is_one_text_row() -> None:
    engine = SSEEngine()
    engine.connected(0.0)
    events: list[tuple[str, dict[str, object]]] = [("message_start", {"role": "agent"})]
    events += [("text_chunk", {"chunk": piece, "index": n}) for n, piece in enumerate(PIECES)]
    events += [("message_end", {})]
    for name, fields in events:
        data = json.dumps({"event": name, "messageId": "m1", **fields})
        engine.receive(ServerSentEvent(name, data), 1.0)
    assert_one_finished_row(engine.conversation)


def test_the_chat_dialects_reply_is_one_text_row() -> None:
    engine = ChatEngine(new_id=lambda: "c1")
    engine.connected(0.0)
    engine.send_user_message("weather?", 0.5)
    for n, piece in enumerate(PIECES):
        frame = {"tag": "message", "chunk": piece, "chatId": "c1"}
        engine.receive(json.dumps(frame | ({"done": True} if n == len(PIECES) - 1 else {})), 1.0)
    engine.receive(json.dumps({"chatId": "c1", "tag": "done"}), 1.1)
    assert_one_finished_row(engine.conversation)


def test_the_agui_dialects_reply_is_one_text_row() -> None:
    engine = AguiEngine(thread_id="t1", ids=lambda: "r1")
    engine.connected(0.0)
    engine.send_user_message("weather?", 0.5)
    assert engine.next_request(0.5) is not None
    events = [{"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"}]
    events += [{"type": "TEXT_MESSAGE_START", "messageId": "a", "role": "assistant"}]
    events += [{"type": "TEXT_MESSAGE_CONTENT", "messageId": "a", "delta": piece} for piece in PIECES]
    events += [{"type": "TEXT_MESSAGE_END", "messageId": "a"}]
    events += [{"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1"}]
    for event in events:
        engine.receive(json.dumps(event), None, 1.0)
    engine.ended(1.1, "the stream ended")
    assert_one_finished_row(engine.conversation)


def test_a_tool_call_splits_the_text_into_two_runs_and_the_result_links_to_the_call() -> None:
    engine = AguiEngine(thread_id="t1", ids=lambda: "r1")
    engine.connected(0.0)
    engine.send_user_message("weather?", 0.5)
    assert engine.next_request(0.5) is not None
    events = [
        {"type": "RUN_STARTED", "threadId": "t1", "runId": "r1"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "a", "delta": "Looking"},
        {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "weather"},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": "{}"},
        {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        {"type": "TOOL_CALL_RESULT", "messageId": "t", "toolCallId": "c1", "content": "sunny"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "a", "delta": "Sunny."},
        {"type": "RUN_FINISHED", "threadId": "t1", "runId": "r1"},
    ]
    for event in events:
        engine.receive(json.dumps(event), None, 1.0)
    model = TimelineModel()
    model.feed_history(list(engine.conversation.trace))
    text = [(row.ordinal, row.text()) for row in model.rows if row.category is Category.TEXT]
    assert text == [(0, "Looking"), (1, "Sunny.")]
    call = next(row for row in model.rows if row.kind == "TOOL_CALL_START")
    linked = [row.kind for row in model.rows if row.link == call.id]
    assert linked == ["TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT"]


def test_a_dialect_outside_the_console_groups_by_the_kinds_its_descriptor_registers() -> None:
    from tests.dialects.toy import DIALECT
    from tests.dialects.toy.engine import ToyEngine

    assert DIALECT.trace_kinds["PART"] is Category.TEXT
    engine = ToyEngine()
    engine.connected(0.0)
    engine.send_user_message("weather?", 0.5)
    for piece in PIECES:
        engine.receive(f"part {piece}", 1.0)
    engine.receive("end", 1.1)
    assert_one_finished_row(engine.conversation)
