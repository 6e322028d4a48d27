"""CPU per token of a read's path through the console: link -> framing -> client -> engine -> model.

    python tests/bench/read_path.py [--frames-per-read 3] [--sessions 300] [--frames 180000]

Reads of K token frames (K = 3.2 on average at 300 sessions, where the links nobody watches are read
on the poller's shared tick) are handed to the links of S agent sessions in turn, as the poller hands
them over (`Link.polled_read`), with no socket: what is left is the console's own Python per read
and per token, the sessions' objects as cold as many sessions make them. Prints µs of CPU per token.

For an instruction count that does not depend on the machine's load (callgrind counts the measured
reads only, run inside `functools.reduce`):

    PY=$(python -c 'import sys; print(sys.executable)')
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \
        $PY tests/bench/read_path.py --frames 36000 --one
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import sys
import time
from pathlib import Path

from websockets.client import ClientProtocol
from websockets.uri import parse_uri

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from console.dialects.agent.client import AgentClient
from console.runtime.wslink import Link

URL = "ws://127.0.0.1:1/"  # never connected: the reads are handed to the link directly


class Unwatched:
    """Nobody watches the sessions live: their links stay with the poller."""

    watched = False


def wire(seq: int, stream_id: str) -> bytes:
    """One TOKEN frame as a server sends it: an unmasked text frame."""
    payload = json.dumps({"type": "TOKEN", "seq": seq, "stream_id": stream_id, "text": " token"}).encode()
    return bytes([0x81, len(payload)]) + payload


def session() -> Link:
    """An agent session whose reply is streaming, its link as the poller leaves it between reads."""
    client = AgentClient(URL)
    now = time.monotonic()
    client.engine.connected(now)
    client.engine.send_user_message("hello", now)
    client.engine.data_to_send()
    link = Link(
        ClientProtocol(parse_uri(URL)),
        client._on_message,
        client._peek,
        1 << 26,
        Unwatched(),
        client._on_messages,
    )
    link._framer.fast = True  # the handshake is done
    link._started = True
    link._opened(None)
    link._fd, link._polled = 1 << 20, True  # read by the poller: no transport to pause
    client._ws = link
    return link


async def measure(per_read: int, sessions: int, frames: int, one: bool) -> None:
    links = [session() for _ in range(sessions)]
    rounds = max(4, frames // sessions // per_read)
    reads = [
        (link, b"".join(wire(1 + r * per_read + j, f"stream-{s}") for j in range(per_read)))
        for r in range(rounds)
        for s, link in enumerate(links)
    ]
    gc.collect()
    gc.freeze()
    warm = 3 * sessions  # the first reads create each reply's message and text block
    for link, data in reads[:warm]:
        link.polled_read(data)
    measured = reads[warm:]
    if one:
        functools.reduce(lambda _, read: read[0].polled_read(read[1]), measured, None)
        return
    started = time.process_time()
    for link, data in measured:
        link.polled_read(data)
    cpu = time.process_time() - started
    print(
        f"{per_read} frames per read, {sessions} sessions: {1e6 * cpu / (len(measured) * per_read):.2f} us per token"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames-per-read", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--frames", type=int, default=180_000)
    parser.add_argument("--one", action="store_true", help="one pass for callgrind (see above)")
    args = parser.parse_args()
    asyncio.run(measure(args.frames_per_read, args.sessions, args.frames, args.one))


if __name__ == "__main__":
    main()
