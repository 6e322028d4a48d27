"""An OTLP trace opened as a read-only session: replies and tool cards in the chat, the span tree on
the timeline.

Replies: a GenAI `invoke_agent` span (the outermost one, when agents call agents) is one reply; a file
with no such span has a reply per outermost `chat` span. The reply's prompt is the last user text of
its input messages; its parts (text and tool calls, in order) come from its output messages, else from
the output messages of the `chat` spans under it (Pydantic AI), else from Pydantic AI's run messages.
Each tool call's result comes from its `execute_tool` span (`gen_ai.tool.call.result`). A reply whose
span has status ERROR shows as interrupted, with the status message as the reason.

Timeline: one row per span, depth first (the tree, indented), with its duration; one row per span
event (the console's own incidents come back as the rows they were: DUPLICATE, STALLED, ...). Opening a
row shows the span's attributes and events.
"""

from __future__ import annotations

from collections.abc import Iterable

from console import events as ev
from console import jsonvalue
from console.connection import ConnectionState, LinkStatus
from console.jsonvalue import JsonObject, JsonValue
from console.otel import conventions as cv
from console.otel.otlp_json import decode
from console.otel.spanview import SpanTree, SpanView, spans_of
from console.session import Conversation
from console.trace_io import LoadedTrace, ReplayClient
from console.trace_kinds import TraceKind, as_kind

INDENT = "\u00a0\u00a0"  # the timeline collapses plain spaces
# A span's row is named for its GenAI operation; any other span is a SPAN.
SPAN_KINDS: dict[str, TraceKind] = {
    cv.INVOKE_AGENT: "INVOKE_AGENT",
    cv.CHAT: "CHAT",
    cv.EXECUTE_TOOL: "EXECUTE_TOOL",
}
OUTCOME_BAD = frozenset({"interrupted", "error"})


def duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def open_otlp(text: str, name: str = "trace") -> ReplayClient:
    """An OTLP/JSON file as a session; raises OtlpFormatError (a ValueError) when it is not one."""
    requests, problems = decode(text)
    return ReplayClient(load_spans(spans_of(requests), problems), name)


def load_spans(spans: list[SpanView], problems: Iterable[str] = ()) -> LoadedTrace:
    tree = SpanTree(spans)
    t0 = min((s.start for s in spans), default=0)
    conversation = Conversation()
    builder = SessionBuilder(conversation, tree, t0)
    for root in reply_roots(tree):
        builder.reply(root)
    builder.rows()
    conversation.set_link(LinkStatus(ConnectionState.CLOSED))  # a file: nothing more will come
    end = max((s.end for s in spans), default=t0)
    return LoadedTrace(
        conversation=conversation,
        started_at=t0 / 1e9 if spans else None,
        dropped=0,
        frames=len(spans),
        duration=(end - t0) / 1e9,
        problems=tuple(problems),
    )


def reply_roots(tree: SpanTree) -> list[SpanView]:
    for operation, above in ((cv.INVOKE_AGENT, {cv.INVOKE_AGENT}), (cv.CHAT, {cv.INVOKE_AGENT, cv.CHAT})):
        roots = [
            s
            for s in tree.spans
            if s.operation == operation and not any(a.operation in above for a in tree.ancestors(s))
        ]
        if roots:
            return roots
    return []


# -- GenAI messages ----------------------------------------------------------------------------------


def _messages(span: SpanView, key: str) -> list[JsonObject]:
    value = span.json(key)
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def _parts(message: JsonObject) -> list[JsonObject]:
    parts = message.get("parts")
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _text_of(message: JsonObject) -> str:
    return "".join(str(p.get("content", "")) for p in _parts(message) if p.get("type") == "text")


def prompt_of(root: SpanView, chats: list[SpanView]) -> str | None:
    for span, key in (
        [(root, cv.INPUT_MESSAGES)]
        + [(c, cv.INPUT_MESSAGES) for c in chats[:1]]
        + [(root, cv.PYDANTIC_AI_MESSAGES)]
    ):
        users = [m for m in _messages(span, key) if m.get("role") == "user" and _text_of(m)]
        if users:
            # The prompt of this run: the last user text before the first answer.
            return _text_of(users[-1] if key == cv.INPUT_MESSAGES else users[0])
    return root.text(cv.OI_INPUT)  # OpenInference: the agent's input as text


def output_parts(root: SpanView, chats: list[SpanView]) -> list[JsonObject]:
    own = [p for m in _messages(root, cv.OUTPUT_MESSAGES) for p in _parts(m)]
    if own:
        return own
    from_chats = [p for c in chats for m in _messages(c, cv.OUTPUT_MESSAGES) for p in _parts(m)]
    if from_chats:
        return from_chats
    messages = _messages(root, cv.PYDANTIC_AI_MESSAGES)
    from_run = [p for m in messages if m.get("role") == "assistant" for p in _parts(m)]
    if from_run:
        return from_run
    # OpenInference: no message parts; the tool spans (added after these) and the output text.
    output = root.text(cv.OI_OUTPUT)
    return [{"type": "text", "content": output}] if output else []


def _object(value: JsonValue) -> JsonObject:
    """Tool arguments and results as the chat's cards hold them: an object (JSON text parsed)."""
    if isinstance(value, str):
        try:
            value = jsonvalue.loads(value)
        except jsonvalue.JsonDecodeError:
            return {"value": value}
    return value if isinstance(value, dict) else {"value": value}


# -- building ---------------------------------------------------------------------------------------


class SessionBuilder:
    def __init__(self, conversation: Conversation, tree: SpanTree, t0: int) -> None:
        self.conversation = conversation
        self.tree = tree
        self.t0 = t0
        self.message_of: dict[str, str] = {}  # reply span id -> message id

    def at(self, ns: int) -> float:
        return (ns - self.t0) / 1e9

    def reply(self, root: SpanView) -> None:
        below = self.tree.descendants(root)
        chats = [s for s in below if s.operation == cv.CHAT]
        tools = {s.tool_call_id(): s for s in below if s.operation == cv.EXECUTE_TOOL}
        conversation, sid, start = self.conversation, root.span_id, self.at(root.start)
        prompt = prompt_of(root, chats)
        if prompt is not None:
            conversation.add_user_message(prompt, start)
        conversation.apply(ev.MessageStart(sid), start)
        message = conversation.streaming
        if message is not None:
            self.message_of[root.span_id] = message.id
        parts = output_parts(root, chats)
        if not any(p.get("type") == "tool_call" for p in parts):
            # No tool-call parts to place the tool spans: they come before the text (the answer
            # follows the tools it used).
            for call_id, span in list(tools.items()):
                self._tool(sid, start, call_id, span.tool_name(), span.tool_args(), tools.pop(call_id))
        for part in parts:
            kind = part.get("type")
            if kind == "text":
                conversation.apply(ev.TextDelta(sid, str(part.get("content", ""))), start)
            elif kind == "tool_call":
                call_id = str(part.get("id") or "")
                name = str(part.get("name") or "")
                self._tool(sid, start, call_id, name, part.get("arguments"), tools.pop(call_id, None))
        for call_id, span in tools.items():  # tool spans no output message mentions
            self._tool(sid, start, call_id, span.tool_name(), span.tool_args(), span)
        end = self.at(root.end)
        status = root.text(cv.MESSAGE_STATUS)
        if root.error or status in OUTCOME_BAD:
            conversation.mark_interrupted(root.status_message or status or "failed", end)
        else:
            conversation.apply(ev.StreamEnd(sid), end)

    def _tool(
        self, sid: str, start: float, call_id: str, name: str, args: JsonValue, span: SpanView | None
    ) -> None:
        called = self.at(span.start) if span else start
        if span is not None:
            name = span.tool_name() if span.tool_name() != span.name or not name else name
            args = span.tool_args() if args is None else args
        self.conversation.apply(ev.ToolCall(sid, call_id, name, _object(args or {})), called)
        result = span.tool_result() if span is not None else None
        if span is not None and result is not None:
            self.conversation.apply(ev.ToolResult(sid, call_id, _object(result)), self.at(span.end))

    def rows(self) -> None:
        """The span tree as timeline rows."""
        for depth, span in self.tree.walk():
            self.row(depth, span)

    def row(self, depth: int, span: SpanView) -> None:
        """A span's row, and a row for each of its events."""
        record = self.conversation.record
        lead = INDENT * depth + ("└ " if depth else "")
        took = duration((span.end - span.start) / 1e9)
        summary = f"{lead}{span.name} · {took}" + (" · error" if span.error else "")
        op = span.operation
        ref = span.tool_call_id() if op == cv.EXECUTE_TOOL else self.message_of.get(span.span_id)
        raw = jsonvalue.dumps(span.details(), indent=True)
        record(self.at(span.start), "client", SPAN_KINDS.get(op, "SPAN"), summary, raw=raw, ref=ref)
        for event in span.events:
            kind: TraceKind = (
                as_kind(event.name.removeprefix(cv.INCIDENT_PREFIX).upper())
                if event.name.startswith(cv.INCIDENT_PREFIX)
                else "EVENT"
            )
            said = event.attributes.get(cv.SUMMARY) or event.attributes.get(cv.CONTEXT_DIFF) or ""
            text = f"{INDENT * (depth + 1)}• {event.name}" + (f": {said}" if said else "")
            record(
                self.at(event.time),
                "client",
                kind,
                text,
                raw=jsonvalue.dumps(event.attributes, indent=True),
            )
