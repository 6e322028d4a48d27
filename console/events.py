"""The one event vocabulary every dialect is normalized into.

Modelled on the AG-UI event set: text deltas, tool call start/args/result, component start/field/end,
context snapshots and deltas, runs with their outcome, steps, reasoning, heartbeats, stream end, errors. The session model, the panels and the component
registry only ever see these, so they do not care which wire dialect an agent speaks.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue


@frozen
class MessageStart:
    """A new message begins (dialects that announce messages; others start one implicitly)."""

    stream_id: str
    role: str = "assistant"


@frozen
class TextDelta:
    stream_id: str
    text: str


@frozen
class ToolCall:
    stream_id: str
    call_id: str
    tool_name: str
    args: JsonObject


@frozen
class ToolResult:
    stream_id: str
    call_id: str
    result: JsonObject


@frozen
class ComponentStart:
    stream_id: str
    component_id: str
    type: str


@frozen
class ComponentField:
    stream_id: str
    component_id: str
    field: str
    value: JsonValue
    append: bool = False  # a string value continues the field's text instead of replacing it


@frozen
class ComponentEnd:
    stream_id: str
    component_id: str


@frozen
class ContextSnapshot:
    context_id: str
    data: JsonValue
    size: int  # bytes of the frame that carried it


@frozen
class Heartbeat:
    challenge: str


@frozen
class StreamEnd:
    stream_id: str


@frozen
class ServerError:
    """An ERROR the upstream sent on purpose."""

    code: str
    message: str


@frozen
class ProtocolError:
    """A frame we could not use: the session goes on, the trace shows why and what."""

    reason: str
    excerpt: str


# -- runs, steps, streamed tool arguments, state deltas, reasoning, approvals ----------------------
# What request-per-run dialects (AG-UI) say that the first three did not; the others never emit them.

RunOutcome: TypeAlias = Literal["success", "interrupt", "cancelled", "error", "lost"]


@frozen
class RunStarted:
    """A run begins: its reply is `stream_id` (a resumed run continues the reply it resumes)."""

    stream_id: str
    thread_id: str
    run_id: str


@frozen
class RunEnded:
    """A run is over, and how: done, waiting for an answer, cancelled, failed, or cut off."""

    stream_id: str
    outcome: RunOutcome
    detail: str = ""


@frozen
class Step:
    stream_id: str
    name: str
    finished: bool


@frozen
class ToolCallStart:
    """A tool call whose arguments follow as `ToolArgsDelta`s; `ToolCall` then carries them parsed."""

    stream_id: str
    call_id: str
    tool_name: str


@frozen
class ToolArgsDelta:
    stream_id: str
    call_id: str
    delta: str


@frozen
class ApprovalRequested:
    """The run paused until the user approves or denies this tool call."""

    stream_id: str
    call_id: str
    interrupt_id: str
    prompt: str


@frozen
class ContextDelta:
    """An RFC 6902 JSON Patch against the latest snapshot of a context."""

    context_id: str
    patch: JsonValue
    size: int


@frozen
class ReasoningDelta:
    """Reasoning text, shown collapsed; `done` closes the reasoning message `reasoning_id`."""

    stream_id: str
    reasoning_id: str
    text: str
    done: bool = False


Event: TypeAlias = (
    MessageStart
    | TextDelta
    | ToolCall
    | ToolResult
    | ComponentStart
    | ComponentField
    | ComponentEnd
    | ContextSnapshot
    | Heartbeat
    | StreamEnd
    | ServerError
    | ProtocolError
    | RunStarted
    | RunEnded
    | Step
    | ToolCallStart
    | ToolArgsDelta
    | ApprovalRequested
    | ContextDelta
    | ReasoningDelta
)


def excerpt(raw: str, limit: int = 300) -> str:
    """The start of a frame, for error reports that must not carry megabytes."""
    return raw if len(raw) <= limit else f"{raw[:limit]}… ({len(raw)} chars)"
