"""The SSE conversation server of the spec, simulated: `GET /conversation` as `text/event-stream`.

It streams the spec's sample conversation (a meeting with John: the calendar event of the sample, plus
the contact badge the spec describes) in 4-character `text_chunk`s and field-by-field components, with
a small delay between events. Options: `id:` lines on or off (without ids a reconnect replays from the
start, as real servers do; with ids `Last-Event-ID` resumes after the last event received), a `retry:`
line, and a seeded chaos mode that swaps adjacent chunks, duplicates chunks, slips in a malformed JSON
line and an event of an unknown type, and drops the connection mid-stream (the first connection only,
so a client that reconnects can finish).

`CONVERSATION` (`sse_corpus`) is the ground truth: what a client must end up showing, whatever the
chaos (`sse_chaos`); `truth()` and `GET /truth` give it as a transcript (`console.transcript`). The events are written by the dialect's own builders (`console/dialects/sse/frames.py`).

Run standalone with `serve(host, port, config)`, or in-process with `SSESimulator` (`start()` returns
the port). `create_app(config)` is the same endpoint as a Starlette app, to mount in a NiceGUI app.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from console import jsonvalue
from console.dialects.sse import frames
from console.dialects.sse.frames import ConversationEvent
from console.jsonvalue import JsonValue
from console.sim.http_server import StreamServer
from console.sim.sse_chaos import chaos_events, drop_position, stressed
from console.sim.sse_corpus import CONVERSATION, SampleMessage, transcript
from console.transcript import Transcript

DEFAULT_PORT = 4748

# --------------------------------------------------------------------------------------------
# The conversation's events, and a connection's share of them
# --------------------------------------------------------------------------------------------


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


def conversation_events(
    conversation: tuple[SampleMessage, ...] = CONVERSATION, chunk_size: int = 4
) -> list[ConversationEvent]:
    """The clean event sequence of a conversation, as the spec streams it."""
    events: list[ConversationEvent] = []
    for message in conversation:
        mid = message.id
        events.append(frames.message_start(mid, message.wire_role))
        for index, start in enumerate(range(0, len(message.text), chunk_size)):
            chunk = message.text[start : start + chunk_size]
            events.append(frames.text_chunk(mid, chunk, index))
        for component in message.components:
            events.append(frames.component_start(mid, component.type))
            for name, value in component.fields.items():
                events.append(frames.component_field(mid, name, value))
            events.append(frames.component_end(mid))
        events.append(frames.message_end(mid))
    return events


def planned_events(config: SimConfig) -> list[ConversationEvent]:
    events = conversation_events(CONVERSATION, config.chunk_size)
    return chaos_events(events, random.Random(config.seed)) if config.chaos else events


@dataclass(slots=True)
class SimState:
    """What the simulator remembers across connections."""

    config: SimConfig
    events: list[ConversationEvent] = field(default_factory=list)
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
    cut = drop_position(config.drop_at, config.seed, len(state.events)) if state.drops_left > 0 else None
    if config.retry_ms is not None:
        yield frames.retry_block(config.retry_ms)
    for position in range(start, len(state.events)):
        if state.stopping:
            return
        if cut is not None and position == cut and state.drops_left > 0:
            state.drops_left -= 1
            yield None
            return
        if position > start:
            await asyncio.sleep(config.pause)
        yield state.events[position].block(position + 1 if config.ids else None)


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

    def truth(self) -> Transcript:
        """What a client must end up showing, whatever the chaos (`GET /truth`)."""
        return transcript()

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
        elif request.path in ("/health", "/truth"):
            health: JsonValue = {"status": "ok", "connections": self.state.connections}
            body = jsonvalue.dumps_bytes(health if request.path == "/health" else self.truth().to_json())
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
    """`GET /conversation`, `GET /health` and `GET /truth`. Mounted, a chaos cut ends the response early (ASGI cannot
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

    async def truth(request: Request) -> Response:
        return JSONResponse(transcript().to_json())

    return Starlette(
        routes=[Route("/conversation", conversation), Route("/health", health), Route("/truth", truth)]
    )
