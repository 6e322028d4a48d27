"""The reconnect herd: N agent sessions on one upstream that restarts, with and without jitter.

    python tests/bench/reconnect_herd.py                 # 1,000 sessions, upstream down for 2 s
    python tests/bench/reconnect_herd.py --sessions 200 --down 3

A plain WebSocket server on loopback holds N real `AgentClient`s; it stops (every session drops at
once), stays down `--down` seconds (the clients' attempts are refused), and comes back on the same
port. The server logs when each handshake arrives. Printed, for the old fixed schedule (0.5, 1, 2, 4,
… s) and for the shipped one (a random first delay, then the same): how many handshakes came in the
busiest 100 ms after the restart, and how long the whole herd took to be back.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from websockets.asyncio.server import Server, ServerConnection, serve

from console.dialects.agent.client import AgentClient
from console.runtime.reconnect import backoff, exponential


class Upstream:
    def __init__(self) -> None:
        self.port = 0
        self.arrivals: list[float] = []
        self._server: Server | None = None

    async def _handler(self, ws: ServerConnection) -> None:
        self.arrivals.append(time.monotonic())
        await ws.wait_closed()

    async def start(self) -> None:
        self._server = await serve(self._handler, "127.0.0.1", self.port, ping_interval=None)
        self.port = self._server.sockets[0].getsockname()[1] if not self.port else self.port

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def herd(sessions: int, down: float, schedule: Callable[[], Iterator[float]]) -> tuple[int, float]:
    upstream = Upstream()
    await upstream.start()
    clients = [
        AgentClient(f"ws://127.0.0.1:{upstream.port}/ws", backoff_factory=schedule) for _ in range(sessions)
    ]
    for client in clients:
        client.start()
    while len(upstream.arrivals) < sessions:
        await asyncio.sleep(0.05)
    await upstream.stop()
    restarted = time.monotonic() + down
    upstream.arrivals.clear()
    await asyncio.sleep(down)
    await upstream.start()
    while len(upstream.arrivals) < sessions and time.monotonic() - restarted < 60:
        await asyncio.sleep(0.05)
    per_tenth = Counter(int((t - restarted) * 10) for t in upstream.arrivals)
    back = max(upstream.arrivals) - restarted
    await asyncio.gather(*(client.close() for client in clients))
    await upstream.stop()
    return max(per_tenth.values()), back


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--down", type=float, default=2.0)
    args = parser.parse_args()
    print(f"{args.sessions} sessions, upstream down {args.down:g} s (shared 2-core machine)")
    for name, schedule in (("fixed 0.5, 1, 2, … s", exponential), ("random first delay", backoff)):
        peak, back = await herd(args.sessions, args.down, schedule)
        print(f"  {name:<22} busiest 100 ms: {peak:5d} handshakes   all back after {back:5.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
