"""The socket + engine floor: CPU per TOKEN frame through real sockets, the link and the agent engine.

Run: python tests/bench/socket_floor.py [--sessions 1 300] [--seconds 10] [--rate 30]

A server process (raw WebSocket on loopback, `tests/hostile/servers.py`) answers each client's prompt
with TOKEN frames of 83 bytes, as a real agent does. This process runs the console's own client for
each session (`AgentClient`: `wslink.Link` and `AgentEngine`, on uvloop) and nothing else: no pages,
no supervisor, no autopilot. Figures, per run:

  1 session     the server writes as fast as the socket takes it (many frames per read): the floor
                of one core receiving and applying tokens
  N sessions    each session paced at `--rate` tokens/s, as `--streams N` streams: one frame per read,
                so the cost of a read (a wakeup, a system call, a callback) is part of every token

Printed: tokens applied per CPU-second of this process (the server's CPU is its own process). Compare
with `streams.py`'s end-to-end tokens/s divided by the console's CPU share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.dialects.agent.client import AgentClient
from tests.hostile.servers import Peer, RawWebSocketServer, frame

WORDS = [
    "agent",
    "context",
    "tool",
    "schema",
    "table",
    "column",
    "index",
    "document",
    "chunk",
    "vector",
    "query",
    "plan",
]


def token(seq: int) -> bytes:
    # 83 bytes of JSON, as the floor was measured with.
    text = f"{WORDS[seq % len(WORDS)]:<9} "
    return frame(json.dumps({"type": "TOKEN", "seq": seq, "stream_id": "s_0001", "text": text}))


def serve(port_out: multiprocessing.Queue[int], rate: float, seconds: float) -> None:
    async def script(peer: Peer) -> None:
        while not peer.received:
            await asyncio.sleep(0.005)
        seq = 1
        start = time.monotonic()
        while time.monotonic() - start < seconds + 5:
            if rate <= 0:
                peer.send(b"".join(token(seq + i) for i in range(256)))
                seq += 256
                await peer.drain()
                continue
            peer.send(token(seq))
            seq += 1
            await asyncio.sleep(max(0.0, start + seq / rate - time.monotonic()))

    async def main() -> None:
        server = RawWebSocketServer(script)
        await server.start()
        assert server._server is not None
        port_out.put(server._server.sockets[0].getsockname()[1])
        await asyncio.sleep(seconds + 60)

    asyncio.run(main())


async def measure(url: str, sessions: int, seconds: float) -> tuple[float, float]:
    clients = [AgentClient(f"{url}?n={n}") for n in range(sessions)]
    for client in clients:
        client.start()
    while not all(c.connected_once for c in clients):
        await asyncio.sleep(0.05)
    for client in clients:
        client.send_user_message("go")
    await asyncio.sleep(2.0)  # every session streaming
    tokens0 = sum(c.conversation.text_deltas for c in clients)
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    tokens = sum(c.conversation.text_deltas for c in clients) - tokens0
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    for client in clients:
        await client.close()
    return tokens / cpu, tokens / wall


def run(sessions: int, seconds: float, rate: float) -> None:
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    rate = 0.0 if sessions == 1 else rate
    server = multiprocessing.Process(target=serve, args=(ports, rate, seconds), daemon=True)
    server.start()
    try:
        url = f"ws://127.0.0.1:{ports.get(timeout=30)}/ws"
        import uvloop

        per_cpu, per_wall = uvloop.run(measure(url, sessions, seconds))
        how = "as fast as the socket takes them" if rate <= 0 else f"{rate:.0f} tokens/s each"
        print(
            f"{sessions:>5} session(s), {how}: {per_cpu:,.0f} tokens per CPU-second"
            f" ({per_wall:,.0f} tokens/s)",
            flush=True,
        )
    finally:
        server.kill()
        server.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 300])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=30.0, help="tokens/s per session (N > 1)")
    args = parser.parse_args()
    for n in args.sessions:
        run(n, args.seconds, args.rate)


if __name__ == "__main__":
    main()
