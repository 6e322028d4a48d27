"""The SSE conversation dialect as a server writes it, sans-I/O: each conversation event's JSON (in
the spec's member names) and the event-stream block that carries it. The simulated SSE server speaks
through these; the console's decoder (`protocol.py`) reads what they write.

A block is written in the spec's style: `id:` (when the server numbers its events), `event:`, then
`data:`, with no space after the colons, and a blank line.
"""

from __future__ import annotations

from console import jsonvalue
from console.frozen import frozen
from console.jsonvalue import JsonValue


@frozen
class ConversationEvent:
    """One event as the server sends it: its `event:` name and its `data:` text (JSON, unless a
    misbehaving server says otherwise)."""

    name: str
    data: str

    def block(self, event_id: int | None = None) -> str:
        head = f"id:{event_id}\n" if event_id is not None else ""
        return f"{head}event:{self.name}\ndata:{self.data}\n\n"


def event(name: str, **members: JsonValue) -> ConversationEvent:
    """An event whose JSON names its own type, as the spec's server writes every event."""
    return ConversationEvent(name, jsonvalue.dumps({"event": name, **members}))


def message_start(message_id: str, role: str) -> ConversationEvent:
    """`role` as on the wire: the spec calls the assistant "agent"."""
    return event("message_start", messageId=message_id, role=role)


def text_chunk(message_id: str, chunk: str, index: int) -> ConversationEvent:
    return event("text_chunk", messageId=message_id, chunk=chunk, index=index)


def component_start(message_id: str, component_type: str) -> ConversationEvent:
    return event("component_start", messageId=message_id, componentType=component_type)


def component_field(message_id: str, name: str, value: JsonValue) -> ConversationEvent:
    return event("component_field", messageId=message_id, field=name, value=value)


def component_end(message_id: str) -> ConversationEvent:
    return event("component_end", messageId=message_id)


def message_end(message_id: str) -> ConversationEvent:
    return event("message_end", messageId=message_id)


def retry_block(milliseconds: int) -> str:
    """The `retry:` line that tells a client how long to wait before it reconnects."""
    return f"retry:{milliseconds}\n\n"
