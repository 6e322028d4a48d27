"""The one event vocabulary every dialect is normalized into.

Modelled on the AG-UI event set: text deltas, tool call start/result, component start/field/end,
context snapshots, heartbeats, stream end, errors. The session model, the panels and the component
registry only ever see these, so they do not care which wire dialect an agent speaks.
"""

from __future__ import annotations

from typing import TypeAlias

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
)


def excerpt(raw: str, limit: int = 300) -> str:
    """The start of a frame, for error reports that must not carry megabytes."""
    return raw if len(raw) <= limit else f"{raw[:limit]}… ({len(raw)} chars)"
