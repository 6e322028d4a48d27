"""The WebSocket link against a real websockets server on loopback: what a server may legally (or not)
put on the wire reaches the session whole, in order, or ends the connection with a reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import InvalidHandshake

from console.runtime import wsframes, wslink
from console.runtime.wsframes import Message, masked_text
from console.runtime.wslink import Link
from console.runtime.wsopen import open_link
from tests.helpers import eventually
from tests.hostile.servers import Peer, RawWebSocketServer, frame
from tests.runtime.servers import Start, loopback_servers

Handler = Callable[[ServerConnection], Awaitable[None]]


@pytest.fixture
async def server() -> AsyncIterator[Start]:
    async with loopback_servers() as start:
        yield start


async def connect(url: str) -> tuple[Link, list[Message]]:
    received: list[Message] = []
    link = await open_link(url, received.append, open_timeout=5, max_size=1 << 20)
    return link, received


async def test_messages_sent_with_the_handshake_and_fragmented_ones_arrive_whole_and_in_order(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("first")
        await ws.send(iter(["frag", "mented ", "text"]))  # one message in three frames
        await ws.send(b"\x00binary")
        await ws.send("last")
        await ws.wait_closed()

    link, received = await connect(await server(handler))
    await asyncio.sleep(0.2)
    assert received == []  # held until the session is ready for them
    link.start()
    await eventually(lambda: len(received) == 4, 1)
    assert received == ["first", "fragmented text", b"\x00binary", "last"]
    await link.close()
    assert link.reason == "closed by server (1000)"


async def test_what_the_session_sends_reaches_the_server_and_nothing_is_sent_once_closing(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    got: list[str | bytes] = []

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            got.append(message)
            await ws.send(f"echo {message!s}")

    link, received = await connect(await server(handler))
    link.start()
    assert link.send("one") and link.send("two")
    await eventually(lambda: len(received) == 2, 1)
    assert got == ["one", "two"] and received == ["echo one", "echo two"]
    await link.close()
    assert not link.send("three")


async def test_text_of_every_length_encoding_reaches_a_strict_server_whole_masked_and_in_order(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    # websockets' server refuses an unmasked or malformed client frame: what it receives is what was
    # sent, whichever of the three length encodings (7, 16, 64 bits) the frame needed.
    got: list[str | bytes] = []

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            got.append(message)
            await ws.ping()  # answered by the link's protocol between two of our frames

    sent = ["short", "ü" * 100, "x" * 125, "y" * 126, "z" * 65_535, "w" * 70_000, '{"type":"PONG"}']
    link, _ = await connect(await server(handler))
    link.start()
    for text in sent:
        assert link.send(text)
        await asyncio.sleep(0.01)
    await eventually(lambda: len(got) == len(sent), 2)
    assert got == sent
    assert not link.lost.done()
    await link.close()


async def test_invalid_utf8_in_a_text_frame_ends_the_link_after_what_came_before(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("fine")
        ws.protocol.send_text(b"\xff\xfe not utf-8")  # what the high-level API would never send
        ws.send_data()
        await ws.wait_closed()

    link, received = await connect(await server(handler))
    link.start()
    await asyncio.wait_for(link.wait_closed(), 5)
    assert received == ["fine"]
    assert link.protocol.close_sent is not None and link.protocol.close_sent.code == 1007


async def test_a_session_that_cannot_take_a_message_ends_the_link_and_says_why(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("boom")
        await ws.send("never applied")
        await ws.wait_closed()

    seen: list[Message] = []

    def take(message: Message) -> None:
        seen.append(message)
        raise RuntimeError("the session broke")

    link = await open_link(await server(handler), take, open_timeout=5, max_size=1 << 20)
    link.start()
    with pytest.raises(RuntimeError, match="the session broke"):
        await asyncio.wait_for(link.wait_closed(), 5)
    assert seen == ["boom"]


async def test_a_server_that_refuses_the_upgrade_fails_the_connect() -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        with pytest.raises(InvalidHandshake, match="403"):
            await open_link(f"ws://127.0.0.1:{port}/ws", print, open_timeout=5, max_size=1 << 20)
    finally:
        srv.close()
        await srv.wait_closed()


async def test_a_server_that_goes_silent_is_pinged_then_given_up(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("hello")
        ws.transport.pause_reading()  # alive but deaf: never reads, so never answers a ping
        await asyncio.sleep(2)  # past the test: the link must give up first

    link, received = await connect(await server(handler))
    link.start()
    link.ping_interval, link.ping_timeout = 0.2, 0.3
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not link.lost.done() and loop.time() - started < 5:
        link.keepalive(time.monotonic())
        await asyncio.sleep(0.05)
    assert link.lost.done(), "a silent server must be given up"
    assert 0.4 <= loop.time() - started < 2
    assert received == ["hello"] and link.reason == "connection lost"


async def test_a_link_kept_alive_only_when_it_says_it_needs_it_still_gives_up_a_silent_server(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("hello")
        ws.transport.pause_reading()  # alive but deaf: never answers a ping
        await asyncio.sleep(2)

    link, _ = await connect(await server(handler))
    link.start()
    link.ping_interval, link.ping_timeout = 0.2, 0.3
    loop = asyncio.get_running_loop()
    started = loop.time()
    calls = 0
    while not link.lost.done() and loop.time() - started < 5:
        # As the engines' ticker does for a streaming session: the next tick when `keepalive_in` says.
        await asyncio.sleep(max(link.keepalive_in(time.monotonic()), 0.0) + 0.01)
        link.keepalive(time.monotonic())
        calls += 1
    assert link.lost.done(), "a silent server must be given up"
    assert 0.5 <= loop.time() - started < 1.5  # the ping after 0.2 s, given up 0.3 s after it
    assert calls <= 3, "a call when the ping is due, one when its answer is overdue"


async def test_a_server_that_answers_pings_keeps_the_link(
    server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    link, _ = await connect(await server(handler))
    link.start()
    link.ping_interval, link.ping_timeout = 0.1, 0.3
    for _ in range(20):
        link.keepalive(time.monotonic())
        await asyncio.sleep(0.05)
    assert not link.lost.done()
    await link.close()


async def test_frames_cut_anywhere_with_pings_and_fragments_between_arrive_whole_and_in_order() -> None:
    # Frames of every length encoding (7, 16 and 64 bits), a ping between them (answered), then a
    # fragmented message and frames after it: written in pieces cut at every size from 1 byte up.
    texts = ["short", "m" * 300, "l" * 70_000, "é — unicode"]
    wire = b"".join(frame(t) for t in texts[:2])
    wire += bytes([0x89, 4]) + b"ping"  # a ping with a payload
    wire += b"".join(frame(t) for t in texts[2:]) + frame(b"\x00bin", opcode=0x2)
    wire += bytes([0x01, 4]) + b"frag" + bytes([0x80, 5]) + b"ments"  # text in two frames
    wire += frame("after")
    expected: list[Message] = [*texts, b"\x00bin", "fragments", "after"]
    for piece in (1, 2, 3, 7, 130, 4096, len(wire)):

        async def script(peer: Peer, piece: int = piece) -> None:
            for start in range(0, len(wire), piece):
                peer.send(wire[start : start + piece])
                await peer.drain()
                if (piece < 10 and start % 997 == 0) or piece >= 10:
                    await asyncio.sleep(0)  # separate reads, not one
            await asyncio.sleep(0.2)

        server = RawWebSocketServer(script)
        await server.start()
        try:
            received: list[Message] = []
            link = await open_link(server.url, received.append, open_timeout=5, max_size=1 << 20)
            link.start()
            for _ in range(250):
                if len(received) == len(expected):
                    break
                await asyncio.sleep(0.02)
            assert received == expected, piece
            link.abort()
        finally:
            await server.stop()


async def test_a_frame_over_the_size_limit_closes_the_link_with_1009(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wslink, "CLOSE_TIMEOUT", 0.5)  # this server never answers the close

    async def script(peer: Peer) -> None:
        peer.send(frame("ok") + frame("x" * 2_000))
        await peer.drain()
        await asyncio.sleep(0.5)

    server = RawWebSocketServer(script)
    await server.start()
    try:
        received: list[Message] = []
        link = await open_link(server.url, received.append, open_timeout=5, max_size=1_000)
        link.start()
        await asyncio.wait_for(asyncio.shield(link.lost), 10)
        assert received == ["ok"]
        assert "1009" in link.reason
    finally:
        await server.stop()


async def test_nothing_after_invalid_utf8_is_delivered_even_in_the_same_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wslink, "CLOSE_TIMEOUT", 0.5)  # this server never answers the close

    async def script(peer: Peer) -> None:
        peer.send(frame("before") + frame(b"\xff\xfe broken") + frame("after"))
        await peer.drain()
        await asyncio.sleep(1)

    server = RawWebSocketServer(script)
    await server.start()
    try:
        received: list[Message] = []
        link = await open_link(server.url, received.append, open_timeout=5, max_size=1 << 20)
        link.start()
        await asyncio.wait_for(asyncio.shield(link.lost), 10)
        assert received == ["before"]
        assert "1007" in link.reason
    finally:
        await server.stop()


def test_each_frame_sent_has_a_mask_of_its_own_across_blocks_of_random_bytes() -> None:
    payload = b'{"type":"TOOL_ACK","call_id":"c1"}'
    frames = [masked_text(payload) for _ in range(3 * wsframes.MASKS_BYTES // 4)]  # three blocks
    masks = [f[2:6] for f in frames]
    assert all(f[:2] == bytes((0x81, 0x80 | len(payload))) for f in frames)
    unmasked = [
        bytes(b ^ mask[i % 4] for i, b in enumerate(f[6:])) for f, mask in zip(frames, masks, strict=True)
    ]
    assert all(u == payload for u in unmasked)
    assert len(set(masks)) > 0.99 * len(masks), "masks must not repeat"
