"""The SSE conversation server of the spec, simulated: `GET /conversation` as `text/event-stream`.

It streams the spec's sample conversation (a meeting with John: the calendar event of the sample, plus
the contact badge the spec describes) in 4-character `text_chunk`s and field-by-field components, with
a small delay between events. Options: `id:` lines on or off (without ids a reconnect replays from the
start, as real servers do; with ids `Last-Event-ID` resumes after the last event received), a `retry:`
line, and a seeded chaos mode that swaps adjacent chunks, duplicates chunks, slips in a malformed JSON
line and an event of an unknown type, and drops the connection mid-stream (the first connection only,
so a client that reconnects can finish).

`CONVERSATION` is the ground truth: what a client must end up showing, whatever the chaos.

Run standalone with `serve(host, port, config)`, or in-process with `SSESimulator` (`start()` returns
the port). `create_app(config)` is the same endpoint as a Starlette app, to mount in a NiceGUI app.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from console import jsonvalue
from console.jsonvalue import JsonObject, JsonValue
from console.sim.http_server import StreamServer

DEFAULT_PORT = 4748

# --------------------------------------------------------------------------------------------
# The conversation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleComponent:
    type: str
    fields: Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True)
class SampleMessage:
    id: str
    role: Literal["user", "assistant"]
    text: str
    components: tuple[SampleComponent, ...] = ()

    @property
    def wire_role(self) -> str:
        return "agent" if self.role == "assistant" else "user"  # the spec's name for the assistant


# An avatar that needs no network: a small SVG (loaded as an image, so it cannot run script).
_AVATAR = (
    "data:image/svg+xml;utf8,"
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'%3E"
    "%3Crect width='64' height='64' fill='%234f7cac'/%3E"
    "%3Ccircle cx='32' cy='25' r='12' fill='%23e8eef5'/%3E"
    "%3Cpath d='M12 58c2-12 10-18 20-18s18 6 20 18z' fill='%23e8eef5'/%3E%3C/svg%3E"
)

CONVERSATION: tuple[SampleMessage, ...] = (
    SampleMessage("msg_0", "user", "Hi! Can you help me schedule a meeting with John next week?"),
    SampleMessage(
        "msg_1",
        "assistant",
        "Of course! I'd be happy to help you schedule a meeting with John. "
        "Let me check the available slots for next week.",
    ),
    SampleMessage(
        "msg_2",
        "assistant",
        "I found a good time slot for your meeting with John. Here's the proposed event:",
        (
            SampleComponent(
                "calendar_event",
                {"title": "Meeting with John", "date": "2025-10-22", "time": "14:00", "status": "PROPOSED"},
            ),
        ),
    ),
    SampleMessage("msg_3", "user", "Great, thanks! Can you share John's contact details too?"),
    SampleMessage(
        "msg_4",
        "assistant",
        "Sure — here is John’s contact card:",
        (
            SampleComponent(
                "contact_badge",
                {
                    "name": "John Carter",
                    "email": "john.carter@example.com",
                    "company": "Acme Corporation",
                    "profilePicture": _AVATAR,
                },
            ),
        ),
    ),
)


def expected_messages(conversation: tuple[SampleMessage, ...] = CONVERSATION) -> list[JsonObject]:
    """The ground truth as plain JSON: id, role, text and components (type, fields) of each message."""
    return [
        {
            "id": m.id,
            "role": m.role,
            "text": m.text,
            "components": [{"type": c.type, "fields": dict(c.fields)} for c in m.components],
        }
        for m in conversation
    ]


# --------------------------------------------------------------------------------------------
# Events on the wire
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WireEvent:
    name: str
    data: str  # usually JSON; chaos puts a malformed line here


@dataclass(frozen=True, slots=True)
class SimConfig:
    chunk_size: int = 4
    delay: float = 0.04  # seconds between events, divided by `speed`
    speed: float = 1.0
    ids: bool = True
    retry_ms: int | None = 1500
    chaos: bool = False
    seed: int = 0
    drops: int = 1  # chaos: how many connections are cut mid-stream
    drop_at: int | None = None  # chaos: the event position of the cut (default: seeded, mid-stream)
    # Stress the client's framing: CRLF line ends, comment lines, and the byte stream cut at seeded
    # random points (inside UTF-8 characters too), each piece its own write.
    stress: bool = False

    @property
    def pause(self) -> float:
        return self.delay / self.speed if self.speed > 0 else 0.0


def _event(name: str, **members: JsonValue) -> WireEvent:
    return WireEvent(name, jsonvalue.dumps({"event": name, **members}))


def conversation_events(
    conversation: tuple[SampleMessage, ...] = CONVERSATION, chunk_size: int = 4
) -> list[WireEvent]:
    """The clean event sequence of a conversation, as the spec streams it."""
    events: list[WireEvent] = []
    for message in conversation:
        mid = message.id
        events.append(_event("message_start", messageId=mid, role=message.wire_role))
        for index, start in enumerate(range(0, len(message.text), chunk_size)):
            chunk = message.text[start : start + chunk_size]
            events.append(_event("text_chunk", messageId=mid, chunk=chunk, index=index))
        for component in message.components:
            events.append(_event("component_start", messageId=mid, componentType=component.type))
            for name, value in component.fields.items():
                events.append(_event("component_field", messageId=mid, field=name, value=value))
            events.append(_event("component_end", messageId=mid))
        events.append(_event("message_end", messageId=mid))
    return events


def _is_chunk_pair(events: list[WireEvent], i: int) -> bool:
    a, b = events[i], events[i + 1]
    return a.name == b.name == "text_chunk" and _message_of(a) == _message_of(b)


def _message_of(event: WireEvent) -> str:
    value = jsonvalue.loads(event.data)
    mid = value.get("messageId") if isinstance(value, dict) else None
    return mid if isinstance(mid, str) else ""


def chaos_events(events: list[WireEvent], rng: random.Random) -> list[WireEvent]:
    """The same conversation, disturbed: 3 adjacent chunk swaps, 3 duplicated chunks, one malformed JSON
    line, one event of an unknown type. Nothing is lost, so a robust client still shows it all."""
    out = list(events)
    pairs = [i for i in range(len(out) - 1) if _is_chunk_pair(out, i)]
    swapped: set[int] = set()
    for i in rng.sample(pairs, min(3, len(pairs))):
        if i - 1 in swapped or i + 1 in swapped or i in swapped:
            continue
        swapped.add(i)
        out[i], out[i + 1] = out[i + 1], out[i]
    chunk_positions = [i for i, e in enumerate(out) if e.name == "text_chunk"]
    for i in sorted(rng.sample(chunk_positions, min(3, len(chunk_positions))), reverse=True):
        out.insert(i + 1, out[i])
    victim = _message_of(out[rng.randrange(len(out))])
    out.insert(
        rng.randrange(1, len(out)),
        WireEvent("text_chunk", '{"event":"text_chunk","messageId":"' + victim + '","chunk":"oo'),
    )
    out.insert(rng.randrange(1, len(out)), _event("typing_indicator", messageId=victim, active=True))
    return out


def planned_events(config: SimConfig) -> list[WireEvent]:
    events = conversation_events(CONVERSATION, config.chunk_size)
    return chaos_events(events, random.Random(config.seed)) if config.chaos else events


def drop_position(config: SimConfig, length: int) -> int:
    """Where the chaos cut falls: a seeded position in the middle of the stream."""
    if config.drop_at is not None:
        return config.drop_at
    return random.Random(config.seed + 1).randint(length * 2 // 5, length * 4 // 5)


def encode(event: WireEvent, event_id: int | None) -> str:
    """One event block, in the spec's style (`event:` then `data:`, no space after the colon)."""
    head = f"id:{event_id}\n" if event_id is not None else ""
    return f"{head}event:{event.name}\ndata:{event.data}\n\n"


@dataclass(slots=True)
class SimState:
    """What the simulator remembers across connections."""

    config: SimConfig
    events: list[WireEvent] = field(default_factory=list)
    drops_left: int = 0
    connections: int = 0
    stopping: bool = False

    @classmethod
    def create(cls, config: SimConfig) -> SimState:
        return cls(config, planned_events(config), config.drops if config.chaos else 0)


def _resume_after(last_event_id: str | None) -> int:
    """Events already delivered, from a `Last-Event-ID` (ids are 1-based positions)."""
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        return int(last_event_id)
    return 0


async def stream(state: SimState, last_event_id: str | None) -> AsyncIterator[str | None]:
    """The text of one connection's response, one event block at a time. A `None` means: cut the
    connection now (chaos), without ending the response properly."""
    config = state.config
    state.connections += 1
    start = _resume_after(last_event_id) if config.ids else 0
    cut = drop_position(config, len(state.events)) if state.drops_left > 0 else None
    if config.retry_ms is not None:
        yield f"retry:{config.retry_ms}\n\n"
    for position in range(start, len(state.events)):
        if state.stopping:
            return
        if cut is not None and position == cut and state.drops_left > 0:
            state.drops_left -= 1
            yield None
            return
        if position > start:
            await asyncio.sleep(config.pause)
        yield encode(state.events[position], position + 1 if config.ids else None)


# --------------------------------------------------------------------------------------------
# The server: plain asyncio HTTP/1.1, chunked, so a cut is a truncated body, not a clean end
# --------------------------------------------------------------------------------------------

_MAX_HEAD = 16 * 1024


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    headers: Mapping[str, str]


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return _Request(parts[0], parts[1].split("?", 1)[0], headers)


def _head(status: str, content_type: str, chunked: bool, length: int = 0) -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        f"Content-Type: {content_type}",
        "Connection: close",
        "Cache-Control: no-cache",
    ]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def stressed(block: str, rng: random.Random) -> list[bytes]:
    """One event block as a hostile server sends it: CRLF line ends, a comment line now and then, and
    its bytes cut at random points, including inside multi-byte UTF-8 characters."""
    text = block.replace("\n", "\r\n")
    if rng.random() < 0.3:
        text = ": keep-alive\r\n" + text
    data = text.encode()
    cuts = sorted(rng.sample(range(1, len(data)), min(3, len(data) - 1))) if len(data) > 1 else []
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def _chunk_bytes(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n"


def _chunk(text: str) -> bytes:
    return _chunk_bytes(text.encode())


class SSESimulator(StreamServer):
    """The simulator in-process: `port = await sim.start()`, `sim.url`, `await sim.stop()`."""

    def __init__(self, config: SimConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.config = config or SimConfig()
        self.state = SimState.create(self.config)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/conversation"

    @property
    def connections(self) -> int:
        return self.state.connections

    async def start(self) -> int:
        self.state.stopping = False
        return await super().start()

    async def stop(self) -> None:
        self.state.stopping = True
        await super().stop()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        if request is None:
            return
        if request.method != "GET":
            await self._plain(writer, "405 Method Not Allowed", b"method not allowed\n")
        elif request.path == "/conversation":
            await self._conversation(writer, request.headers.get("last-event-id"))
        elif request.path == "/health":
            body = jsonvalue.dumps_bytes({"status": "ok", "connections": self.state.connections})
            writer.write(_head("200 OK", "application/json", False, len(body)) + body)
            await writer.drain()
        else:
            await self._plain(writer, "404 Not Found", b"not found\n")

    async def _plain(self, writer: asyncio.StreamWriter, status: str, body: bytes) -> None:
        writer.write(_head(status, "text/plain; charset=utf-8", False, len(body)) + body)
        await writer.drain()

    async def _conversation(self, writer: asyncio.StreamWriter, last_event_id: str | None) -> None:
        writer.write(_head("200 OK", "text/event-stream; charset=utf-8", True))
        rng = random.Random(self.config.seed + 2)
        async for block in stream(self.state, last_event_id):
            if block is None:
                writer.transport.abort()  # a network failure: no terminating chunk, no FIN
                return
            if not self.config.stress:
                writer.write(_chunk(block))
                await writer.drain()
                continue
            for piece in stressed(block, rng):
                writer.write(_chunk_bytes(piece))
                await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: SimConfig | None = None) -> None:
    """Run the simulator until cancelled."""
    await SSESimulator(config, host=host, port=port).serve_forever()


# --------------------------------------------------------------------------------------------
# The same endpoint as a Starlette app, to mount beside the dashboard
# --------------------------------------------------------------------------------------------


def create_app(config: SimConfig | None = None) -> Starlette:
    """`GET /conversation` and `GET /health`. Mounted, a chaos cut ends the response early (ASGI cannot
    abort a connection), which the client sees as the stream ending mid-conversation."""
    state = SimState.create(config or SimConfig())

    async def conversation(request: Request) -> Response:
        async def body() -> AsyncIterator[str]:
            async for block in stream(state, request.headers.get("last-event-id")):
                if block is None:
                    return
                yield block

        return StreamingResponse(
            body(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "connections": state.connections})

    return Starlette(routes=[Route("/conversation", conversation), Route("/health", health)])
