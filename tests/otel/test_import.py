"""OTLP/JSON files opened through the console's "open trace" path: what other tools write."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from console.otel.otlp_json import encode
from console.session import ToolBlock
from console.trace_io import TraceFormatError, open_trace


def recorded() -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def test_an_openinference_trace_as_phoenix_records_it_opens_as_a_reply_with_its_tool_card() -> None:
    provider, memory = recorded()
    tracer = provider.get_tracer("openinference.instrumentation.test")
    with tracer.start_as_current_span(
        "agent", attributes={"openinference.span.kind": "AGENT", "input.value": "Weather in Paris?"}
    ) as agent:
        with tracer.start_as_current_span("llm", attributes={"openinference.span.kind": "LLM"}):
            pass
        with tracer.start_as_current_span(
            "get_weather",
            attributes={
                "openinference.span.kind": "TOOL",
                "tool.name": "get_weather",
                "input.value": '{"city": "Paris"}',
                "output.value": '{"temp": 21}',
            },
        ):
            pass
        agent.set_attribute("output.value", "Sunny, 21 degrees.")
    replay = open_trace(encode(memory.get_finished_spans()), "phoenix.jsonl")
    user, reply = replay.conversation.messages
    assert (user.role, user.text) == ("user", "Weather in Paris?")
    assert (reply.status, reply.text) == ("done", "Sunny, 21 degrees.")
    (tool,) = [b for b in reply.blocks if isinstance(b, ToolBlock)]
    assert (tool.tool_name, tool.args, tool.result) == ("get_weather", {"city": "Paris"}, {"temp": 21})
    assert isinstance(reply.blocks[0], ToolBlock)  # the answer follows the tool it used


def test_a_failed_agent_span_is_an_interrupted_reply_and_other_spans_are_rows_of_the_tree() -> None:
    provider, memory = recorded()
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handle request"):
        with tracer.start_as_current_span(
            "invoke_agent planner", attributes={"gen_ai.operation.name": "invoke_agent"}
        ) as agent:
            agent.set_attribute(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
            )
            agent.set_status(Status(StatusCode.ERROR, "model timed out"))
    replay = open_trace(encode(memory.get_finished_spans()), "failed.jsonl")
    reply = replay.conversation.messages[-1]
    assert (reply.status, reply.note) == ("interrupted", "model timed out")
    rows = [(e.kind, e.summary.replace("\u00a0", " ")) for e in replay.conversation.trace]
    assert rows[0][0] == "SPAN" and rows[0][1].startswith("handle request · ")
    assert rows[1][0] == "INVOKE_AGENT" and rows[1][1].startswith("  └ invoke_agent planner · ")
    assert rows[1][1].endswith(" · error")
    details = json.loads(next(e for e in replay.conversation.trace if e.kind == "INVOKE_AGENT").raw or "")
    assert details["status_message"] == "model timed out"


def test_base64_ids_and_a_pretty_printed_document_are_read_and_bad_lines_are_reported() -> None:
    provider, memory = recorded()
    with trace.get_tracer("app", tracer_provider=provider).start_as_current_span(
        "chat model", attributes={"gen_ai.operation.name": "chat"}
    ):
        pass
    line = json.loads(encode(memory.get_finished_spans()))
    span = line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["spanId"] = "AAECAwQFBgc="  # base64, as protobuf's own JSON mapping writes ids
    pretty = json.dumps(line, indent=2)
    assert [e.kind for e in open_trace(pretty, "pretty.json").conversation.trace] == ["CHAT"]
    text = json.dumps(line) + "\n{not json\n" + json.dumps({"resourceSpans": "nope"}) + "\n"
    replay = open_trace(text, "mixed.jsonl")
    assert json.loads(replay.conversation.trace[0].raw or "")["span_id"] == "0001020304050607"
    assert len(replay.loaded.problems) == 2 and replay.loaded.problems[0].startswith("line 2: not JSON")
    with pytest.raises(TraceFormatError, match="no OTLP spans"):
        open_trace('{"resourceSpans": 5}\n', "bad.json")
