"""AG-UI on the wire, sans-I/O: SSE `data` -> validated `ag-ui-protocol` events -> the console's events.

Theory of operation
-------------------
A run is one HTTP POST of a `RunAgentInput` answered by an SSE stream whose every `data:` is one JSON
event. `parse` turns that text into the protocol package's own pydantic model (the package is the
definition of the protocol; nothing here restates its fields), an `Unknown` for a type this version
does not name, or a `Malformed` with the reason. `RunDecoder` then maps one run's events onto the
console's vocabulary (`console.events`): the whole run is one reply (`stream_id`), so the several
text messages and tool calls a run holds become the blocks of that reply in order. Empty text
messages (Pydantic AI sends one before each tool call) add nothing. Values that are JSON in the
protocol (state, patches, results) are taken from the parsed frame, already typed, not from the
models' untyped fields.

The server-side builders (`frame`, `parse_run_input`) are what the simulator speaks with.
"""

from __future__ import annotations

from collections.abc import Callable

from ag_ui import core
from pydantic import TypeAdapter, ValidationError

from console import events as ev
from console import json_patch, jsonvalue
from console.dialects.agui.history import History
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue

PROTOCOL_VERSION = "1.0"
STATE = "state"  # the context the shared state is kept under
MESSAGES = "messages"  # the context MESSAGES_SNAPSHOT is kept under
KNOWN_TYPES = frozenset(t.value for t in core.EventType)
_EVENTS: TypeAdapter[core.Event] = TypeAdapter(core.Event)
T = core.EventType


@frozen
class Unknown:
    """An event of a type this protocol version does not name: shown, never a crash."""

    type: str


@frozen
class Malformed:
    reason: str


Parsed = core.BaseEvent | Unknown | Malformed


def parse(data: str) -> tuple[Parsed, JsonObject]:
    """One SSE `data` field: the event (or why not), and the frame as parsed JSON."""
    try:
        raw = jsonvalue.loads_checked(data)
    except jsonvalue.JsonDecodeError as exc:
        return Malformed(f"not JSON: {exc}"), {}
    if not isinstance(raw, dict):
        return Malformed(f"an event is a JSON object, not {type(raw).__name__}"), {}
    kind = raw.get("type")
    if not isinstance(kind, str):
        return Malformed("an event without a string 'type'"), raw
    if kind not in KNOWN_TYPES:
        return Unknown(kind), raw
    try:
        return _EVENTS.validate_python(raw), raw
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or kind
        return Malformed(f"{kind}: {where}: {first['msg']}"), raw


def json_object(value: JsonValue) -> JsonObject:
    """A tool's arguments or result as an object: JSON text parsed when it is an object."""
    if isinstance(value, str):
        try:
            value = jsonvalue.loads_checked(value)
        except jsonvalue.JsonDecodeError:
            return {"content": value}
    return value if isinstance(value, dict) else {"content": value}


class RunDecoder:
    """One run's events, in order, as console events; it also keeps the run's messages for history."""

    def __init__(self, stream_id: str, history: History) -> None:
        self.stream_id = stream_id
        self.history = history
        self.outcome: ev.RunOutcome | None = None  # set by RUN_FINISHED / RUN_ERROR
        self.detail = ""
        self.interrupts: dict[str, str] = {}  # tool call id -> interrupt id, while paused
        self._args: dict[str, list[str]] = {}  # tool call id -> arguments so far
        self._chunk_call: str | None = None  # an open TOOL_CALL_CHUNK call
        self._chunk_text: str | None = None  # the message id of TEXT_MESSAGE_CHUNKs without one
        self._activities: dict[str, bytes] = {}
        self._size = 0  # bytes of the event being decoded (for the context entries it makes)
        self._handlers: dict[str, Callable[[core.BaseEvent, JsonObject], list[ev.Event]]] = {
            T.RUN_STARTED: self._run_started,
            T.RUN_FINISHED: self._run_finished,
            T.RUN_ERROR: self._run_error,
            T.STEP_STARTED: self._step,
            T.STEP_FINISHED: self._step,
            T.TEXT_MESSAGE_START: self._text_start,
            T.TEXT_MESSAGE_CONTENT: self._text,
            T.TEXT_MESSAGE_CHUNK: self._text,
            T.TOOL_CALL_START: self._tool_start,
            T.TOOL_CALL_ARGS: self._tool_args,
            T.TOOL_CALL_END: self._tool_end,
            T.TOOL_CALL_CHUNK: self._tool_chunk,
            T.TOOL_CALL_RESULT: self._tool_result,
            T.STATE_SNAPSHOT: self._state_snapshot,
            T.STATE_DELTA: self._state_delta,
            T.MESSAGES_SNAPSHOT: self._messages_snapshot,
            T.ACTIVITY_SNAPSHOT: self._activity,
            T.ACTIVITY_DELTA: self._activity,
            T.REASONING_MESSAGE_START: self._reasoning,
            T.REASONING_MESSAGE_CONTENT: self._reasoning,
            T.REASONING_MESSAGE_CHUNK: self._reasoning,
            T.REASONING_MESSAGE_END: self._reasoning,
        }

    def feed(self, event: core.BaseEvent, raw: JsonObject, size: int) -> list[ev.Event]:
        out: list[ev.Event] = []
        if self._chunk_call is not None and not (
            isinstance(event, core.ToolCallChunkEvent) and event.tool_call_id in (None, self._chunk_call)
        ):
            out += self._close_call(self._chunk_call)  # a chunked call ends at the next other event
        self._size = size
        handler = self._handlers.get(event.type)
        if handler is not None:
            out += handler(event, raw)
        return out  # RAW, CUSTOM, REASONING_START/END, subagents: the trace shows them as they are

    # -- run lifecycle ----------------------------------------------------------------------------

    def _run_started(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.RunStartedEvent)
        return [ev.RunStarted(self.stream_id, event.thread_id, event.run_id)]

    def _run_finished(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.RunFinishedEvent)
        out: list[ev.Event] = []
        outcome = event.outcome
        if isinstance(outcome, core.RunFinishedInterruptOutcome):
            for interrupt in outcome.interrupts:
                prompt = interrupt.message or interrupt.reason
                if interrupt.tool_call_id is None:
                    # Only tool-call approvals have a card to answer on: the others are said plainly.
                    out.append(
                        ev.ServerError("interrupt", f"the agent asks: {prompt} (answer it in the agent's UI)")
                    )
                    continue
                self.interrupts[interrupt.tool_call_id] = interrupt.id
                out.append(ev.ApprovalRequested(self.stream_id, interrupt.tool_call_id, interrupt.id, prompt))
            self.outcome, self.detail = "interrupt", "waiting for your answer"
        elif isinstance(outcome, core.RunFinishedCancelledOutcome):
            self.outcome, self.detail = "cancelled", "the agent cancelled the run"
        else:
            self.outcome = "success"
        return [*out, ev.RunEnded(self.stream_id, self.outcome, self.detail)]

    def _run_error(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.RunErrorEvent)
        self.outcome = "error"
        self.detail = f"{event.code}: {event.message}" if event.code else event.message
        return [ev.RunEnded(self.stream_id, "error", self.detail)]

    def _step(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.StepStartedEvent | core.StepFinishedEvent)
        finished = isinstance(event, core.StepFinishedEvent)
        return [ev.Step(self.stream_id, event.step_name, finished)]

    # -- text ---------------------------------------------------------------------------------------

    def _text_start(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.TextMessageStartEvent)
        self.history.text(event.message_id, "")
        return []  # no block until there is text: an empty message leaves no bubble

    def _text(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.TextMessageContentEvent | core.TextMessageChunkEvent)
        message_id = event.message_id or self._chunk_text or self.stream_id
        self._chunk_text = message_id if isinstance(event, core.TextMessageChunkEvent) else None
        delta = event.delta or ""
        self.history.text(message_id, delta)
        return [ev.TextDelta(self.stream_id, delta)] if delta else []

    # -- tool calls ---------------------------------------------------------------------------------

    def _tool_start(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.ToolCallStartEvent)
        return self._open_call(event.tool_call_id, event.tool_call_name, event.parent_message_id)

    def _open_call(self, call_id: str, name: str, parent: str | None) -> list[ev.Event]:
        self._args[call_id] = []
        self.history.tool_call(parent, call_id, name)
        return [ev.ToolCallStart(self.stream_id, call_id, name)]

    def _tool_args(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.ToolCallArgsEvent)
        return self._append_args(event.tool_call_id, event.delta)

    def _append_args(self, call_id: str, delta: str) -> list[ev.Event]:
        parts = self._args.get(call_id)
        if parts is None:
            return [ev.ProtocolError(f"arguments for tool call {call_id} that never started", delta)]
        parts.append(delta)
        return [ev.ToolArgsDelta(self.stream_id, call_id, delta)]

    def _tool_end(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.ToolCallEndEvent)
        return self._close_call(event.tool_call_id)

    def _close_call(self, call_id: str) -> list[ev.Event]:
        if call_id == self._chunk_call:
            self._chunk_call = None
        parts = self._args.pop(call_id, None)
        if parts is None:
            return [ev.ProtocolError(f"end of tool call {call_id} that never started", call_id)]
        text = "".join(parts)
        self.history.tool_args(call_id, text)
        out: list[ev.Event] = []
        parsed: JsonValue
        try:
            parsed = jsonvalue.loads_checked(text) if text.strip() else {}
        except jsonvalue.JsonDecodeError as exc:
            parsed = {"unparsed": text}
            out.append(ev.ProtocolError(f"tool call {call_id}: arguments are not JSON: {exc}", text))
        args: JsonObject = parsed if isinstance(parsed, dict) else {"value": parsed}
        return [*out, ev.ToolCall(self.stream_id, call_id, self.history.tool_name(call_id), args)]

    def _tool_chunk(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.ToolCallChunkEvent)
        out: list[ev.Event] = []
        call_id = event.tool_call_id or self._chunk_call
        if call_id is None:
            return [ev.ProtocolError("a TOOL_CALL_CHUNK outside any tool call", "")]
        if call_id != self._chunk_call:
            name = event.tool_call_name or "tool"
            out += self._open_call(call_id, name, event.parent_message_id)
            self._chunk_call = call_id
        if event.delta:
            out += self._append_args(call_id, event.delta)
        return out

    def _tool_result(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.ToolCallResultEvent)
        content = raw.get("content")
        self.history.tool_result(event.message_id, event.tool_call_id, content)
        return [ev.ToolResult(self.stream_id, event.tool_call_id, json_object(content))]

    # -- state, messages, activities, reasoning ------------------------------------------------------

    def _state_snapshot(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        return [ev.ContextSnapshot(STATE, raw.get("snapshot"), self._size)]

    def _state_delta(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        return [ev.ContextDelta(STATE, raw.get("delta"), self._size)]

    def _messages_snapshot(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.MessagesSnapshotEvent)
        self.history.replace(event.messages)
        return [ev.ContextSnapshot(MESSAGES, raw.get("messages"), self._size)]

    def _activity(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        assert isinstance(event, core.ActivitySnapshotEvent | core.ActivityDeltaEvent)
        key = f"activity:{event.message_id}"
        out: list[ev.Event] = []
        if key not in self._activities:
            out.append(ev.ComponentStart(self.stream_id, key, event.activity_type))
        if isinstance(event, core.ActivitySnapshotEvent):
            content = raw.get("content")
        else:
            before = self._activities.get(key)
            document = jsonvalue.loads(before) if before is not None else {}
            patched = json_patch.apply_patch(document, raw.get("patch"))
            if isinstance(patched, json_patch.PatchFailed):
                return [*out, ev.ProtocolError(f"activity {event.message_id}: {patched.reason}", "")]
            content = patched
        self._activities[key] = jsonvalue.dumps_bytes(content)
        if isinstance(content, dict):
            out += [ev.ComponentField(self.stream_id, key, k, v) for k, v in content.items()]
        return out

    def _reasoning(self, event: core.BaseEvent, raw: JsonObject) -> list[ev.Event]:
        message_id = raw.get("messageId")
        rid = message_id if isinstance(message_id, str) else "reasoning"
        delta = raw.get("delta")
        text = delta if isinstance(delta, str) else ""
        done = isinstance(event, core.ReasoningMessageEndEvent)
        if not text and not done and not isinstance(event, core.ReasoningMessageStartEvent):
            return []
        return [ev.ReasoningDelta(self.stream_id, rid, text, done)]


# -- the server side (the simulator) ----------------------------------------------------------------


def frame(event: core.BaseEvent, event_id: str | None = None) -> str:
    """One event as an SSE block, as the protocol's encoder writes it (optionally with an `id:`)."""
    data = event.model_dump_json(by_alias=True, exclude_none=True)
    return f"id: {event_id}\ndata: {data}\n\n" if event_id is not None else f"data: {data}\n\n"


def parse_run_input(body: bytes) -> core.RunAgentInput:
    """A POSTed run request, validated; raises `pydantic.ValidationError`."""
    return core.RunAgentInput.model_validate_json(body)


def run_input_json(run: core.RunAgentInput) -> bytes:
    return run.model_dump_json(by_alias=True, exclude_none=True).encode()
