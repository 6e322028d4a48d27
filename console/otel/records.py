"""What the exporter keeps of a session until it becomes spans: small frozen values, no model objects.

A reply is captured once, when it reaches its outcome (done, interrupted, error): its text and tool
calls are copied then, so nothing is done per token while it streams, and the spans can be built
later (or elsewhere) from values that no longer change.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.jsonvalue import JsonObject


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ToolPart:
    call_id: str
    tool_name: str
    args: JsonObject
    called_at: float
    result: JsonObject | None
    result_at: float | None


Part = TextPart | ToolPart


@dataclass(frozen=True, slots=True)
class Reply:
    """One agent reply, with the prompt it answered; times on the session's monotonic clock."""

    message_id: str
    prompt: str | None
    start: float  # when the prompt was sent (or the reply began, unprompted)
    first_at: float  # when the reply's first event arrived
    end: float
    status: str  # done, interrupted, error, streaming (a download taken mid-reply)
    note: str
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Incident:
    """A trace row that tells of trouble on the wire."""

    at: float
    kind: str
    summary: str
    seq: int | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A context snapshot: its size and what changed since the one before, never its payload."""

    at: float
    context_id: str
    size: int
    changes: int | None  # None: the first snapshot of its context, or too big to compare
    diff: str


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Who the spans are about."""

    conversation_id: str
    session_id: str
    name: str
    dialect: str  # "" when unknown
    wall_offset: float  # monotonic + offset = epoch seconds
