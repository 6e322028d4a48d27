"""The reconnect herd: N agent sessions on one upstream that restarts, with and without jitter.

    python tests/bench/reconnect_herd.py                 # 1,000 sessions, upstream down for 2 s
    python tests/bench/reconnect_herd.py --sessions 200 --down 3

A plain WebSocket server on loopback (a process of its own) holds N real `AgentClient`s; it stops
(every session drops at once), and for `--down` seconds a stand-in on the same port answers every attempt "503 restarting"
(so each attempt is counted, and retried); then the WebSocket server is back. Printed, for the old
fixed schedule (0.5, 1, 2, 4, … s) and for the shipped one (a random first delay, then the same):
the most attempts in any 100 ms while the upstream was down (as the schedules plan them, and as they
arrived: one client process issues a burst only as fast as its CPU allows, which smears it), the most
handshakes in any 100 ms once it was back, and how long the whole herd took to be back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from asyncio.subprocess import PIPE
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


async def serve_upstream() -> None:
    """The upstream's process: commands on stdin (up, down, report), answers on stdout, one a line.
    Its own process, so that its clock of arrivals is not smeared by the clients' work."""
    upstream = Upstream()
    await upstream.start()
    stand_in = Restarting(upstream.port)
    print(upstream.port, flush=True)
    while command := (await asyncio.to_thread(sys.stdin.readline)).strip():
        if command == "down":
            await upstream.stop()
            stand_in.attempts.clear()
            upstream.arrivals.clear()
            await stand_in.start()
        elif command == "up":
            await stand_in.stop()
            await upstream.start()
        report = {"attempts": stand_in.attempts, "arrivals": upstream.arrivals, "now": time.monotonic()}
        print(json.dumps(report), flush=True)


def peak(times: list[float], since: float) -> int:
    per_tenth = Counter(int((t - since) * 10) for t in times)
    return max(per_tenth.values(), default=0)


def planned_peak(sessions: int, schedule: Callable[[], Iterator[float]], until: float) -> int:
    """The most attempts the schedules themselves put in one 100 ms after a drop (no CPU involved)."""
    instants: list[float] = []
    for _ in range(sessions):
        at = 0.0
        for delay in schedule():
            at += delay
            if at > until:
                break
            instants.append(at)
    return peak(instants, 0.0)


class Herd:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ask(self, command: str) -> dict[str, list[float]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        answer: dict[str, list[float]] = json.loads(await self.process.stdout.readline())
        return answer


async def herd(sessions: int, down: float, schedule: Callable[[], Iterator[float]]) -> tuple[int, int, float]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", stdin=PIPE, stdout=PIPE
    )
    assert process.stdout is not None
    port = int(await process.stdout.readline())
    upstream = Herd(process)
    clients = [AgentClient(f"ws://127.0.0.1:{port}/ws", backoff_factory=schedule) for _ in range(sessions)]
    for client in clients:
        client.start()
    while sum(1 for c in clients if c.conversation.link.live) < sessions:
        await asyncio.sleep(0.05)
    dropped = time.monotonic()
    await upstream.ask("down")
    await asyncio.sleep(down)
    restarted = time.monotonic()
    await upstream.ask("up")
    while (
        sum(1 for c in clients if c.conversation.link.live) < sessions and time.monotonic() - restarted < 60
    ):
        await asyncio.sleep(0.05)
    report = await upstream.ask("report")
    await asyncio.gather(*(client.close() for client in clients))
    assert process.stdin is not None
    process.stdin.close()
    await process.wait()
    back = max(report["arrivals"]) - restarted
    return peak(report["attempts"], dropped), peak(report["arrivals"], restarted), back


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--down", type=float, default=2.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await serve_upstream()
        return
    print(f"{args.sessions} sessions, upstream down {args.down:g} s (shared 2-core machine)")
    for name, schedule in (("fixed 0.5, 1, 2, … s", exponential), ("random first delay", backoff)):
        planned = planned_peak(args.sessions, schedule, args.down)
        attempts, handshakes, back = await herd(args.sessions, args.down, schedule)
        print(
            f"  {name:<22} busiest 100 ms while down: {planned:5d} attempts planned, {attempts:5d} "
            f"arrived; once back: {handshakes:5d} handshakes; all back after {back:5.2f} s"
        )


if __name__ == "__main__":
    asyncio.run(main())
