"""The transcript: what a session said, in order, as one schema for every side that tells it.

`python main.py record` writes it, the simulators give their ground truth in it (`GET /truth`), and
the tests compare the two with it. A transcript is the session's messages in order: each prompt, and
each reply with the prompt it answers, its text, its blocks (text runs, tool calls with their results,
components with their fields) and how it ended; beside them, the history of every context.

It depends on nothing but the JSON helpers, so a simulator (which may import only the wire format and
generic helpers) can build one; `console.conversation_transcript` builds one from a console
conversation. `to_json()` is the documented contract (docs/transcript.md); `from_json()` reads it
back, refusing anything that is not a transcript with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, TypeVar

from console.jsonvalue import JsonObject, JsonValue

Role = Literal["user", "assistant"]
# As the console's messages have them: a prompt is "queued" until it goes out, then "sent"; a reply
# "streaming" until it is "done", or "interrupted" (it never ended) or "error" (the upstream failed it).
Status = Literal["queued", "sent", "streaming", "done", "interrupted", "error"]
ToolStatus = Literal["waiting", "done"]


class TranscriptError(ValueError):
    """The JSON is not a transcript; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    call_id: str
    tool_name: str
    args: JsonObject
    result: JsonObject | None = None

    @property
    def status(self) -> ToolStatus:
        return "waiting" if self.result is None else "done"


@dataclass(frozen=True, slots=True)
class Component:
    type: str
    fields: JsonObject


Block: TypeAlias = Text | ToolCall | Component


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    status: Status
    blocks: tuple[Block, ...] = ()
    # The console's own id of the message ("m3"): local to one console, so never compared.
    id: str | None = None
    # The upstream's id of the stream (or message) it came in on; None for a prompt typed here.
    stream_id: str | None = None
    # For a reply: the text of the prompt it answers (None when it answers none, as an SSE stream's).
    prompt: str | None = None
    note: str = ""  # why it was interrupted or failed

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.blocks if isinstance(b, Text))

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(b for b in self.blocks if isinstance(b, ToolCall))

    @property
    def components(self) -> tuple[Component, ...]:
        return tuple(b for b in self.blocks if isinstance(b, Component))


@dataclass(frozen=True, slots=True)
class Transcript:
    messages: tuple[Message, ...] = ()
    # context id -> every snapshot of it, oldest first
    contexts: Mapping[str, tuple[JsonValue, ...]] = field(default_factory=dict)

    @property
    def replies(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.role == "assistant")

    @property
    def prompts(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.role == "user")

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "messages": [_message_json(m) for m in self.messages],
            "contexts": {cid: list(history) for cid, history in self.contexts.items()},
        }

    @classmethod
    def from_json(cls, value: JsonValue) -> Transcript:
        """The transcript `to_json()` wrote (extra keys, such as `record`'s "stats", are ignored)."""
        top = _object(value, "transcript")
        messages = _list(top.get("messages", []), "messages")
        contexts = _object(top.get("contexts", {}), "contexts")
        return cls(
            tuple(_message(m, f"messages[{i}]") for i, m in enumerate(messages)),
            {cid: tuple(_list(h, f"contexts[{cid!r}]")) for cid, h in contexts.items()},
        )


# -- JSON ----------------------------------------------------------------------------------------


def _block_json(block: Block) -> JsonValue:
    if isinstance(block, Text):
        return {"kind": "text", "text": block.text}
    if isinstance(block, ToolCall):
        return {
            "kind": "tool",
            "call_id": block.call_id,
            "tool_name": block.tool_name,
            "args": block.args,
            "result": block.result,
            "status": block.status,
        }
    return {"kind": "component", "type": block.type, "fields": dict(block.fields)}


def _message_json(message: Message) -> JsonValue:
    out: dict[str, JsonValue] = {
        "role": message.role,
        "id": message.id,
        "stream_id": message.stream_id,
        "text": message.text,
        "status": message.status,
        "blocks": [_block_json(b) for b in message.blocks],
    }
    if message.role == "assistant":
        out["prompt"] = message.prompt
    if message.note:
        out["note"] = message.note
    return out


def _message(value: JsonValue, where: str) -> Message:
    m = _object(value, where)
    role = _choice(m.get("role"), _ROLES, f"{where}.role")
    status = _choice(m.get("status"), _STATUSES, f"{where}.status")
    blocks = tuple(_block(b, f"{where}.blocks[{i}]") for i, b in enumerate(_list(m.get("blocks", []), where)))
    return Message(
        role=role,
        status=status,
        blocks=blocks,
        id=_optional_str(m.get("id"), f"{where}.id"),
        stream_id=_optional_str(m.get("stream_id"), f"{where}.stream_id"),
        prompt=_optional_str(m.get("prompt"), f"{where}.prompt"),
        note=_optional_str(m.get("note"), f"{where}.note") or "",
    )


def _block(value: JsonValue, where: str) -> Block:
    b = _object(value, where)
    kind = b.get("kind")
    if kind == "text":
        return Text(_str(b.get("text"), f"{where}.text"))
    if kind == "tool":
        result = b.get("result")
        return ToolCall(
            _str(b.get("call_id"), f"{where}.call_id"),
            _str(b.get("tool_name"), f"{where}.tool_name"),
            _object(b.get("args", {}), f"{where}.args"),
            None if result is None else _object(result, f"{where}.result"),
        )
    if kind == "component":
        return Component(
            _str(b.get("type"), f"{where}.type"), _object(b.get("fields", {}), f"{where}.fields")
        )
    raise TranscriptError(f"{where}.kind: expected text, tool or component, got {kind!r}")


def _object(value: JsonValue, where: str) -> JsonObject:
    if not isinstance(value, dict):
        raise TranscriptError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _list(value: JsonValue, where: str) -> list[JsonValue]:
    if not isinstance(value, list):
        raise TranscriptError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _str(value: JsonValue, where: str) -> str:
    if not isinstance(value, str):
        raise TranscriptError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _optional_str(value: JsonValue, where: str) -> str | None:
    return None if value is None else _str(value, where)


C = TypeVar("C", bound=str)

_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant"}
_STATUSES: dict[str, Status] = {s: s for s in ("queued", "sent", "streaming", "done", "interrupted", "error")}


def _choice(value: JsonValue, allowed: Mapping[str, C], where: str) -> C:
    if not isinstance(value, str) or value not in allowed:
        raise TranscriptError(f"{where}: expected one of {', '.join(allowed)}, got {value!r}")
    return allowed[value]
