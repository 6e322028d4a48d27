"""What a conversation is made of: messages, their blocks (text, tool calls, components) and the snapshots
of a context. Mutable where a stream grows them; a view reads them, the conversation alone changes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from console import jsonvalue
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue

Role = Literal["user", "assistant"]
# A user message is "queued" until it goes out on the wire, then "sent".
MessageStatus = Literal["queued", "sent", "streaming", "done", "interrupted", "error"]
ToolStatus = Literal["waiting", "done"]


@dataclass(slots=True)
class TextBlock:
    # Chunks, not one string: appending is O(1) per token whatever the length of the message.
    parts: list[str] = field(default_factory=list)
    length: int = 0

    @property
    def text(self) -> str:
        self.join()
        return self.parts[0] if self.parts else ""

    def join(self) -> None:
        """Make the chunks one string: read whole, or kept once the block stops growing."""
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]

    def append(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def tail(self, size: int) -> str:
        """The last `size` characters, from the last parts only."""
        if size <= 0:
            return ""
        end: list[str] = []
        count = 0
        for part in reversed(self.parts):
            end.append(part)
            count += len(part)
            if count >= size:
                break
        return "".join(reversed(end))[-size:]


@dataclass(slots=True)
class ToolBlock:
    call_id: str
    tool_name: str
    args: JsonObject
    called_at: float
    result: JsonObject | None = None
    result_at: float | None = None
    # Dialects that stream arguments (AG-UI): their text as it comes, until `args` holds them parsed.
    args_parts: list[str] = field(default_factory=list)
    args_streaming: bool = False
    approval: str | None = None  # what a paused run asks the user to approve, until answered
    interrupt_id: str | None = None
    answer: str | None = None  # "approved" or "denied", once answered

    @property
    def status(self) -> ToolStatus:
        return "waiting" if self.result is None else "done"


@dataclass(slots=True)
class ComponentBlock:
    component_id: str
    type: str
    values: dict[str, JsonValue] = field(default_factory=dict)
    complete: bool = False
    # String fields that grow by appended chunks (a streamed idea): O(1) per chunk, joined when read.
    streams: dict[str, TextBlock] = field(default_factory=dict)
    # Counts every change but a chunk appended to a field already streaming: a view that shows
    # streamed fields by their new characters alone asks whether anything else changed by it, and
    # never reads (joins, validates, compares) the whole value per chunk.
    revision: int = 0

    @property
    def fields(self) -> dict[str, JsonValue]:
        if not self.streams:
            return self.values
        return {**self.values, **{name: block.text for name, block in self.streams.items()}}

    def set(self, name: str, value: JsonValue, *, append: bool = False) -> None:
        if not append or not isinstance(value, str):
            self.streams.pop(name, None)
            self.values[name] = value
            self.revision += 1
            return
        stream = self.streams.get(name)
        if stream is None:
            self.revision += 1
            stream = self.streams[name] = TextBlock()
            before = self.values.pop(name, None)
            if isinstance(before, str):
                stream.append(before)
        stream.append(value)


Block: TypeAlias = TextBlock | ToolBlock | ComponentBlock


@dataclass(slots=True)
class Message:
    id: str
    role: Role
    status: MessageStatus
    created_at: float
    stream_id: str | None = None
    blocks: list[Block] = field(default_factory=list)
    reply_to: str | None = None  # for an agent message: the id of the user message it answers
    note: str = ""  # why it was interrupted or failed
    retried: bool = False  # an interrupted reply whose prompt was asked again

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.blocks if isinstance(b, TextBlock))


@frozen
class ContextEntry:
    """One snapshot of a context, its data kept as JSON bytes.

    Parsed, a 500 KB snapshot is tens of thousands of objects that every full garbage collection
    walks for as long as the history lives (at hundreds of sessions: pauses of hundreds of ms, growing
    by the minute); as bytes it is one object the collector never looks at. `data` parses it again
    when a view asks.
    """

    at: float
    seq: int | None
    encoded: bytes
    size: int

    @property
    def data(self) -> JsonValue:
        return jsonvalue.loads(self.encoded)
