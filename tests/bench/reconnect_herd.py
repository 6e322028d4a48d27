"""The reconnect herd: N agent sessions on one upstream that restarts, with and without jitter.

    python tests/bench/reconnect_herd.py                 # 1,000 sessions, upstream down for 2 s
    python tests/bench/reconnect_herd.py --sessions 200 --down 3

A plain WebSocket server on loopback holds N real `AgentClient`s; it stops (every session drops at
once), and for `--down` seconds a stand-in on the same port answers every attempt "503 restarting"
(so each attempt is counted, and retried); then the WebSocket server is back. Printed, for the old
fixed schedule (0.5, 1, 2, 4, … s) and for the shipped one (a random first delay, then the same):
the most attempts in any 100 ms while the upstream was down, the most handshakes in any 100 ms once
it was back, and how long the whole herd took to be back. The clients and the servers share one
process and event loop, so a burst is also smeared by the CPU it costs.
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


class Restarting:
    """The upstream while it restarts: every attempt is counted and answered 503."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.attempts: list[float] = []
        self._server: asyncio.Server | None = None

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.attempts.append(time.monotonic())
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def peak(times: list[float], since: float) -> int:
    per_tenth = Counter(int((t - since) * 10) for t in times)
    return max(per_tenth.values(), default=0)


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


async def herd(sessions: int, down: float, schedule: Callable[[], Iterator[float]]) -> tuple[int, int, float]:
    upstream = Upstream()
    await upstream.start()
    clients = [
        AgentClient(f"ws://127.0.0.1:{upstream.port}/ws", backoff_factory=schedule) for _ in range(sessions)
    ]
    for client in clients:
        client.start()
    while len(upstream.arrivals) < sessions:
        await asyncio.sleep(0.05)
    stand_in = Restarting(upstream.port)
    dropped = time.monotonic()
    await upstream.stop()
    await stand_in.start()
    upstream.arrivals.clear()
    await asyncio.sleep(down)
    await stand_in.stop()
    restarted = time.monotonic()
    await upstream.start()
    while len(upstream.arrivals) < sessions and time.monotonic() - restarted < 60:
        await asyncio.sleep(0.05)
    back = max(upstream.arrivals) - restarted
    await asyncio.gather(*(client.close() for client in clients))
    await upstream.stop()
    return peak(stand_in.attempts, dropped), peak(upstream.arrivals, restarted), back


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--down", type=float, default=2.0)
    args = parser.parse_args()
    print(f"{args.sessions} sessions, upstream down {args.down:g} s (shared 2-core machine)")
    for name, schedule in (("fixed 0.5, 1, 2, … s", exponential), ("random first delay", backoff)):
        attempts, handshakes, back = await herd(args.sessions, args.down, schedule)
        print(
            f"  {name:<22} busiest 100 ms while down: {attempts:5d} attempts; once back: "
            f"{handshakes:5d} handshakes; all back after {back:5.2f} s"
        )


if __name__ == "__main__":
    asyncio.run(main())
