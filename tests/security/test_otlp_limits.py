"""Spans sent to `POST /v1/traces` open a session per service: a flood of service names meets the cap."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from console.otel import receive
from console.otel.otlp_json import encode
from console.security.middleware import SecurityMiddleware
from console.security.policy import Limits, SecurityPolicy, current, set_current
from console.supervisor import Supervisor


@pytest.fixture
def policy() -> Iterator[SecurityPolicy]:
    before = current()
    chosen = SecurityPolicy(limits=Limits(max_sessions=2, max_trace_bytes=64 * 1024))
    set_current(chosen)
    yield chosen
    set_current(before)


def spans_of(service: str) -> bytes:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("test").start_as_current_span("chat gpt"):
        pass
    return encode(memory.get_finished_spans()).encode()


async def test_new_services_stop_at_the_session_cap_and_large_bodies_at_the_door(
    policy: SecurityPolicy,
) -> None:
    hub = Supervisor()
    app = FastAPI()
    receive.register(app, hub)
    app.add_middleware(SecurityMiddleware, policy=policy)
    json = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"
    ) as http:
        answers = [
            (await http.post("/v1/traces", content=spans_of(f"svc-{n}"), headers=json)).status_code
            for n in range(3)
        ]
        refused = await http.post("/v1/traces", content=spans_of("svc-9"), headers=json)
        again = await http.post("/v1/traces", content=spans_of("svc-0"), headers=json)  # a known service
        large = await http.post("/v1/traces", content=b"x" * (200 * 1024), headers=json)
    assert answers == [200, 200, 429]
    assert refused.status_code == 429 and "the limit is 2" in refused.text
    assert again.status_code == 200
    assert large.status_code == 413 and "the limit is 64 KB" in large.text
    assert sorted(e.name for e in hub.sessions.values()) == ["otlp svc-0", "otlp svc-1"]
    await hub.close()
