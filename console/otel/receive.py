"""`POST /v1/traces`: an instrumented agent sends its spans to the console (OTLP/HTTP, protobuf or
JSON, gzip or not), and sees them as a session of their own next to its live stream.

Each service (`service.name`) is one read-only session, `otlp <service>`, that grows as spans arrive:
every span becomes a timeline row when it arrives (indented under the ancestors already known), and a
reply appears in the chat when its `invoke_agent` span arrives (the SDK's batch processor sends a
span when it ends, so the agent span comes after the chat and tool spans under it). A `chat` span
with no parent at all is a reply too (a model called without an agent).
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from console.capabilities import WATCHED
from console.clients import Target
from console.connection import ConnectionState, LinkStatus
from console.otel import conventions as cv
from console.otel.otlp_json import decode_json, decode_protobuf
from console.otel.replay import SessionBuilder
from console.otel.spanview import SpanTree, SpanView, spans_of
from console.security.limits import LimitError, check_session_room
from console.session import Conversation
from console.supervisor import Supervisor
from console.trace_io import LoadedTrace, ReplayClient

MAX_BODY: Final = 16 * 1024 * 1024  # bytes of one request, decompressed
MAX_SPANS: Final = 20_000  # spans a received session keeps for the tree (the oldest go first)
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"


class ReceivedTraces(ReplayClient):
    """A session fed by `POST /v1/traces`: looked at, never sent to; live (spans come as they are sent)."""

    capabilities = WATCHED

    def __init__(self, service: str, t0: int) -> None:
        conversation = Conversation()
        conversation.set_link(LinkStatus(ConnectionState.OPEN))  # spans come as the agent sends them
        super().__init__(LoadedTrace(conversation, t0 / 1e9, 0, 0, 0.0, ()), f"otlp {service}")
        self.url = f"otlp:{service}"
        self.builder = SessionBuilder(conversation, SpanTree([]), t0)
        self.built: set[str] = set()

    def add(self, spans: list[SpanView]) -> int:
        tree = self.builder.tree
        new = [s for s in spans if (s.trace_id, s.span_id) not in tree.by_id]
        if not new:
            return 0
        if len(tree.by_id) + len(new) > MAX_SPANS:  # the tree starts over; the rows stay
            tree = self.builder.tree = SpanTree([])
        for span in new:
            tree.add(span)
        for span in new:
            self.builder.row(len(tree.ancestors(span)), span)
        for span in new:
            if span.span_id not in self.built and _reply_root(tree, span):
                self.built.add(span.span_id)
                self.builder.reply(span)
        return len(new)


def _reply_root(tree: SpanTree, span: SpanView) -> bool:
    if span.operation == cv.INVOKE_AGENT:
        return not any(a.operation == cv.INVOKE_AGENT for a in tree.ancestors(span))
    return span.operation == cv.CHAT and not span.parent_id


class SpanInbox:
    """Spans sent to the console, a session per service."""

    def __init__(self, owner: Supervisor) -> None:
        self.owner = owner
        self.sessions: dict[str, ReceivedTraces] = {}

    def accept(self, spans: list[SpanView]) -> int:
        count = 0
        by_service: dict[str, list[SpanView]] = {}
        for span in spans:
            by_service.setdefault(span.service or "unknown_service", []).append(span)
        for service, group in by_service.items():
            client = self.sessions.get(service)
            if client is None or client.url not in {e.client.url for e in self.owner.sessions.values()}:
                check_session_room(
                    len(self.owner.sessions)
                )  # new service names cannot open sessions without end
                client = self.sessions[service] = ReceivedTraces(service, min(s.start for s in group))
                self.owner.add(Target("agent", client.url), name=client.name, client=client)
            count += client.add(group)
        return count


@dataclass(frozen=True, slots=True)
class Parsed:
    spans: list[SpanView]
    as_json: bool  # the answer goes in the request's encoding (the OTLP/HTTP rules)


def parse(body: bytes, content_type: str, encoding: str) -> Parsed:
    """An OTLP/HTTP request body as spans; raises ValueError (with the reason) when it is not one.
    Decompressing and decoding a large request takes a while: run it off the loop."""
    as_json = content_type.split(";")[0].strip().lower() == JSON
    try:
        data = _inflate(body, encoding.strip().lower())
        request = decode_json(data) if as_json else decode_protobuf(data)
    except zlib.error as exc:
        raise ValueError(f"cannot decompress the request ({exc})") from exc
    return Parsed(spans_of([request]), as_json)


def answer(as_json: bool) -> Response:
    response = ExportTraceServiceResponse()
    if as_json:
        return Response(json_format.MessageToJson(response), media_type=JSON)
    return Response(response.SerializeToString(), media_type=PROTOBUF)


def _inflate(body: bytes, encoding: str) -> bytes:
    """The body, decompressed, never past MAX_BODY (a small bomb stays small)."""
    if encoding in ("", "identity"):
        data = body
    elif encoding in ("gzip", "deflate"):
        inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)  # 31: a gzip header
        data = inflater.decompress(body, MAX_BODY + 1)
    else:
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    if len(data) > MAX_BODY:
        raise ValueError(f"request larger than {MAX_BODY:,} bytes")
    return data


def register(app: FastAPI, owner: Supervisor) -> SpanInbox:
    """Mount `POST /v1/traces` on the console's server."""
    inbox = SpanInbox(owner)

    @app.post("/v1/traces")
    async def traces(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(f"request larger than {MAX_BODY:,} bytes", status_code=413)
        headers = request.headers
        try:
            parsed = await asyncio.to_thread(
                parse, body, headers.get("content-type", ""), headers.get("content-encoding", "")
            )
        except ValueError as exc:  # OtlpFormatError included
            return Response(str(exc), status_code=400, media_type="text/plain")
        try:
            inbox.accept(parsed.spans)
        except LimitError as exc:
            return Response(str(exc), status_code=429, media_type="text/plain")
        return answer(parsed.as_json)

    return inbox
