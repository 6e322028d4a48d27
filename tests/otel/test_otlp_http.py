"""What the console sends to an OTLP/HTTP collector, decoded by a loopback collector (protobuf)."""

from __future__ import annotations

import asyncio
import json
import time

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from console.clients import Target
from console.dialects.chat.client import ChatClient
from console.otel import conventions as cv
from console.otel.exporter import FLUSH_SECONDS, OtelExport, endpoint_from
from console.otel.spanview import spans_of
from console.otel.status import describe, metrics
from console.sim.agent import AgentSimulator, SimConfig
from console.sim.chat import ChatSimConfig, ChatSimulator
from console.supervisor import Supervisor
from tests.helpers import converse, free_port
from tests.otel.helpers import open_session
from tests.otel.receiver import collector


def test_the_endpoint_comes_from_the_flag_or_the_standard_variables_and_nothing_is_sent_by_default() -> None:
    assert endpoint_from(None, {}) is None
    assert endpoint_from("http://127.0.0.1:4318", {}) == "http://127.0.0.1:4318/v1/traces"
    assert endpoint_from("http://c:4318/v1/traces", {}) == "http://c:4318/v1/traces"
    assert endpoint_from(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == "http://c:4318/v1/traces"
    traces = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b/t"}
    assert endpoint_from(None, traces) == "http://b/t"
    assert endpoint_from(None, traces | {"OTEL_TRACES_EXPORTER": "none"}) is None
    assert endpoint_from("http://c:4318", {"OTEL_SDK_DISABLED": "true"}) is None


async def test_a_collector_receives_the_sessions_replies_as_protobuf_genai_spans() -> None:
    sim = AgentSimulator(SimConfig(seed=3, time_scale=0.05, ping_interval=0.3))
    await sim.start()
    hub = Supervisor()
    try:
        with collector() as (url, received):
            endpoint = endpoint_from(url, {})
            assert endpoint is not None
            otel = OtelExport(hub, OTLPSpanExporter(endpoint=endpoint), destination=endpoint, interval=0.05)
            otel.start()
            entry = open_session(hub, sim, "to-collector")
            await converse(entry.client, ["summarize the q3 report"])
            await hub.close()
            await otel.close()  # flushes the batch
            stats = otel.stats()
            requests = received.decoded()
    finally:
        await sim.stop()
    assert {path for path, _, _ in received.requests} == {"/v1/traces"}
    assert stats.state == "ok" and stats.sent == stats.spans > 0 and stats.queued == 0
    request = requests[0]
    resource = {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "agent-console"
    scope_spans = request.resource_spans[0].scope_spans[0]
    assert scope_spans.scope.name == cv.SCOPE and scope_spans.schema_url == cv.SCHEMA_URL
    spans = spans_of(requests)
    reply = next(s for s in spans if s.operation == cv.INVOKE_AGENT)
    message = next(m for m in entry.client.conversation.messages if m.role == "assistant")
    assert reply.name == "invoke_agent to-collector" and not reply.error
    assert reply.attributes[cv.AGENT_ID] == "to-collector"
    output = json.loads(str(reply.attributes[cv.OUTPUT_MESSAGES]))
    assert "".join(p["content"] for p in output[0]["parts"] if p["type"] == "text") == message.text
    tools = [s for s in spans if s.operation == cv.EXECUTE_TOOL]
    assert tools and all(t.parent_id == reply.span_id and t.trace_id == reply.trace_id for t in tools)
    assert all(cv.TOOL_RESULT in t.attributes for t in tools)


async def test_closing_does_not_wait_for_a_dead_collectors_retries() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/v1/traces"  # nothing listens there
    otel = OtelExport(Supervisor(), OTLPSpanExporter(endpoint=endpoint, timeout=30), destination=endpoint)
    otel.start()
    otel.tracer.start_span("queued").end()
    started = time.monotonic()
    await otel.close()
    assert time.monotonic() - started < FLUSH_SECONDS + 3


async def test_a_collector_that_refuses_shows_as_failing_and_the_switch_stops_the_export() -> None:
    sim = AgentSimulator(SimConfig(seed=5, time_scale=0.05, ping_interval=0.3))
    await sim.start()
    hub = Supervisor()
    try:
        with collector() as (url, received):
            received.status = 400  # a bad request is not retried: the failure shows at once
            otel = OtelExport(
                hub, OTLPSpanExporter(endpoint=url + "/v1/traces"), destination=url, interval=0.05
            )
            otel.start()
            entry = open_session(hub, sim, "refused")
            await converse(entry.client, ["hello"])
            for _ in range(200):
                if otel.stats().failing:
                    break
                otel.provider.force_flush()
                await asyncio.sleep(0.05)
            assert otel.stats().state == "failing" and otel.stats().failed > 0
            scrape = metrics(otel.stats())
            assert "agent_console_otlp_failing 1" in scrape and "agent_console_otlp_enabled 1" in scrape
            assert "refused or did not answer" in describe(otel.stats())
            otel.set_enabled(False)
            written = otel.stats().spans
            await converse(entry.client, ["hello again"])
            await otel.tick()
            assert otel.stats().state == "off" and otel.stats().spans == written
            assert "agent_console_otlp_enabled 0" in metrics(otel.stats())
            await hub.close()
            await otel.close()
    finally:
        await sim.stop()


async def test_each_chat_of_a_chat_session_is_a_conversation_of_its_own() -> None:
    sim = ChatSimulator(ChatSimConfig(token_delay=0, think_delay=0))
    await sim.start()
    hub = Supervisor()
    memory = InMemorySpanExporter()
    otel = OtelExport(hub, memory, destination="memory", interval=0.05)
    otel.start()
    try:
        client = ChatClient(sim.url)
        hub.add(Target("chat", sim.url), name="chats", client=client)
        first = client.send_user_message("hello there")
        second_chat = client.new_chat()
        client.send_user_message("and a second question", second_chat)
        for _ in range(500):
            if otel.stats().spans >= 2:  # both replies written
                break
            await asyncio.sleep(0.02)
        await hub.close()
        await otel.close()
    finally:
        await sim.stop()
    spans = [s for s in memory.get_finished_spans() if s.name.startswith("invoke_agent")]
    ids = {str((s.attributes or {}).get(cv.CONVERSATION_ID)) for s in spans}
    assert len(spans) == 2 and len(ids) == 2 and any(second_chat in i for i in ids)
    prompts = sorted(
        json.loads(str((s.attributes or {})[cv.INPUT_MESSAGES]))[0]["parts"][0]["content"] for s in spans
    )
    assert prompts == ["and a second question", first.text]
