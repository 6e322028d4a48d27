"""The simulators' one undocumented websockets seam, held to what they rely on: a frame written now
arrives whole and in order, a cut connection ends with no close frame (as a network failure), and
nothing is written to a connection that is going away. A websockets upgrade that changes the seam
fails here first."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosedError

from console.sim import ws_wire


async def test_frames_written_now_arrive_in_order_and_a_cut_has_no_close_frame() -> None:
    after_cut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        for i in range(3):
            assert ws_wire.write_now(ws, f"frame {i} ✓")
        ws_wire.abort(ws)
        after_cut.set_result(ws_wire.write_now(ws, "too late"))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}") as client:
            assert [await client.recv() for _ in range(3)] == ["frame 0 ✓", "frame 1 ✓", "frame 2 ✓"]
            with pytest.raises(ConnectionClosedError) as closed:
                await client.recv()
            assert closed.value.rcvd is None  # no close frame: the connection was simply cut
    assert await after_cut is False


async def test_nothing_is_written_once_the_closing_handshake_began() -> None:
    written: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        closing = asyncio.create_task(ws.close(1000, "bye"))
        await asyncio.sleep(0)
        written.set_result(ws_wire.write_now(ws, "after close"))
        await closing

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}") as client:
            received = [message async for message in client]
            assert client.close_code == 1000
    assert received == []
    assert await written is False


async def test_frames_of_every_length_arrive_whole_to_a_client_that_negotiated_compression() -> None:
    # The three header sizes of RFC 6455 (7-bit, 16-bit, 64-bit lengths), multi-byte text included.
    texts = ["tok ", "é" * 100, "x" * 70_000, '{"type": "TOKEN", "text": "' + "ü" * 40_000 + '"}']

    async def handler(ws: ServerConnection) -> None:
        for text in texts:
            assert ws_wire.write_now(ws, text)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:  # permessage-deflate on offer
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", max_size=None) as client:
            assert [await client.recv() for _ in texts] == texts
