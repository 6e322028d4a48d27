"""The seq-numbered agent WebSocket protocol, sans-I/O.

`decode(text)` turns one server frame into a `Frame` holding a normalized event; builders return the
client frames as text. Nothing here raises on bad input: a frame that is not JSON, not an object, of
an unknown type, missing a field, mistyped or over the size limit decodes to a `ProtocolError` event,
so one bad frame never ends a session.

Server frames (docs/protocols/agent.md): TOKEN, TOOL_CALL, TOOL_RESULT, CONTEXT_SNAPSHOT, PING,
STREAM_END, ERROR, each with a `seq`. Client frames: USER_MESSAGE, PONG, RESUME, TOOL_ACK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from console import jsonvalue
from console.dialects.fields import FrameError, require_obj, require_str, type_name
from console.events import (
    ContextSnapshot,
    Event,
    Heartbeat,
    ProtocolError,
    ServerError,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolResult,
    excerpt,
)
from console.frozen import frozen
from console.jsonvalue import JsonObject, JsonValue

DEFAULT_MAX_FRAME = 8 * 1024 * 1024  # a 5 MB context snapshot must pass; 80 MB must not


@frozen
class Frame:
    """One decoded server frame.

    `kind` is the wire type ("TOKEN", ...) or "INVALID"; `seq` is None when the frame had no usable
    seq; `fingerprint` tells a duplicate (same bytes) from a different frame reusing a seq.
    """

    kind: str
    seq: int | None
    event: Event
    fingerprint: int
    size: int


def _token(o: JsonObject, size: int) -> Event:
    return TextDelta(stream_id=require_str(o, "stream_id"), text=require_str(o, "text"))


def _tool_call(o: JsonObject, size: int) -> Event:
    return ToolCall(
        stream_id=require_str(o, "stream_id"),
        call_id=require_str(o, "call_id"),
        tool_name=require_str(o, "tool_name"),
        args=require_obj(o, "args"),
    )


def _tool_result(o: JsonObject, size: int) -> Event:
    return ToolResult(
        stream_id=require_str(o, "stream_id"),
        call_id=require_str(o, "call_id"),
        result=require_obj(o, "result"),
    )


def _context(o: JsonObject, size: int) -> Event:
    if "data" not in o:
        raise FrameError("field 'data' is missing")
    return ContextSnapshot(context_id=require_str(o, "context_id"), data=o["data"], size=size)


def _ping(o: JsonObject, size: int) -> Event:
    # An empty challenge is legal on the wire (chaos "corrupt heartbeat"): it is echoed as is.
    return Heartbeat(challenge=require_str(o, "challenge"))


def _stream_end(o: JsonObject, size: int) -> Event:
    return StreamEnd(stream_id=require_str(o, "stream_id"))


def _error(o: JsonObject, size: int) -> Event:
    code = o.get("code", "UNKNOWN")
    if not isinstance(code, str):
        raise FrameError(f"field 'code' must be a string, got {type_name(code)}")
    return ServerError(code=code, message=require_str(o, "message"))


_DECODERS: dict[str, Callable[[JsonObject, int], Event]] = {
    "TOKEN": _token,
    "TOOL_CALL": _tool_call,
    "TOOL_RESULT": _tool_result,
    "CONTEXT_SNAPSHOT": _context,
    "PING": _ping,
    "STREAM_END": _stream_end,
    "ERROR": _error,
}

SERVER_FRAME_TYPES = frozenset(_DECODERS)


def decode(
    text: str | bytes, *, max_size: int = DEFAULT_MAX_FRAME, max_depth: int = jsonvalue.MAX_DEPTH
) -> Frame:
    """Decode one server frame. Never raises."""
    raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
    found = decode_token(raw, max_size=max_size, max_depth=max_depth)
    if isinstance(found, Frame):
        return found
    seq, stream_id, chunk = found
    return Frame("TOKEN", seq, TextDelta(stream_id, chunk), hash(raw), len(raw))


# A valid TOKEN frame's fields: seq, stream id, text.
Token: TypeAlias = tuple[int, str, str]


def decode_token(
    raw: str, *, max_size: int = DEFAULT_MAX_FRAME, max_depth: int = jsonvalue.MAX_DEPTH
) -> Token | Frame:
    """`decode`, except that a valid TOKEN frame comes back as its fields, with no frame or event built:
    the engine builds neither for the reply's next token (most frames). Never raises."""
    size = len(raw)
    if size > max_size:
        return _invalid(raw, f"frame of {size} bytes exceeds the {max_size}-byte limit")
    try:
        value = jsonvalue.loads(raw)
    except jsonvalue.JsonDecodeError as exc:
        return _invalid(raw, f"malformed JSON: {exc}")
    if type(value) is dict and len(value) == 4 and value.get("type") == "TOKEN":
        # The hot path (most frames are tokens): the checks of `_token` and of the seq, inline. Its four
        # fields are a string, an int and two strings: nothing nests, so no depth to check.
        try:
            seq, chunk, stream_id = value["seq"], value["text"], value["stream_id"]
        except KeyError:  # four fields, not these: the general path says which one is missing
            pass
        else:
            if type(seq) is int and seq >= 0 and type(chunk) is str and type(stream_id) is str:
                return seq, stream_id, chunk
    # Brackets counted here first: a frame with no more of them than the limit cannot nest deeper.
    if raw.count("{") + raw.count("[") > max_depth and jsonvalue.nesting_exceeds(raw, value, max_depth):
        # It still holds its seq, if it has one: refused, it must not open a gap.
        return _invalid(raw, f"JSON nested deeper than {max_depth} levels", _held_seq(value))
    return _decode_value(value, raw, size)


def _decode_value(value: JsonValue, raw: str, size: int) -> Frame:
    if not isinstance(value, dict):
        return _invalid(raw, f"frame is a JSON {type_name(value)}, not an object")
    seq = value.get("seq")
    # bool is an int in Python; a seq of `true` is a mistyped field, not seq 1.
    if not isinstance(seq, int) or isinstance(seq, bool):
        seq = None
    kind = value.get("type")
    if not isinstance(kind, str):
        return _invalid(raw, "frame has no string 'type'", seq)
    decoder = _DECODERS.get(kind)
    if decoder is None:
        return _invalid(raw, f"unknown frame type '{kind}'", seq)
    if seq is None or seq < 0:
        return _invalid(raw, f"{kind} frame has no valid 'seq'")
    try:
        event = decoder(value, size)
    except FrameError as exc:
        return _invalid(raw, f"{kind} frame: {exc}", seq)
    return Frame(kind, seq, event, hash(raw), size)


def _held_seq(value: JsonValue) -> int | None:
    held = value.get("seq") if isinstance(value, dict) else None
    return held if isinstance(held, int) and not isinstance(held, bool) and held >= 0 else None


def _invalid(raw: str, reason: str, seq: int | None = None) -> Frame:
    return Frame("INVALID", seq, ProtocolError(reason, excerpt(raw)), hash(raw), len(raw))


def _frame(obj: JsonObject) -> str:
    return jsonvalue.dumps(obj)


def user_message(content: str) -> str:
    return _frame({"type": "USER_MESSAGE", "content": content})


def pong(echo: str) -> str:
    return _frame({"type": "PONG", "echo": echo})


def resume(last_seq: int) -> str:
    return _frame({"type": "RESUME", "last_seq": last_seq})


def tool_ack(call_id: str) -> str:
    return _frame({"type": "TOOL_ACK", "call_id": call_id})


# -- the server's side: the frames an agent-server writes, the client frames it reads -------------------
# The simulated agent-servers (console/sim) speak the dialect through these, so its field names and
# the spec's deadlines are written once.

PONG_DEADLINE = 3.0  # seconds: a PING must be answered within 3 s
MISSED_PONGS = 3  # unanswered PINGs in a row after which the server ends the connection
ACK_WITHIN = 2.0  # seconds: the client acknowledges a TOOL_CALL within 2 s
ACK_WAIT = 5.0  # seconds the server waits for a TOOL_ACK before it logs the miss and sends the result
CLIENT_FRAME_TYPES = frozenset({"USER_MESSAGE", "PONG", "RESUME", "TOOL_ACK"})


@frozen
class ServerFrame:
    """A server frame before the server numbers it: `numbered(seq)` is its text on the wire."""

    kind: str
    fields: JsonObject

    def numbered(self, seq: int) -> str:
        return _frame({"type": self.kind, "seq": seq, **self.fields})


def token(stream_id: str, text: str) -> ServerFrame:
    return ServerFrame("TOKEN", {"text": text, "stream_id": stream_id})


def tool_call(stream_id: str, call_id: str, tool_name: str, args: JsonObject) -> ServerFrame:
    fields: JsonObject = {"call_id": call_id, "tool_name": tool_name, "args": args, "stream_id": stream_id}
    return ServerFrame("TOOL_CALL", fields)


def tool_result(stream_id: str, call_id: str, result: JsonValue) -> ServerFrame:
    return ServerFrame("TOOL_RESULT", {"call_id": call_id, "result": result, "stream_id": stream_id})


def context_snapshot(context_id: str, data: JsonValue) -> ServerFrame:
    return ServerFrame("CONTEXT_SNAPSHOT", {"context_id": context_id, "data": data})


def ping(challenge: str) -> ServerFrame:
    return ServerFrame("PING", {"challenge": challenge})


def stream_end(stream_id: str) -> ServerFrame:
    return ServerFrame("STREAM_END", {"stream_id": stream_id})


def error(code: str, message: str) -> ServerFrame:
    return ServerFrame("ERROR", {"code": code, "message": message})


@frozen
class ClientFrame:
    """One frame from a client, as a server reads it. `problem` is empty for an object of a known
    client type (its fields are then the server's to judge) and says what is wrong otherwise, with
    `excerpt` the start of the frame; `kind` is the type it claimed, if it claimed one."""

    kind: str | None
    fields: JsonObject
    problem: str = ""
    excerpt: str = ""


def decode_client(text: str | bytes) -> ClientFrame:
    """Read one client frame. Never raises."""
    raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
    try:
        value = jsonvalue.loads(raw)
    except jsonvalue.JsonDecodeError as exc:
        return ClientFrame(None, {}, f"malformed JSON: {exc}", excerpt(raw, 200))
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(kind, str):
        return ClientFrame(None, {}, "no 'type'", excerpt(raw, 200))
    if kind not in CLIENT_FRAME_TYPES:
        return ClientFrame(kind, value, f"unknown client frame type {kind!r}", excerpt(raw, 200))
    return ClientFrame(kind, value)
