"""Links nobody watches live are read by the loop's poller, together, on a shared tick: what their
servers send still arrives whole and in order, within the tick; a link watched again is read at once;
the end of the stream, a close and a flood reach a polled link as they reach any other. Real
websockets servers on loopback send the frames."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable

import pytest
import uvloop
from websockets.asyncio.server import ServerConnection

from console.dialects.agent.client import AgentClient
from console.dialects.agent.engine import AgentEngine
from console.runtime import polled
from console.runtime.wsframes import Message
from console.runtime.wslink import Link
from console.runtime.wsopen import open_link
from console.session import TextAppended
from console.sim.agent import AgentSimulator, SimConfig
from tests.runtime.servers import loopback_servers

Handler = Callable[[ServerConnection], Awaitable[None]]
LINKS = 20
FRAMES = 25


Server = Callable[[Handler], Awaitable[str]]
Scenario = Callable[[Server], Awaitable[None]]
# Each test on both loops: the console runs on uvloop, whose transports differ from asyncio's.
LOOPS = pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)


def run(scenario: Scenario, loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    """`scenario` on a fresh loop made by `loop_factory`, with servers it starts on loopback."""

    async def main() -> None:
        async with loopback_servers() as start:
            await scenario(start)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


async def paced(ws: ServerConnection, count: int = FRAMES, every: float = 0.03) -> None:
    """`count` frames `every` seconds, each saying when it was sent (this process's monotonic clock)."""
    for n in range(count):
        await ws.send(f"{n} {time.monotonic()}")
        await asyncio.sleep(every)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time a user would wait"
        await asyncio.sleep(0.01)


class Received:
    """What a link delivered: (arrival time, frame number, send time)."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, int, float]] = []

    def __call__(self, message: Message) -> None:
        number, sent = str(message).split()
        self.frames.append((time.monotonic(), int(number), float(sent)))

    @property
    def numbers(self) -> list[int]:
        return [n for _, n, _ in self.frames]

    def waits(self, after: int = 0) -> list[float]:
        return [arrived - sent for arrived, n, sent in self.frames if n >= after]


class Watch:
    """What a session says of itself: whether a page follows it live."""

    def __init__(self) -> None:
        self.watched = False


async def unwatched(url: str, received: Received, watch: Watch | None = None) -> Link:
    watch = watch or Watch()
    link = await open_link(url, received, open_timeout=5, max_size=1 << 20, watch=watch)
    link.start()
    return link


@LOOPS
def test_links_nobody_watches_are_read_together_whole_in_order_and_within_the_tick(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    run(_links_nobody_watches_are_read_together_whole_in_order_and_within_the_tick, loop_factory)


async def _links_nobody_watches_are_read_together_whole_in_order_and_within_the_tick(server: Server) -> None:
    url = await server(paced)
    received = [Received() for _ in range(LINKS)]
    links = [await unwatched(url, r) for r in received]
    try:
        await until(lambda: len(polled.poller()) == LINKS)
        await until(lambda: all(len(r.frames) == FRAMES for r in received))
        for r in received:
            assert r.numbers == list(range(FRAMES))
        # One tick reads every ready socket: the links' frames arrive in a few bursts, not one by one.
        arrivals = sorted(at for r in received for at, _, _ in r.frames)
        bursts = 1 + sum(1 for a, b in itertools.pairwise(arrivals) if b - a > 0.005)
        assert bursts <= len(arrivals) // 5, f"{bursts} bursts for {len(arrivals)} frames: not gathered"
        waits = [w for r in received for w in r.waits()]
        assert max(waits) < polled.SECONDS + 0.25, "no frame waits much longer than a tick"
    finally:
        for link in links:
            await link.close()
    assert len(polled.poller()) == 0, "closed links leave the poller"


@LOOPS
def test_a_link_watched_again_is_read_at_once_and_leaves_the_poller(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    run(_a_link_watched_again_is_read_at_once_and_leaves_the_poller, loop_factory)


async def _a_link_watched_again_is_read_at_once_and_leaves_the_poller(server: Server) -> None:
    url = await server(lambda ws: paced(ws, count=60, every=0.03))
    received = Received()
    watch = Watch()
    link = await unwatched(url, received, watch)
    try:
        await until(lambda: len(received.frames) >= 15)
        assert len(polled.poller()) == 1
        polled_waits = received.waits()
        watch.watched = True  # a page opens on the session
        switched_at = received.frames[-1][1] + 10  # the frames after the next read or two
        await until(lambda: len(received.frames) == 60)
        assert len(polled.poller()) == 0
        assert received.numbers == list(range(60))
        watched_waits = received.waits(after=switched_at)
        assert statistics.median(watched_waits) < statistics.median(polled_waits)
        assert max(watched_waits) < 0.1, "watched: read at once, or at the dense stream's 20 ms tick"
    finally:
        await link.close()


@LOOPS
def test_the_end_of_the_stream_reaches_a_polled_link_and_its_own_close_completes(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    run(_the_end_of_the_stream_reaches_a_polled_link_and_its_own_close_completes, loop_factory)


async def _the_end_of_the_stream_reaches_a_polled_link_and_its_own_close_completes(server: Server) -> None:
    async def five_then_close(ws: ServerConnection) -> None:
        await paced(ws, count=5, every=0.01)
        await ws.close()

    received = Received()
    link = await unwatched(await server(five_then_close), received)
    await asyncio.wait_for(link.wait_closed(), 3)
    assert received.numbers == list(range(5))
    assert link.reason == "closed by server (1000)"

    async def endless(ws: ServerConnection) -> None:
        await paced(ws, count=1000, every=0.02)

    mine = Received()
    link = await unwatched(await server(endless), mine)
    await until(lambda: len(polled.poller()) == 1)
    started = time.monotonic()
    await link.close()
    assert time.monotonic() - started < 2, "the server's answer to our close is read on the next tick"
    assert len(polled.poller()) == 0
    assert mine.numbers == list(range(len(mine.numbers)))


@LOOPS
def test_a_flood_to_a_polled_link_arrives_whole_and_in_order(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    run(_a_flood_to_a_polled_link_arrives_whole_and_in_order, loop_factory)


async def _a_flood_to_a_polled_link_arrives_whole_and_in_order(server: Server) -> None:
    async def flood(ws: ServerConnection) -> None:
        await paced(ws, count=5, every=0.02)  # polled by then
        for n in range(5, 30_005):
            await ws.send(f"{n} {time.monotonic()} " + "x" * 100)
        await ws.wait_closed()

    received: list[int] = []
    link = await open_link(
        await server(flood),
        lambda m: received.append(int(str(m).split()[0])),
        open_timeout=5,
        max_size=1 << 20,
        watch=Watch(),
    )
    link.start()
    try:
        await until(lambda: len(received) == 30_005, within=20)
        assert received == list(range(30_005))
    finally:
        await link.close()


async def test_a_session_is_polled_while_nobody_watches_it_and_read_at_once_while_a_page_does() -> None:
    sim = AgentSimulator(SimConfig(mode="normal", seed=3, time_scale=0.3, ping_interval=0.5))
    await sim.start()
    client = AgentClient(f"{sim.url}?session=watched", AgentEngine())
    client.start()
    try:
        conversation = client.conversation
        await until(lambda: conversation.link.live)
        client.send_user_message("write a long detailed document on churn")
        await until(lambda: conversation.counts.text_deltas >= 5)
        assert len(polled.poller()) == 1, "nobody watches: the shared tick reads it"

        tokens: list[str] = []
        unsubscribe = conversation.subscribe(
            lambda change: tokens.append(change.text) if isinstance(change, TextAppended) else None
        )
        await until(lambda: len(tokens) >= 3)  # a page opened: the next read hands it back
        assert len(polled.poller()) == 0, "watched: its transport reads each frame as it comes"

        unsubscribe()
        seen = conversation.counts.text_deltas
        await until(lambda: conversation.counts.text_deltas >= seen + 3)
        assert len(polled.poller()) == 1, "the page closed: polled again"
    finally:
        await client.close()
        await sim.stop()
    assert sim.violations("watched") == []
