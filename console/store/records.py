"""The journal's format: a chunk of conversation inputs as bytes, and back.

The journal stores *chunks*: the inputs one session took in during one flush of the writer, as one
JSON array, so that encoding is one orjson call (in C) and storing is one row or stream entry per
session and flush, not per token. Each input is written as the `JournalInput` tuple it was:

    ["token", index, at, raw]     (a reply's next token, the commonest input: the agent-protocol
                                   frame as it came, its text and its trace row decoded from it)
    ["frame", index, at, raw]    ["context", index, at, raw]     (any other agent frame small enough,
                                   applied as it came, told as it came: `console/dialects/agent/trace.py`)
    ["seen", index, at, raw]     (an agent frame not applied as it came: its row only)
    ["text", "s1", "Hel", at, seq]     (any other text delta: written flat as it came)
    ["event", ["StreamEnd", "s1"], at, seq]     (any other event: its type, then its fields in order)
    ["user", "text", at, queued]    ["sent", message_id]    ["retried", message_id]
    ["interrupted", "reason", at]    ["interrupt_stream", stream_id, "reason"]    ["notice", "warning", "text"]
    ["reset"]    ["mark", messages, ids, at]     (a point at rest, in a chunk of its own: `Marked`)

A trace chunk (`KIND_TRACE`) holds bare trace rows, each as the trace holds it:

    [index, at, direction, kind, summary, seq, raw, stream_id, ref]

or, for a frame journaled as it came (`["token", …]`, `["frame", …]`… above), its index alone: its
place among the rows, the row itself rebuilt from the frame (`Place`, `Received`). A round's trace
chunk is written before its inputs, so on replay a place is met before its frame
(`console/store/restore.py`).

Events are written through `event_json` (one C attribute getter per type, its name included: a
fifth of what orjson's own dataclass walk costs). Trace rows go in chunks of their own
(`KIND_TRACE`), so compaction can let old rows go without decoding anything; the conversation does
not depend on the trace, so the two kinds only need their own order kept. Each chunk carries a
CRC-32 of its bytes, so damage is told from data (`Damaged`) and replay keeps the good prefix.

How a chunk's bytes are stored (compressed, checksummed) is `console/store/packing.py`'s.

`FORMAT_VERSION` is stored with every journal. A journal of a newer version is refused with a message
(`FormatError`); an older one is read by the readers listed in `_READERS` and goes on in this version
(the stored version is raised when a console opens it for writing; an older console then refuses it
rather than misread it). What each version changed, and why, is in DECISIONS.md: 2 wrote trace rows
bare (1 wrapped them as `["trace", row]`), 3 compressed snapshots with zlib, 4 every chunk worth it
with LZ4, 5 wrote events flat (`[type, field, ...]`, not `[type, [field, ...]]`) and marked the points
at rest, 6 wrote text deltas flat, 7 journals a reply's next token as the frame it came in, its row
as its place, 8 stores a large compressed chunk as an LZ4 frame of its blocks as they lie, 9
journals any small agent frame as it came, its row as its place.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Final, Literal, TypeAlias, get_args

import orjson

from console import events as ev
from console.dialects.agent.protocol import decode_token
from console.dialects.agent.trace import row_fields
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue
from console.session import JournalInput
from console.store.packing import Damaged as Damaged
from console.store.packing import unpacked

FORMAT_VERSION: Final = 9


def _o(data: JsonObject, key: str) -> JsonObject:
    value = data[key]
    if not isinstance(value, dict):
        raise ValueError(f"{key} is not an object")
    return value


def _s(data: JsonObject, key: str) -> str:
    return _str(data[key])


# Each event type by its name, built from its fields with their types checked.
EVENT_READERS: Final[dict[str, Callable[[JsonObject], ev.Event]]] = {
    "MessageStart": lambda d: ev.MessageStart(_s(d, "stream_id"), _s(d, "role")),
    "TextDelta": lambda d: ev.TextDelta(_s(d, "stream_id"), _s(d, "text")),
    "ToolCall": lambda d: ev.ToolCall(
        _s(d, "stream_id"), _s(d, "call_id"), _s(d, "tool_name"), _o(d, "args")
    ),
    "ToolResult": lambda d: ev.ToolResult(_s(d, "stream_id"), _s(d, "call_id"), _o(d, "result")),
    "ComponentStart": lambda d: ev.ComponentStart(_s(d, "stream_id"), _s(d, "component_id"), _s(d, "type")),
    "ComponentField": lambda d: ev.ComponentField(
        _s(d, "stream_id"), _s(d, "component_id"), _s(d, "field"), d["value"], d["append"] is True
    ),
    "ComponentEnd": lambda d: ev.ComponentEnd(_s(d, "stream_id"), _s(d, "component_id")),
    "ContextSnapshot": lambda d: ev.ContextSnapshot(_s(d, "context_id"), d["data"], _int(d["size"])),
    "Heartbeat": lambda d: ev.Heartbeat(_s(d, "challenge")),
    "StreamEnd": lambda d: ev.StreamEnd(_s(d, "stream_id")),
    "ServerError": lambda d: ev.ServerError(_s(d, "code"), _s(d, "message")),
    "ProtocolError": lambda d: ev.ProtocolError(_s(d, "reason"), _s(d, "excerpt")),
    "RunStarted": lambda d: ev.RunStarted(_s(d, "stream_id"), _s(d, "thread_id"), _s(d, "run_id")),
    "RunEnded": lambda d: ev.RunEnded(_s(d, "stream_id"), _OUTCOMES[_s(d, "outcome")], _s(d, "detail")),
    "Step": lambda d: ev.Step(_s(d, "stream_id"), _s(d, "name"), d["finished"] is True),
    "ToolCallStart": lambda d: ev.ToolCallStart(_s(d, "stream_id"), _s(d, "call_id"), _s(d, "tool_name")),
    "ToolArgsDelta": lambda d: ev.ToolArgsDelta(_s(d, "stream_id"), _s(d, "call_id"), _s(d, "delta")),
    "ApprovalRequested": lambda d: ev.ApprovalRequested(
        _s(d, "stream_id"), _s(d, "call_id"), _s(d, "interrupt_id"), _s(d, "prompt")
    ),
    "ContextDelta": lambda d: ev.ContextDelta(_s(d, "context_id"), d["patch"], _int(d["size"])),
    "ReasoningDelta": lambda d: ev.ReasoningDelta(
        _s(d, "stream_id"), _s(d, "reasoning_id"), _s(d, "text"), d["done"] is True
    ),
}

EVENT_TYPES: Final[tuple[type[ev.Event], ...]] = get_args(ev.Event)
_FIELDS: Final = {cls.__name__: tuple(f.name for f in fields(cls)) for cls in EVENT_TYPES}
# Each event type's getter of `(type name, field, ...)`: one C call, the name read off the class.
FLAT_GETTERS: Final[dict[type, Callable[[object], object]]] = {
    cls: attrgetter("__class__.__name__", *_FIELDS[cls.__name__]) for cls in EVENT_TYPES
}


def event_json(event: object) -> object:
    """An event as [type name, field, ...] (orjson calls this for each event it meets)."""
    return FLAT_GETTERS[type(event)](event)  # a KeyError for anything else: orjson reports it


Direction: TypeAlias = Literal["in", "out", "client"]
Level: TypeAlias = Literal["info", "warning", "error"]
_DIRECTIONS: Final[dict[str, Direction]] = {"in": "in", "out": "out", "client": "client"}
_OUTCOMES: Final[dict[str, ev.RunOutcome]] = {o: o for o in get_args(ev.RunOutcome)}
_LEVELS: Final[dict[str, Level]] = {"info": "info", "warning": "warning", "error": "error"}


class FormatError(ValueError):
    """The journal cannot be read by this version of the console."""


@frozen
class Applied:
    event: ev.Event
    at: float
    seq: int | None


@frozen
class UserSent:
    text: str
    at: float
    queued: bool = False


@frozen
class Sent:
    """A queued prompt went out."""

    message_id: str


@frozen
class Retried:
    message_id: str


@frozen
class StreamInterrupted:
    stream_id: str
    reason: str


@frozen
class Interrupted:
    reason: str
    at: float


@frozen
class Noticed:
    level: Level
    text: str


@frozen
class Traced:
    at: float
    direction: Direction
    kind: str
    summary: str
    seq: int | None
    raw: str | None
    stream_id: str | None
    ref: str | None
    index: int = -1  # the row's place in its session's trace, as the trace numbered it


ReceivedTag: TypeAlias = Literal["token", "frame", "context", "seen"]
_TAGGED: Final[dict[str, str]] = {
    "token": "TOKEN",
    "frame": "decodable agent (not a context snapshot)",
    "context": "CONTEXT_SNAPSHOT",
    "seen": "decodable agent",
}


@frozen
class Received:
    """A frame of the agent protocol journaled as it came (`console/dialects/agent/trace.py`): its row
    (whose place a trace chunk holds: `Place`) and, if it was applied as it came, its event are
    decoded from it when asked for (`parts`), so that a reader that needs neither does not decode it.
    `tag` says which (`"token"`: a reply's next token; `"frame"`, `"context"`: any other frame, a
    context snapshot; `"seen"`: a frame not applied as it came, its row alone)."""

    index: int
    at: float
    raw: str
    tag: ReceivedTag = "token"

    @property
    def context(self) -> bool:
        """A context snapshot (what a reader of context versions looks for), told undecoded."""
        return self.tag == "context"

    def parts(self) -> tuple[Applied | None, Traced]:
        """The event applied (None if the frame was not applied as it came) and the row, as the agent
        engine decoded them when the frame came (no size limit: it was within the engine's then);
        `Damaged` for a frame that is not what its tag says."""
        raw, at, tag = self.raw, self.at, self.tag
        found = decode_token(raw, max_size=len(raw))
        if isinstance(found, tuple):  # a token, most often
            if tag == "context":
                raise Damaged(f"context row {self.index} is not a CONTEXT_SNAPSHOT frame")
            seq, stream_id, text = found
            row = Traced(at, "in", "TOKEN", text, seq, raw, stream_id, None, self.index)
            return (None if tag == "seen" else Applied(ev.TextDelta(stream_id, text), at, seq)), row
        event = found.event
        snapshot = type(event) is ev.ContextSnapshot
        if tag == "token" or type(event) is ev.ProtocolError or (tag != "seen" and self.context != snapshot):
            raise Damaged(f"{tag} row {self.index} is not a {_TAGGED[tag]} frame")
        kind, summary, kept, sid, ref = row_fields(found, raw)
        row = Traced(at, "in", kind, summary, found.seq, kept, sid, ref, self.index)
        return (None if tag == "seen" else Applied(event, at, found.seq)), row


@frozen
class Place:
    """The place of a received frame's row among the rows (its index): the row comes with the frame
    (`Received`), in the inputs."""

    index: int


@frozen
class Cleared:
    """The conversation was reset (a stream replayed from its start)."""


@frozen
class Marked:
    """The conversation was at rest (`Conversation.at_rest`), with `base` messages since its last
    reset and `ids` message ids given, before the input `at` of the next chunk of inputs (a mark is
    written just before the chunk it falls in): a replay of the inputs from there into a
    conversation numbered from there makes the same messages as the live one did. Changes no
    conversation."""

    base: int
    ids: int
    at: int


Record: TypeAlias = (
    Applied
    | UserSent
    | Sent
    | Retried
    | Interrupted
    | StreamInterrupted
    | Noticed
    | Traced
    | Received
    | Place
    | Cleared
    | Marked
)


def encode(items: list[JournalInput]) -> bytes:
    """A chunk of inputs as bytes (on the journal's writer thread: one call into orjson)."""
    return orjson.dumps(items, default=event_json, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def encode_mark(base: int, ids: int, at: int) -> bytes:
    """A mark's chunk: `[["mark", base, ids, at]]` (`Marked`)."""
    return orjson.dumps([("mark", base, ids, at)])


def encode_trace(rows: list[tuple[object, ...] | int]) -> bytes:
    """A chunk of trace rows as bytes (plain values only: no callback into Python)."""
    return orjson.dumps(rows)


def decode(data: bytes, crc: int | None = None, version: int = FORMAT_VERSION) -> list[Record]:
    """A chunk's records; raises `Damaged` when the bytes are not a chunk, `FormatError` for a
    version this console cannot read."""
    reader = _READERS.get(version)
    if reader is None:
        raise FormatError(f"journal format {version} is not readable by this console")
    if crc is not None and zlib.crc32(data) != crc:
        raise Damaged("checksum mismatch")
    try:
        value = orjson.loads(unpacked(data))
    except orjson.JSONDecodeError as exc:
        raise Damaged(f"not JSON: {exc}") from None
    if not isinstance(value, list):
        raise Damaged("not a chunk of records")
    out: list[Record] = []
    for item in value:
        if type(item) is int:  # a received frame's place among the trace rows (version 7)
            out.append(Place(item))
            continue
        if not isinstance(item, list) or not item:
            raise Damaged("not a journal record")
        try:
            out.append(reader(item))
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise Damaged(f"malformed {item[0]} record: {exc}") from None
    return out


def _read_v1(value: list[JsonValue]) -> Record:
    kind = value[0]
    if kind == "event":
        _, data, at, seq = value
        if not isinstance(data, list) or not data:
            raise ValueError("an event is [type, field, ...]")
        # Up to version 4 the fields were a list of their own, [type, [fields]]; no event has a
        # single field that is a list, so the shapes cannot be taken for each other.
        nested = len(data) == 2 and isinstance(data[1], list)
        fields = data[1] if nested and isinstance(data[1], list) else data[1:]
        return Applied(_event(_str(data[0]), fields), _number(at), _optional_int(seq))
    if (tag := _RECEIVED.get(_str(kind))) is not None:  # a frame as it came: a token (7), any (9)
        _, index, at, raw = value
        return Received(_int(index), _number(at), _str(raw), tag)
    if kind == "text":  # version 6: a text delta flat
        _, stream_id, text, at, seq = value
        return Applied(ev.TextDelta(_str(stream_id), _str(text)), _number(at), _optional_int(seq))
    if kind == "trace":
        row = value[1]
        if not isinstance(row, list):
            raise ValueError("trace row of the wrong shape")
        return _traced(row)
    if kind == "user":
        return UserSent(_str(value[1]), _number(value[2]), len(value) > 3 and value[3] is True)
    if kind == "sent":
        return Sent(_str(value[1]))
    if kind == "retried":
        return Retried(_str(value[1]))
    if kind == "interrupt_stream":
        return StreamInterrupted(_str(value[1]), _str(value[2]))
    if kind == "interrupted":
        return Interrupted(_str(value[1]), _number(value[2]))
    if kind == "notice":
        return Noticed(_LEVELS[_str(value[1])], _str(value[2]))
    if kind == "reset":
        return Cleared()
    if kind == "mark":
        return Marked(_int(value[1]), _int(value[2]), _int(value[3]))
    raise ValueError(f"unknown kind {kind!r}")


def _read_v2(value: list[JsonValue]) -> Record:
    """Version 1's records, and a trace row bare (it starts with its index, where others have a kind)."""
    if isinstance(value[0], int):
        return _traced(value)
    return _read_v1(value)


def _traced(row: list[JsonValue]) -> Traced:
    if len(row) != 9:
        raise ValueError("trace row of the wrong shape")
    index, at, direction, row_kind, summary, seq, raw, stream_id, ref = row
    return Traced(
        _number(at),
        _DIRECTIONS[_str(direction)],
        _str(row_kind),
        _str(summary),
        _optional_int(seq),
        _optional_str(raw),
        _optional_str(stream_id),
        _optional_str(ref),
        _int(index),
    )


_RECEIVED: Final[dict[str, ReceivedTag]] = {t: t for t in get_args(ReceivedTag)}
_READERS: Final[dict[int, Callable[[list[JsonValue]], Record]]] = {
    1: _read_v1,
    2: _read_v2,
    3: _read_v2,
    4: _read_v2,
    5: _read_v2,
    6: _read_v2,
    7: _read_v2,
    8: _read_v2,
    9: _read_v2,
}


def _event(name: str, values: list[JsonValue]) -> ev.Event:
    reader = EVENT_READERS.get(name)
    if reader is None:
        raise ValueError(f"unknown event {name!r}")
    return reader(dict(zip(_FIELDS[name], values, strict=True)))


def _int(value: JsonValue) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _number(value: JsonValue) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _str(value: JsonValue) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _optional_str(value: JsonValue) -> str | None:
    return None if value is None else _str(value)


def _optional_int(value: JsonValue) -> int | None:
    return None if value is None else _int(value)
