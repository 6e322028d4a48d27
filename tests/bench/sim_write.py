"""What one simulated frame costs the server to write: `ws_wire.write_now` (the frame encoded by the
simulator and handed to the transport) against the documented `await ws.send()`.

    python -m tests.bench.sim_write

A server on loopback writes token-sized frames to one connected client, in rounds of 50 (a burst of
tokens across sessions in one loop iteration), and reports the time spent in the writes per frame;
the client, on the same loop, only counts what arrives. The figure is why the simulators keep an undocumented websockets
seam (see `console/sim/ws_wire.py`).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from console.dialects.agent import protocol as proto
from console.sim import ws_wire

FRAMES = 20_000
BURST = 50
RUNS = 5


async def _write(ws: ServerConnection, documented: bool) -> float:
    texts = [proto.token("s_1b099ba9", f"word{i % 97} ").numbered(i + 1) for i in range(FRAMES)]
    spent = 0.0  # in the writes only: the client's reading is not the server's cost
    for first in range(0, FRAMES, BURST):
        start = time.perf_counter()
        for text in texts[first : first + BURST]:
            if documented:
                await ws.send(text)
            else:
                ws_wire.write_now(ws, text)
        spent += time.perf_counter() - start
        await asyncio.sleep(0)  # the loop's other work between bursts, as a token's pacer wait gives it
    return spent / FRAMES


async def run(documented: bool) -> float:
    result: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        result.set_result(await _write(ws, documented))
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None, max_queue=None) as client:
            received = 0
            while received < FRAMES:
                await client.recv()
                received += 1
        return await result


async def main() -> None:
    for label, documented in (("write_now (encoded here)", False), ("await ws.send()", True)):
        figures = [await run(documented) for _ in range(RUNS)]
        print(f"{label:30} {statistics.median(figures) * 1e6:6.2f} µs per frame (median of {RUNS} runs)")


if __name__ == "__main__":
    import uvloop  # the loop the console runs on (uvicorn picks it when installed)

    uvloop.run(main())
