"""`POST /v1/traces`: a real instrumented Pydantic AI agent sends its spans to the console (protobuf,
through the SDK's OTLP/HTTP exporter), and they show as a session with its replies and tool cards."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic_ai import Agent
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.test import TestModel

from console.otel import receive
from console.otel.otlp_json import encode
from console.session import ToolBlock
from console.supervisor import Supervisor
from tests.helpers import free_port


@pytest.fixture
async def console() -> AsyncIterator[tuple[str, Supervisor]]:
    hub = Supervisor()
    app = FastAPI()
    receive.register(app, hub)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{server.config.port}", hub
    server.should_exit = True
    await task


def weather_agent(provider: TracerProvider) -> Agent[None, str]:
    Agent.instrument_all(InstrumentationSettings(tracer_provider=provider))
    agent = Agent(TestModel(), name="weather")

    @agent.tool_plain
    def get_weather(city: str) -> str:
        return f"sunny in {city}"

    return agent


async def test_an_instrumented_agent_sends_its_spans_and_they_show_as_replies_and_tool_cards(
    console: tuple[str, Supervisor],
) -> None:
    url, hub = console
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "weather-bot"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    try:
        agent = weather_agent(provider)
        await agent.run("What is the weather in Paris?")
        await asyncio.to_thread(provider.force_flush)  # the exporter's POST is blocking: not on this loop
        await agent.run("And in Rome?")
        await asyncio.to_thread(provider.force_flush)
    finally:
        Agent.instrument_all(False)
        await asyncio.to_thread(provider.shutdown)
    entry = next(e for e in hub.sessions.values() if e.name == "otlp weather-bot")
    assert not entry.client.capabilities.prompts
    messages = entry.client.conversation.messages
    assert [(m.role, m.status) for m in messages] == [("user", "sent"), ("assistant", "done")] * 2
    assert [m.text for m in messages if m.role == "user"] == ["What is the weather in Paris?", "And in Rome?"]
    tools = [b for m in messages for b in m.blocks if isinstance(b, ToolBlock)]
    assert [(t.tool_name, t.status) for t in tools] == [("get_weather", "done")] * 2
    kinds = [e.kind for e in entry.client.conversation.trace]
    assert kinds.count("INVOKE_AGENT") == 2 and kinds.count("EXECUTE_TOOL") == 2


async def test_json_and_gzip_are_accepted_and_a_bad_request_is_refused_with_its_reason(
    console: tuple[str, Supervisor],
) -> None:
    url, hub = console
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "json-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    try:
        await weather_agent(provider).run("Weather?")
    finally:
        Agent.instrument_all(False)
    body = encode(memory.get_finished_spans()).encode()
    async with httpx.AsyncClient() as http:
        sent = await http.post(
            f"{url}/v1/traces",
            content=gzip.compress(body),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        again = await http.post(
            f"{url}/v1/traces", content=body, headers={"Content-Type": "application/json"}
        )
        bad = await http.post(
            f"{url}/v1/traces", content=b"\x00junk", headers={"Content-Type": "application/x-protobuf"}
        )
    assert sent.status_code == 200 and sent.headers["content-type"].startswith("application/json")
    assert again.status_code == 200  # the same spans twice are kept once
    assert bad.status_code == 400 and "protobuf" in bad.text
    entry = next(e for e in hub.sessions.values() if e.name == "otlp json-bot")
    messages = entry.client.conversation.messages
    assert [m.text for m in messages if m.role == "user"] == ["Weather?"]
    assert len([e for e in entry.client.conversation.trace if e.kind == "INVOKE_AGENT"]) == 1
