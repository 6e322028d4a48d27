"""The journal's record format: one conversation input as bytes, and back.

A record is the JSON array of one `JournalInput` (see `console.session`), the input's kind first:

    ["event", at, seq, "TextDelta", {"stream_id": "s1", "text": "Hel"}]
    ["user", at, "text"]          ["interrupted", at, "reason"]       ["notice", "warning", "text"]
    ["trace", [index, at, direction, kind, summary, seq, raw, stream_id, ref]]     ["reset"]

Events are the frozen dataclasses of `console.events`, which orjson writes field by field in C; they
are read back by class name. Each stored record carries a CRC-32 of its bytes, so a damaged record is
told from a good one (`Damaged`) and replay keeps the good prefix.

`FORMAT_VERSION` is stored with every journal. A journal of a newer version is refused with a message
(`FormatError`); an older one is read by the readers listed in `_READERS` (version 1 is the first).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Final, Literal, TypeAlias

import orjson

from console import events as ev
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue
from console.session import JournalInput

FORMAT_VERSION: Final = 1


def _o(data: JsonObject, key: str) -> JsonObject:
    value = data[key]
    if not isinstance(value, dict):
        raise ValueError(f"{key} is not an object")
    return value


def _s(data: JsonObject, key: str) -> str:
    return _str(data[key])


# Each event type by its class name, built from its fields with their types checked.
_EVENT_READERS: Final[dict[str, Callable[[JsonObject], ev.Event]]] = {
    "MessageStart": lambda d: ev.MessageStart(_s(d, "stream_id"), _s(d, "role")),
    "TextDelta": lambda d: ev.TextDelta(_s(d, "stream_id"), _s(d, "text")),
    "ToolCall": lambda d: ev.ToolCall(
        _s(d, "stream_id"), _s(d, "call_id"), _s(d, "tool_name"), _o(d, "args")
    ),
    "ToolResult": lambda d: ev.ToolResult(_s(d, "stream_id"), _s(d, "call_id"), _o(d, "result")),
    "ComponentStart": lambda d: ev.ComponentStart(_s(d, "stream_id"), _s(d, "component_id"), _s(d, "type")),
    "ComponentField": lambda d: ev.ComponentField(
        _s(d, "stream_id"), _s(d, "component_id"), _s(d, "field"), d["value"]
    ),
    "ComponentEnd": lambda d: ev.ComponentEnd(_s(d, "stream_id"), _s(d, "component_id")),
    "ContextSnapshot": lambda d: ev.ContextSnapshot(_s(d, "context_id"), d["data"], _int(d["size"])),
    "Heartbeat": lambda d: ev.Heartbeat(_s(d, "challenge")),
    "StreamEnd": lambda d: ev.StreamEnd(_s(d, "stream_id")),
    "ServerError": lambda d: ev.ServerError(_s(d, "code"), _s(d, "message")),
    "ProtocolError": lambda d: ev.ProtocolError(_s(d, "reason"), _s(d, "excerpt")),
}

Direction: TypeAlias = Literal["in", "out", "client"]
Level: TypeAlias = Literal["info", "warning", "error"]
_DIRECTIONS: Final[dict[str, Direction]] = {"in": "in", "out": "out", "client": "client"}
_LEVELS: Final[dict[str, Level]] = {"info": "info", "warning": "warning", "error": "error"}


class FormatError(ValueError):
    """The journal cannot be read by this version of the console."""


class Damaged(ValueError):
    """A record that does not decode: the journal is corrupt from here on."""


@frozen
class Applied:
    event: ev.Event
    at: float
    seq: int | None


@frozen
class UserSent:
    text: str
    at: float


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


@frozen
class Cleared:
    """The conversation was reset (a stream replayed from its start)."""


Record: TypeAlias = Applied | UserSent | Interrupted | Noticed | Traced | Cleared


def encode(item: JournalInput) -> bytes:
    """One input as record bytes (called off the event loop, on the journal's writer thread)."""
    kind = item[0]
    if kind == "event":
        _, event, at, seq = item
        return orjson.dumps(["event", at, seq, type(event).__name__, event])
    if kind == "trace":
        return orjson.dumps(["trace", item[1]])
    if kind in ("user", "interrupted"):
        return orjson.dumps([kind, item[2], item[1]])
    return orjson.dumps(list(item))


def checksum(data: bytes) -> int:
    return zlib.crc32(data)


def decode(data: bytes, crc: int | None = None, version: int = FORMAT_VERSION) -> Record:
    """Record bytes as a typed record; raises `Damaged` when they are not one."""
    if crc is not None and zlib.crc32(data) != crc:
        raise Damaged("checksum mismatch")
    reader = _READERS.get(version)
    if reader is None:
        raise FormatError(f"journal format {version} is not readable by this console")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Damaged(f"not JSON: {exc}") from None
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise Damaged("not a journal record")
    try:
        return reader(value)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise Damaged(f"malformed {value[0]} record: {exc}") from None


def _read_v1(value: list[JsonValue]) -> Record:
    kind = value[0]
    if kind == "event":
        _, at, seq, name, data = value
        if not isinstance(name, str) or not isinstance(data, dict):
            raise ValueError("event without a type or fields")
        return Applied(_event(name, data), _number(at), _optional_int(seq))
    if kind == "trace":
        row = value[1]
        if not isinstance(row, list) or len(row) != 9:
            raise ValueError("trace row of the wrong shape")
        _, at, direction, row_kind, summary, seq, raw, stream_id, ref = row
        return Traced(
            _number(at),
            _DIRECTIONS[_str(direction)],
            _str(row_kind),
            _str(summary),
            _optional_int(seq),
            _optional_str(raw),
            _optional_str(stream_id),
            _optional_str(ref),
        )
    if kind == "user":
        return UserSent(_str(value[2]), _number(value[1]))
    if kind == "interrupted":
        return Interrupted(_str(value[2]), _number(value[1]))
    if kind == "notice":
        return Noticed(_LEVELS[_str(value[1])], _str(value[2]))
    if kind == "reset":
        return Cleared()
    raise ValueError(f"unknown kind {kind!r}")


_READERS: Final[dict[int, Callable[[list[JsonValue]], Record]]] = {1: _read_v1}


def _event(name: str, data: JsonObject) -> ev.Event:
    reader = _EVENT_READERS.get(name)
    if reader is None:
        raise ValueError(f"unknown event {name!r}")
    return reader(data)


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
