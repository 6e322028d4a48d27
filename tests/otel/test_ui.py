"""OpenTelemetry in the pages: the timeline's OTLP download, OTLP traces opened as sessions (one written
by a real instrumented Pydantic AI agent), the export's state and switch on the overview."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic_ai import Agent
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.test import TestModel

from console.clients import SessionClient, Target
from console.otel.exporter import OtelExport
from console.otel.otlp_json import encode
from console.session import ToolBlock
from console.sim.agent import AgentSimulator, SimConfig
from console.supervisor import Supervisor
from console.trace_io import ReplayClient, open_trace
from console.ui import page
from console.ui.timeline import TimelinePanel
from tests.helpers import converse, eventually, running
from tests.otel.helpers import open_session

pytestmark = pytest.mark.nicegui_main_file("")


@pytest.fixture
async def sim() -> AsyncIterator[AgentSimulator]:
    async with running(AgentSimulator(SimConfig(seed=3, time_scale=0.05, ping_interval=0.5))) as simulator:
        yield simulator


def tool_calls(client: SessionClient) -> list[tuple[str, str, object, object]]:
    conversation = client.conversation
    return [
        (b.call_id, b.tool_name, b.args, b.result)
        for m in conversation.messages
        for b in m.blocks
        if isinstance(b, ToolBlock)
    ]


async def test_the_timeline_downloads_the_session_as_otlp_json_that_opens_as_the_same_chat(
    user: User, sim: AgentSimulator
) -> None:
    hub = Supervisor()
    entry = open_session(hub, sim, "download")
    opened: list[ReplayClient] = []

    @ui.page("/otlp-timeline")
    def timeline_page() -> None:
        TimelinePanel(entry.client, on_open_trace=opened.append)

    try:
        await converse(entry.client, ["summarize the q3 report"])
        await user.open("/otlp-timeline")
        user.find(marker="timeline-otlp").click()
        response = await user.download.next()
        document = json.loads(response.text)
        spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
        assert {s["name"] for s in spans} >= {"invoke_agent " + entry.client.url}
        assert all(len(s["spanId"]) == 16 and len(s["traceId"]) == 32 for s in spans)  # OTLP/JSON: hex ids

        upload = user.find(ui.upload).elements.pop()
        assert isinstance(upload, ui.upload)
        await upload.handle_uploads(
            [ui.upload.SmallFileUpload("q3.otlp.json", "application/json", response.text.encode())]
        )
        await eventually(lambda: bool(opened))
        live = entry.client.conversation
        reopened = opened[0].conversation
        assert [(m.role, m.text) for m in reopened.messages] == [(m.role, m.text) for m in live.messages]
        assert tool_calls(opened[0]) == tool_calls(entry.client) != []
    finally:
        await hub.close()


async def weather_trace() -> str:
    """A real Pydantic AI agent (TestModel, one tool), instrumented with the OpenTelemetry SDK: its
    spans as an OTLP/JSON file."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    Agent.instrument_all(InstrumentationSettings(tracer_provider=provider))
    try:
        agent = Agent(TestModel(), name="weather")

        @agent.tool_plain
        def get_weather(city: str) -> str:
            return f"sunny in {city}"

        await agent.run("What is the weather in Paris?")
        await agent.run("And tomorrow?")
    finally:
        Agent.instrument_all(False)
    provider.shutdown()
    return encode(memory.get_finished_spans())


async def test_a_pydantic_ai_agents_trace_opens_as_replies_and_tool_cards(user: User, tmp_path: Path) -> None:
    trace_file = tmp_path / "weather.jsonl"
    trace_file.write_text(await weather_trace())
    replay = open_trace(trace_file.read_text(), trace_file.name)
    messages = replay.conversation.messages
    assert [(m.role, m.status) for m in messages] == [("user", "sent"), ("assistant", "done")] * 2
    assert [m.text for m in messages if m.role == "user"] == [
        "What is the weather in Paris?",
        "And tomorrow?",
    ]
    calls = tool_calls(replay)
    assert len(calls) == 2 and all(c[1] == "get_weather" and c[3] == {"value": "sunny in a"} for c in calls)
    assert messages[1].text == '{"get_weather":"sunny in a"}'
    rows = [(e.kind, e.summary) for e in replay.conversation.trace]
    assert [k for k, _ in rows] == ["INVOKE_AGENT", "CHAT", "EXECUTE_TOOL", "CHAT"] * 2
    assert rows[2][1].startswith("\u00a0\u00a0└ execute_tool get_weather · ")  # nested under the agent

    hub = Supervisor()
    entry = hub.add(Target("agent", replay.url), name="trace weather", client=replay)
    page.register(hub)
    try:
        await user.open(f"/session/{entry.id}")
        await user.should_see("What is the weather in Paris?")
        await user.should_see("get_weather")  # the tool card
        cards = [e for e in user.current_layout.descendants() if e.props.get("data-testid") == "tool-card"]
        assert [c.props["data-status"] for c in cards] == ["done", "done"]
    finally:
        await hub.close()


async def test_the_overview_shows_the_exports_state_and_its_switch_turns_it_off(user: User) -> None:
    hub = Supervisor()
    otel = OtelExport(hub, InMemorySpanExporter(), destination="http://collector:4318/v1/traces")
    page.register(hub, otel)
    await user.open("/")
    await user.should_see("OpenTelemetry → http://collector:4318/v1/traces: 0 spans sent, 0 queued")
    user.find(marker="otlp-switch").click()
    assert not otel.enabled
    await user.should_see("OpenTelemetry export off")
    await otel.close()
