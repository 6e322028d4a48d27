"""Live export: a chaos session against the simulator becomes GenAI spans with the incidents as events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from console.otel import conventions as cv
from console.otel.exporter import OtelExport
from console.otel.otlp_json import encode
from console.session import Conversation, ToolBlock
from console.sim.agent import AgentSimulator, ChaosRates, SimConfig
from console.supervisor import Supervisor
from console.trace_io import open_trace
from tests.helpers import converse
from tests.otel.helpers import open_session

PROMPTS = ["summarize the q3 report", "analyze and compare the regions", "lookup churn definition"]


@pytest.fixture
async def chaos_sim() -> AsyncIterator[AgentSimulator]:
    chaos = ChaosRates.only(drop=0.5, duplicate=0.4, reorder=0.4, rapid_tools=0.5, malformed=0.3)
    sim = AgentSimulator(SimConfig(mode="chaos", seed=11, time_scale=0.05, ping_interval=0.3, chaos=chaos))
    await sim.start()
    yield sim
    await sim.stop()


def by_operation(spans: list[ReadableSpan], operation: str) -> list[ReadableSpan]:
    return [s for s in spans if s.attributes and s.attributes.get(cv.OPERATION) == operation]


def attr(span: ReadableSpan, key: str) -> object:
    assert span.attributes is not None
    return span.attributes.get(key)


def tools_of(conversation: Conversation) -> list[tuple[str, str, object, object]]:
    return [
        (b.call_id, b.tool_name, b.args, b.result)
        for m in conversation.messages
        for b in m.blocks
        if isinstance(b, ToolBlock)
    ]


def replies_of(conversation: Conversation) -> list[tuple[str, str]]:
    return [(m.text, m.status) for m in conversation.messages if m.role == "assistant"]


async def test_a_chaos_session_is_a_reply_span_per_reply_with_tool_spans_and_incident_events(
    chaos_sim: AgentSimulator,
) -> None:
    hub = Supervisor()
    memory = InMemorySpanExporter()
    otel = OtelExport(hub, memory, destination="memory", interval=0.05)
    otel.start()
    entry = open_session(hub, chaos_sim, "chaos")
    try:
        await converse(entry.client, PROMPTS)
    finally:
        await hub.close()
        await otel.close()
    live = entry.client.conversation
    spans = list(memory.get_finished_spans())
    replies = by_operation(spans, cv.INVOKE_AGENT)
    messages = [m for m in live.messages if m.role == "assistant"]
    assert len(replies) == len(messages) >= len(PROMPTS)
    conversation_ids = {attr(s, cv.CONVERSATION_ID) for s in spans}
    assert len(conversation_ids) == 1 and str(conversation_ids.pop()).startswith("chaos-")

    # Each reply: its prompt, its text and outcome, its timing.
    for span, message in zip(sorted(replies, key=lambda s: s.start_time or 0), messages, strict=True):
        assert span.name == "invoke_agent chaos"
        assert attr(span, cv.MESSAGE_ID) == message.id
        output = json.loads(str(attr(span, cv.OUTPUT_MESSAGES)))
        text = "".join(p["content"] for p in output[0]["parts"] if p["type"] == "text")
        assert text == message.text
        assert (span.status.is_ok) == (message.status == "done")
        assert span.start_time is not None and span.end_time is not None and span.end_time > span.start_time
        prompt = json.loads(str(attr(span, cv.INPUT_MESSAGES)))
        assert prompt[0]["parts"][0]["content"] == live.prompt_of(message)

    # Each tool call: an execute_tool child of its reply, with id, name, arguments and result.
    tool_spans = by_operation(spans, cv.EXECUTE_TOOL)
    reply_ids = {s.context.span_id: s for s in replies}
    assert len(tool_spans) == len(tools_of(live)) > 0
    for span in tool_spans:
        assert span.parent is not None and span.parent.span_id in reply_ids
        call = next(t for t in tools_of(live) if t[0] == attr(span, cv.TOOL_CALL_ID))
        assert span.name == f"execute_tool {call[1]}" and attr(span, cv.TOOL_NAME) == call[1]
        assert json.loads(str(attr(span, cv.TOOL_ARGUMENTS))) == call[2]
        assert json.loads(str(attr(span, cv.TOOL_RESULT))) == call[3]

    # The chaos is in the events: drops, resumes, duplicates, malformed frames, each once per trace row.
    events = [(e.name, e) for s in spans for e in s.events]
    names = {name for name, _ in events}
    assert {"agent_console.disconnected", "agent_console.resume", "agent_console.duplicate"} <= names
    assert "agent_console.protocol_error" in names
    incident_rows = [e for e in live.trace if e.kind in cv.INCIDENT_KINDS]
    exported = [e for name, e in events if name != cv.CONTEXT_EVENT]
    assert len(exported) == len(incident_rows)
    for span in replies:  # an event on a reply happened during it
        start, end = span.start_time or 0, span.end_time or 0
        assert all(start <= e.timestamp <= end for e in span.events)

    # Context snapshots: size and what changed, never the payload.
    snapshots = [e for name, e in events if name == cv.CONTEXT_EVENT]
    assert len(snapshots) == sum(len(h) for h in live.contexts.values()) > 0
    for event in snapshots:
        assert event.attributes is not None
        assert isinstance(event.attributes[cv.CONTEXT_SIZE], int)
        assert all(len(str(v)) < 400 for v in event.attributes.values())
    assert any(e.attributes and e.attributes.get(cv.CONTEXT_CHANGES) for e in snapshots)

    # Round trip: console -> OTLP/JSON -> console keeps every reply and tool call.
    reopened = open_trace(encode(spans), "chaos.otlp.json").conversation
    assert replies_of(reopened) == [
        (m.text, "done" if m.status == "done" else "interrupted") for m in messages
    ]
    assert tools_of(reopened) == tools_of(live)
    assert [m.text for m in reopened.messages if m.role == "user"] == [
        m.text for m in live.messages if m.role == "user"
    ]
