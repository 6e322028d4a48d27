"""A session as an OTLP/JSON file: the same spans the live export sends, for one conversation."""

from __future__ import annotations

import asyncio
import time

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from console.clients import SessionClient
from console.otel import conventions as cv
from console.otel.capture import Batch, summarize_all, whole
from console.otel.exporter import span_limits
from console.otel.otlp_json import encode
from console.otel.records import SessionInfo
from console.otel.spans import SpanWriter, group
from console.trace_io import wall_offset_now


def info_of(client: SessionClient, name: str | None = None) -> SessionInfo:
    label = name or client.url
    wall = client.recording.wall_offset if client.recording is not None else wall_offset_now()
    return SessionInfo(
        conversation_id=f"{label}-{id(client.conversation):x}",
        session_id=label,
        name=label,
        dialect="",  # a page knows the client, not the dialect it was opened with
        wall_offset=wall,
    )


def otlp_json(batch: Batch, info: SessionInfo) -> str:
    """The records as one OTLP/JSON line. Diffs and encoding: run it off the event loop."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: cv.SERVICE}), span_limits=span_limits())
    provider.add_span_processor(SimpleSpanProcessor(memory))
    writer = SpanWriter(provider.get_tracer(cv.SCOPE, schema_url=cv.SCHEMA_URL), info)
    writer.write(group(batch.replies, batch.incidents, summarize_all(batch.snapshots)))
    provider.shutdown()
    return encode(memory.get_finished_spans())


async def session_file(client: SessionClient, name: str | None = None) -> tuple[str, bytes]:
    """File name and content of a session's OTLP/JSON download."""
    batch = whole(client.conversation)  # a copy, taken on the loop that owns the conversation
    text = await asyncio.to_thread(otlp_json, batch, info_of(client, name))
    return f"agent-trace-{time.strftime('%Y%m%d-%H%M%S')}.otlp.json", text.encode()
