"""Hostile upstreams on loopback, written at the byte level so that they can break every rule.

`RawWebSocketServer` completes a WebSocket handshake by hand and then lets a script write any frame
at all (invalid UTF-8 in a text frame, binary frames, megabytes) and ignore whatever the client says,
closing handshakes included; it records the client's text messages with the time they arrived, so a
test can tell how late each PONG came. `RawHTTPServer` answers every GET with a script's bytes.
Also used by `tests/bench/floods.py`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from console import jsonvalue
from console.jsonvalue import JsonObject
from tests import helpers

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(payload: bytes | str, opcode: int = 0x1) -> bytes:
    """One unmasked server frame (FIN set): 0x1 text, 0x2 binary. The payload is sent as given."""
    data = payload.encode() if isinstance(payload, str) else payload
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + data


def nested(depth: int) -> object:
    """A JSON value `depth` levels deep (as a Python value: arrays and objects in turn)."""
    value: object = "bottom"
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


def nested_text(depth: int) -> str:
    """The JSON text of a value `depth` levels deep, built as text: json.dumps would recurse too deep."""
    return "[" * depth + "]" * depth


@dataclass
class Peer:
    """One client connection of a `RawWebSocketServer`."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    received: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, text)
    closes: int = 0  # close frames the client sent (never answered)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    def sent(self, kind: str) -> list[tuple[float, JsonObject]]:
        """The client's frames of one type, with the time each arrived."""
        out = []
        for at, text in self.received:
            value = jsonvalue.loads(text)
            if isinstance(value, dict) and value.get("type") == kind:
                out.append((at, value))
        return out


Script = Callable[[Peer], Awaitable[None]]


class RawWebSocketServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.peers: list[Peer] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for peer in self.peers:
            peer.writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        peer = Peer(reader, writer)
        self.peers.append(peer)
        listen = asyncio.get_running_loop().create_task(self._listen(peer))
        self._tasks.add(listen)
        try:
            await self.script(peer)
            await peer.drain()
            await asyncio.sleep(3600)  # never closes, never answers a close
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            listen.cancel()
            writer.close()

    async def _listen(self, peer: Peer) -> None:
        """Read the client's frames (masked); keep its text messages, answer nothing."""
        reader = peer.reader
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            while True:
                head = await reader.readexactly(2)
                opcode, size = head[0] & 0x0F, head[1] & 0x7F
                if size == 126:
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                elif size == 127:
                    (size,) = struct.unpack("!Q", await reader.readexactly(8))
                mask = await reader.readexactly(4)
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(await reader.readexactly(size)))
                if opcode == 0x1:
                    peer.received.append((time.monotonic(), data.decode()))
                elif opcode == 0x8:
                    peer.closes += 1


HttpScript = Callable[[asyncio.StreamWriter, dict[str, str]], Awaitable[None]]
StartHttp = Callable[[HttpScript], Awaitable["RawHTTPServer"]]

# Hostile servers make a client work hard: give it longer than usual.
eventually = partial(helpers.eventually, seconds=15.0)


class RawHTTPServer:
    """Answers each request with the script's bytes (it writes the status line and headers too)."""

    def __init__(self, script: HttpScript) -> None:
        self.script = script
        self.requests: list[dict[str, str]] = []  # headers of each request, lower-case names
        self.raw_headers: list[bytes] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/stream"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            self.raw_headers.append(request)
            headers = {}
            for line in request.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name:
                    headers[name.decode().lower()] = value.strip().decode("utf-8", "replace")
            self.requests.append(headers)
            await self.script(writer, headers)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


SSE_HEADERS = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n"


def sse_event(name: str, data: object, id: str | None = None) -> bytes:
    lines = [f"event:{name}", f"data:{json.dumps(data)}"]
    if id is not None:
        lines.append(f"id:{id}")
    return ("\n".join(lines) + "\n\n").encode()


def resident_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")
