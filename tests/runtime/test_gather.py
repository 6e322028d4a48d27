"""A dense stream's frames are read together, a few per read, in order and promptly; a frame after a
quiet spell is read at once. A real websockets server on loopback sends them."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import ServerConnection, serve

from console.runtime import gather
from console.runtime.wsopen import open_link

FRAMES = 120


@pytest.fixture
async def url() -> AsyncIterator[str]:
    sent: dict[str, float] = {}

    async def handler(ws: ServerConnection) -> None:
        for n in range(FRAMES):
            text = f"token {n}"
            sent[text] = time.monotonic()
            await ws.send(text)
            await asyncio.sleep(0.003)  # ~300 frames a second, as a fast token stream
        await asyncio.sleep(0.3)  # a quiet spell
        sent["after the pause"] = time.monotonic()
        await ws.send("after the pause")
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"


async def test_a_dense_stream_is_read_in_gathered_reads_in_order_and_within_the_gathering_time(
    url: str,
) -> None:
    arrivals = await _arrivals(url)
    texts = [text for _, text in arrivals]
    assert texts == [f"token {n}" for n in range(FRAMES)] + ["after the pause"]

    # Frames applied in one read arrive within a fraction of a millisecond of each other.
    reads = 1 + sum(1 for (a, _), (b, _) in itertools.pairwise(arrivals) if b - a > 0.001)
    assert reads <= FRAMES // 2, f"{reads} reads for {FRAMES} frames: not gathered"
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(arrivals[:FRAMES])]
    assert max(gaps) < gather.SECONDS + 0.2, "no frame waits much longer than a gathering tick"


async def _arrivals(url: str) -> list[tuple[float, str]]:
    """Each message the link hands over, with when: the whole stream and the one after the pause."""
    arrivals: list[tuple[float, str]] = []
    link = await open_link(
        url, lambda m: arrivals.append((time.monotonic(), str(m))), open_timeout=5, max_size=1 << 20
    )
    link.start()
    try:
        for _ in range(300):
            if len(arrivals) == FRAMES + 1:
                break
            await asyncio.sleep(0.02)
        return arrivals
    finally:
        await link.close()


async def test_a_steady_stream_stays_gathered_one_read_per_gathering_tick(url: str) -> None:
    stream = [at for at, _ in (await _arrivals(url))[:FRAMES]]
    reads = 1 + sum(1 for a, b in itertools.pairwise(stream) if b - a > 0.001)
    # The read right after a gathering tick is no quiet spell: the stream is gathered again, so
    # it is read about once per tick, not at each tick and once more right after it.
    ticks = (stream[-1] - stream[0]) / gather.SECONDS
    assert reads <= ticks + 3, f"{reads} reads in {ticks:.1f} gathering ticks"
