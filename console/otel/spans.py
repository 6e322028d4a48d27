"""Records -> spans, through an OpenTelemetry SDK tracer (whatever processors its provider has).

The tree, per the GenAI conventions (see conventions.py):

    invoke_agent {agent}            one per reply, from the prompt to the reply's outcome (CLIENT)
      events: agent_console.<incident>, agent_console.context_snapshot
      execute_tool {tool}           one per tool call, from the call to its result (INTERNAL)
    agent_console.connection        incidents and snapshots between replies (INTERNAL)

A reply that did not finish (interrupted, error) has status ERROR with the reason, and `error.type`.
The reply's prompt and text go in `gen_ai.input.messages` / `gen_ai.output.messages` (the text and
tool-call parts in the order the chat shows them), so a trace opened later shows the same chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from console.otel import conventions as cv
from console.otel.records import Incident, Reply, SessionInfo, Snapshot, TextPart, ToolPart

Attributes = dict[str, AttributeValue]


@dataclass(slots=True)
class Grouped:
    """Incidents and snapshots sorted into the replies they happened in."""

    replies: list[tuple[Reply, list[Incident], list[Snapshot]]]
    loose_incidents: list[Incident]
    loose_snapshots: list[Snapshot]
    kept_incidents: list[Incident]  # after the start of a reply still in progress: for its span
    kept_snapshots: list[Snapshot]


def group(
    replies: Sequence[Reply],
    incidents: Sequence[Incident],
    snapshots: Sequence[Snapshot],
    open_since: float | None = None,
) -> Grouped:
    out = Grouped([(r, [], []) for r in replies], [], [], [], [])
    windows = sorted(out.replies, key=lambda item: item[0].start)
    for incident in incidents:
        home = _window(windows, incident.at)
        if home is not None:
            home[1].append(incident)
        elif open_since is not None and incident.at >= open_since:
            out.kept_incidents.append(incident)
        else:
            out.loose_incidents.append(incident)
    for snapshot in snapshots:
        home = _window(windows, snapshot.at)
        if home is not None:
            home[2].append(snapshot)
        elif open_since is not None and snapshot.at >= open_since:
            out.kept_snapshots.append(snapshot)
        else:
            out.loose_snapshots.append(snapshot)
    return out


def _window(
    windows: list[tuple[Reply, list[Incident], list[Snapshot]]], at: float
) -> tuple[Reply, list[Incident], list[Snapshot]] | None:
    # Few replies per batch (one, live): a scan is the simplest correct search.
    for item in windows:
        if item[0].start <= at <= item[0].end:
            return item
    return None


class SpanWriter:
    """Writes one session's records as spans with `tracer`."""

    def __init__(self, tracer: Tracer, info: SessionInfo) -> None:
        self.tracer = tracer
        self.info = info

    def _ns(self, at: float) -> int:
        return int((at + self.info.wall_offset) * 1e9)

    def _common(self) -> Attributes:
        return {cv.CONVERSATION_ID: self.info.conversation_id}

    def write(self, grouped: Grouped) -> int:
        """All spans of a grouping; returns how many."""
        count = 0
        for reply, incidents, snapshots in grouped.replies:
            count += self.reply(reply, incidents, snapshots)
        if grouped.loose_incidents or grouped.loose_snapshots:
            count += self.connection(grouped.loose_incidents, grouped.loose_snapshots)
        return count

    def reply(self, reply: Reply, incidents: Sequence[Incident], snapshots: Sequence[Snapshot]) -> int:
        info = self.info
        attributes = self._common() | {
            cv.OPERATION: cv.INVOKE_AGENT,
            cv.AGENT_NAME: info.name,
            cv.AGENT_ID: info.session_id,
            cv.OUTPUT_MESSAGES: jsonvalue.dumps([_output_message(reply)]),
            cv.FINISH_REASONS: (_finish_reason(reply),),
            cv.TIME_TO_FIRST_CHUNK: round(max(0.0, reply.first_at - reply.start), 6),
            cv.MESSAGE_ID: reply.message_id,
            cv.MESSAGE_STATUS: reply.status,
        }
        if info.dialect:
            attributes[cv.PROVIDER] = info.dialect  # the wire dialect the console spoke to the agent
        if reply.prompt is not None:
            prompt: JsonObject = {"role": "user", "parts": [{"type": "text", "content": reply.prompt}]}
            attributes[cv.INPUT_MESSAGES] = jsonvalue.dumps([prompt])
        span = self.tracer.start_span(
            f"{cv.INVOKE_AGENT} {info.name}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=self._ns(reply.start),
        )
        self._events(span, incidents, snapshots)
        if reply.status != "done":
            span.set_attribute(cv.ERROR_TYPE, reply.status)
            span.set_status(Status(StatusCode.ERROR, reply.note or reply.status))
        parent = trace.set_span_in_context(span)
        count = 1
        for part in reply.parts:
            if isinstance(part, ToolPart):
                self._tool(part, reply, parent)
                count += 1
        span.end(end_time=self._ns(reply.end))
        return count

    def _tool(self, part: ToolPart, reply: Reply, parent: Context) -> None:
        attributes = self._common() | {
            cv.OPERATION: cv.EXECUTE_TOOL,
            cv.TOOL_NAME: part.tool_name,
            cv.TOOL_CALL_ID: part.call_id,
            cv.TOOL_TYPE: "function",
            cv.TOOL_ARGUMENTS: jsonvalue.dumps(part.args),
        }
        if part.result is not None:
            attributes[cv.TOOL_RESULT] = jsonvalue.dumps(part.result)
        span = self.tracer.start_span(
            f"{cv.EXECUTE_TOOL} {part.tool_name}",
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=self._ns(part.called_at),
        )
        if part.result is None:
            span.set_attribute(cv.ERROR_TYPE, "no_result")
            span.set_status(Status(StatusCode.ERROR, "no result arrived"))
        end = part.result_at if part.result_at is not None else max(reply.end, part.called_at)
        span.end(end_time=self._ns(end))

    def connection(self, incidents: Sequence[Incident], snapshots: Sequence[Snapshot]) -> int:
        times = [i.at for i in incidents] + [s.at for s in snapshots]
        span = self.tracer.start_span(
            cv.CONNECTION_SPAN,
            kind=SpanKind.INTERNAL,
            attributes=self._common() | {cv.AGENT_ID: self.info.session_id},
            start_time=self._ns(min(times)),
        )
        self._events(span, incidents, snapshots)
        span.end(end_time=self._ns(max(times)))
        return 1

    def _events(self, span: trace.Span, incidents: Sequence[Incident], snapshots: Sequence[Snapshot]) -> None:
        for incident in incidents:
            attributes: Attributes = {cv.SUMMARY: incident.summary}
            if incident.seq is not None:
                attributes[cv.SEQ] = incident.seq
            span.add_event(cv.INCIDENT_PREFIX + incident.kind.lower(), attributes, self._ns(incident.at))
        for snapshot in snapshots:
            attributes = {
                cv.CONTEXT_ID: snapshot.context_id,
                cv.CONTEXT_SIZE: snapshot.size,
                cv.CONTEXT_DIFF: snapshot.diff,
            }
            if snapshot.changes is not None:
                attributes[cv.CONTEXT_CHANGES] = snapshot.changes
            span.add_event(cv.CONTEXT_EVENT, attributes, self._ns(snapshot.at))


def _finish_reason(reply: Reply) -> str:
    return "stop" if reply.status == "done" else reply.status


def _output_message(reply: Reply) -> JsonObject:
    parts: list[JsonValue] = []
    for part in reply.parts:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "content": part.text})
        else:
            parts.append(
                {"type": "tool_call", "id": part.call_id, "name": part.tool_name, "arguments": part.args}
            )
    return {"role": "assistant", "parts": parts, "finish_reason": _finish_reason(reply)}
