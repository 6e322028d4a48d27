"""Spans decoded from OTLP requests as plain frozen values, and their tree.

Attribute values become JSON values (`AnyValue` is JSON-shaped: strings, numbers, booleans, arrays,
key-value lists; bytes become hex), ids become hex, times stay integer nanoseconds.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from console.otel import conventions as cv


@dataclass(frozen=True, slots=True)
class EventView:
    name: str
    time: int
    attributes: JsonObject


@dataclass(frozen=True, slots=True)
class SpanView:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start: int
    end: int
    attributes: JsonObject
    events: tuple[EventView, ...]
    error: bool
    status_message: str
    service: str
    scope: str

    @property
    def operation(self) -> str:
        """The GenAI operation: the attribute, else the first word of the name (as the conventions
        name spans: `{operation} {target}`)."""
        op = self.attributes.get(cv.OPERATION)
        if isinstance(op, str):
            return op
        kind = self.attributes.get(cv.OI_KIND)
        if isinstance(kind, str):
            return cv.OI_OPERATIONS.get(kind.upper(), "")
        first = self.name.partition(" ")[0]
        return first if first in (cv.INVOKE_AGENT, cv.CHAT, cv.EXECUTE_TOOL) else ""

    # A tool call, in the GenAI conventions' words or else OpenInference's.

    def tool_call_id(self) -> str:
        return self.text(cv.TOOL_CALL_ID) or self.text(cv.OI_TOOL_CALL_ID) or self.span_id

    def tool_name(self) -> str:
        return self.text(cv.TOOL_NAME) or self.text(cv.OI_TOOL_NAME) or self.name

    def tool_args(self) -> JsonValue:
        return (
            self.json(cv.TOOL_ARGUMENTS) if cv.TOOL_ARGUMENTS in self.attributes else self.json(cv.OI_INPUT)
        )

    def tool_result(self) -> JsonValue:
        """The result, or None when the span has none."""
        return self.json(cv.TOOL_RESULT) if cv.TOOL_RESULT in self.attributes else self.json(cv.OI_OUTPUT)

    def text(self, key: str) -> str | None:
        value = self.attributes.get(key)
        return value if isinstance(value, str) else None

    def json(self, key: str) -> JsonValue:
        """An attribute holding JSON as text (gen_ai.*.messages, tool arguments), parsed; else as is."""
        value = self.attributes.get(key)
        if isinstance(value, str):
            try:
                return jsonvalue.loads(value)
            except jsonvalue.JsonDecodeError:
                return value
        return value

    def details(self) -> JsonObject:
        """What the timeline shows when the span's row is opened."""
        out: JsonObject = {
            "name": self.name,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_id or None,
            "duration_ms": round((self.end - self.start) / 1e6, 3),
            "status": "error" if self.error else "ok",
            "service": self.service,
            "scope": self.scope,
            "attributes": self.attributes,
        }
        if self.status_message:
            out["status_message"] = self.status_message
        if self.events:
            out["events"] = [{"name": e.name, "attributes": e.attributes} for e in self.events]
        return out


def any_value(value: AnyValue) -> JsonValue:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return None


def attributes_of(pairs: Iterable[KeyValue]) -> JsonObject:
    return {pair.key: any_value(pair.value) for pair in pairs}


def spans_of(requests: Iterable[ExportTraceServiceRequest]) -> list[SpanView]:
    """Every span of the requests, once each (a span sent twice is kept once), by start time."""
    seen: dict[tuple[str, str], SpanView] = {}
    for request in requests:
        for resource_spans in request.resource_spans:
            service = attributes_of(resource_spans.resource.attributes).get("service.name")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    view = _view(span, str(service or ""), scope_spans.scope.name)
                    seen[(view.trace_id, view.span_id)] = view
    return sorted(seen.values(), key=lambda s: (s.start, s.end))


def _view(span: Span, service: str, scope: str) -> SpanView:
    events = tuple(EventView(e.name, e.time_unix_nano, attributes_of(e.attributes)) for e in span.events)
    return SpanView(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=span.parent_span_id.hex(),
        name=span.name,
        start=span.start_time_unix_nano,
        end=max(span.end_time_unix_nano, span.start_time_unix_nano),
        attributes=attributes_of(span.attributes),
        events=events,
        error=span.status.code == Status.STATUS_CODE_ERROR,
        status_message=span.status.message,
        service=service,
        scope=scope,
    )


def _start(span: SpanView) -> tuple[int, int]:
    return (span.start, span.end)


class SpanTree:
    """Parents and children of spans (a span whose parent is not in the file is a root)."""

    def __init__(self, spans: list[SpanView]) -> None:
        self.spans = spans
        self.by_id = {(s.trace_id, s.span_id): s for s in spans}
        self.children: dict[tuple[str, str], list[SpanView]] = {}
        self.roots: list[SpanView] = []
        self._orphans: dict[tuple[str, str], list[SpanView]] = {}  # roots whose parent may still come
        for span in spans:  # by start time: children lists come out ordered
            self._place(span)

    def add(self, span: SpanView) -> None:
        """One more span (spans sent as they end come children first): O(its siblings)."""
        key = (span.trace_id, span.span_id)
        if key in self.by_id:
            return
        self.by_id[key] = span
        self.spans.append(span)
        self._place(span)
        for child in self._orphans.pop(key, []):  # its children came first: they move under it
            self.roots.remove(child)
            insort(self.children.setdefault(key, []), child, key=_start)

    def _place(self, span: SpanView) -> None:
        key = (span.trace_id, span.parent_id)
        if span.parent_id and key in self.by_id:
            insort(self.children.setdefault(key, []), span, key=_start)
        else:
            self.roots.append(span)
            if span.parent_id:
                self._orphans.setdefault(key, []).append(span)

    def kids(self, span: SpanView) -> list[SpanView]:
        return self.children.get((span.trace_id, span.span_id), [])

    def walk(self) -> list[tuple[int, SpanView]]:
        """(depth, span), depth first, siblings by start time."""
        out: list[tuple[int, SpanView]] = []
        stack = [(0, root) for root in reversed(self.roots)]
        while stack:
            depth, span = stack.pop()
            out.append((depth, span))
            stack.extend((depth + 1, kid) for kid in reversed(self.kids(span)))
        return out

    def descendants(self, span: SpanView) -> list[SpanView]:
        out: list[SpanView] = []
        stack = list(reversed(self.kids(span)))
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(self.kids(node)))
        return sorted(out, key=lambda s: (s.start, s.end))

    def ancestors(self, span: SpanView) -> list[SpanView]:
        out: list[SpanView] = []
        node = self.by_id.get((span.trace_id, span.parent_id)) if span.parent_id else None
        while node is not None and len(out) < 1000:
            out.append(node)
            node = self.by_id.get((node.trace_id, node.parent_id)) if node.parent_id else None
        return out
