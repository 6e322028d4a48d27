"""A timeline open for days keeps what its window of rows needs, not every stream it ever saw, and
still numbers each stream's text runs as the chat does."""

from __future__ import annotations

import json

from console.dialects.agent.engine import AgentEngine
from console.session import Conversation
from console.ui.timeline_model import TimelineModel

REPLIES = 3_000
MAX_ROWS = 200


def frame(**fields: object) -> str:
    return json.dumps(fields)


def test_a_long_session_leaves_the_timeline_bounded_and_its_text_runs_numbered() -> None:
    engine = AgentEngine(Conversation())
    engine.connected(0.0)
    model = TimelineModel(max_rows=MAX_ROWS)
    fed = 0
    for n in range(REPLIES):
        now = n * 0.01
        engine.send_user_message(f"prompt {n}", now)
        sid, call = f"s{n}", f"tc{n}"
        for raw in (
            frame(type="TOKEN", seq=1, text="before ", stream_id=sid),
            frame(type="TOOL_CALL", seq=2, call_id=call, tool_name="lookup", args={}, stream_id=sid),
            frame(type="TOOL_RESULT", seq=3, call_id=call, result={"n": n}, stream_id=sid),
            frame(type="TOKEN", seq=4, text="after", stream_id=sid),
            frame(type="TOOL_CALL", seq=5, call_id=f"{call}b", tool_name="lookup", args={}, stream_id=sid),
            frame(type="TOOL_RESULT", seq=6, call_id=f"{call}b", result={}, stream_id=sid),
            frame(type="STREAM_END", seq=7, stream_id=sid),
        ):
            engine.receive(raw, now)
        trace = engine.conversation.trace
        for entry in trace[fed - trace.dropped :]:
            model.feed(entry)
        fed = trace.dropped + len(trace)
        model.take_ops()
    assert len(model.rows) == MAX_ROWS
    assert len(model._ordinals) <= MAX_ROWS and len(model._broken) <= MAX_ROWS
    assert not model._runs or all(row.id in model.by_id for row in model._runs.values())
    # The newest reply's two text runs, numbered as the chat numbers its text blocks.
    last = [row for row in model.rows if row.stream_id == f"s{REPLIES - 1}" and row.grouped]
    assert [(row.text(), row.ordinal) for row in last] == [("before ", 0), ("after", 1)]
