"""The console's own timers that may wait share wakes of the loop: the engine ticker's runs fire in
the turns of the loop in which the poller ticks, a tenth of a second apart, and the autopilots'
prompts together halfway between them; none more than a tick later than asked."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import pytest
import uvloop

from console.autopilot import Autopilot, AutopilotConfig
from console.clients import SessionClient
from console.dialects.agent.client import AgentClient
from console.runtime import grid, polled
from console.runtime.ticker import Ticker
from console.session import Change, MessageAdded

LOOPS = pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
URL = "ws://127.0.0.1:1/"  # never connected: the prompts stay in the engine's outbox


class Turns:
    """Counts the turns of the loop (a callback that comes back every turn)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.turn = 0
        self.running = True
        loop.call_soon(self._next)

    def _next(self) -> None:
        self.turn += 1
        if self.running:
            self.loop.call_soon(self._next)


class Link:
    """A socket the poller reads, always with bytes waiting: the turns in which it read them."""

    def __init__(self, turns: Turns, peer: socket.socket) -> None:
        self.turns = turns
        self.peer = peer
        self.read: list[int] = []
        peer.send(b"x")

    @property
    def closing(self) -> bool:
        return False

    def polled_read(self, data: bytes) -> None:
        self.read.append(self.turns.turn)
        self.peer.send(b"x")  # for the next tick

    def polled_end(self) -> None:
        raise AssertionError("the socket stays open")


def _client_of(client: AgentClient) -> Callable[[], SessionClient | None]:
    return lambda: client


def pilots(count: int, turns: Turns, seen: list[tuple[int, float]]) -> list[Autopilot]:
    """Autopilots of sessions that are live and idle: each types a prompt after its think time."""
    result = []
    for n in range(count):
        client = AgentClient(URL)
        client.engine.connected(time.monotonic())

        def typed(change: Change) -> None:
            if type(change) is MessageAdded:
                seen.append((turns.turn, turns.loop.time()))

        client.conversation.subscribe(typed, deltas=False)
        config = AutopilotConfig(think=(0.01, 0.4), first=(0.0, 0.3))
        pilot = Autopilot(_client_of(client), seed=n, config=config)
        result.append(pilot)
    return result


@LOOPS
def test_timers_that_may_wait_fire_in_the_turns_of_the_pollers_tick(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        turns = Turns(loop)
        ours, theirs = socket.socketpair()
        link = Link(turns, theirs)
        poller = polled.poller()
        poller.add(ours.fileno(), link)
        ticker = Ticker(grid.STEP)
        ticked: list[int] = []

        def tick() -> float:
            ticked.append(turns.turn)
            return grid.STEP

        ticker.add(tick)
        typed: list[tuple[int, float]] = []
        autopilots = pilots(20, turns, typed)
        for pilot in autopilots:
            pilot.start()
        started = loop.time()
        try:
            await asyncio.sleep(1.0)
            while len(typed) < 20 and loop.time() - started < 10:  # a loaded machine is slower
                await asyncio.sleep(0.1)
        finally:
            turns.running = False
            ticker.remove(tick)
            poller.remove(ours.fileno(), link)
            for pilot in autopilots:
                await pilot.stop()
            ours.close()
            theirs.close()
        ticks = (loop.time() - started) / grid.STEP
        assert 0.6 * ticks <= len(link.read) <= ticks + 1, "the poller ticks every tenth of a second"
        assert len(typed) == 20, "every pilot typed its prompt"
        assert len(ticked) >= 0.6 * ticks
        woken = set(link.read)
        assert set(ticked) <= woken, "each run of the ticker shares the poller's wake"
        # The pilots' points lie halfway between the poller's: their prompts share wakes with each
        # other, and a burst of them does not lengthen the turn in which the poller reads.
        by_point: dict[int, set[int]] = {}
        for turn, at in typed:
            by_point.setdefault(round((at - grid.STEP / 2) / grid.STEP), set()).add(turn)
        assert all(len(turns_of) == 1 for turns_of in by_point.values()), "one wake per point"
        assert len(by_point) < len(typed), "prompts typed together"
        assert not {turn for turn, _ in typed} & woken, "not in the poller's turn"

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(scenario())


def test_a_point_of_the_grid_is_never_more_than_a_step_past_the_delay_asked() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        for delay in (0.0, 0.013, 0.05, 0.099, 0.1, 0.37, 1.0):
            now = loop.time()
            point = grid.at(loop, delay)
            assert now + delay <= point + 1e-9
            assert point < now + max(delay, grid.SOONEST) + grid.STEP + 1e-9
            assert point == grid.at(loop, delay + (point - now - delay) / 2), "one deadline per point"
            shifted = grid.at(loop, delay, grid.STEP / 2)
            assert now + delay <= shifted < now + max(delay, grid.SOONEST) + grid.STEP + 1e-9
            assert abs(shifted - point) == pytest.approx(grid.STEP / 2), "halfway between two points"

    asyncio.run(scenario())


@LOOPS
def test_a_crowd_of_links_is_read_at_every_other_point_of_the_grid_a_few_at_every_point(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """Past `CROWD` unwatched links each read costs more than what it carries: they are read half as
    often (and so twice as much at a time); fewer links keep the tenth of a second."""

    async def reads_in_a_second(count: int) -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        turns = Turns(loop)
        pairs = [socket.socketpair() for _ in range(count)]
        links = [Link(turns, theirs) for _, theirs in pairs]
        poller = polled.poller()
        for (ours, _), link in zip(pairs, links, strict=True):
            poller.add(ours.fileno(), link)
        try:
            await asyncio.sleep(0.3)  # past the first tick
            first = len(links[0].read)
            started = loop.time()
            await asyncio.sleep(1.0)
            return len(links[0].read) - first, loop.time() - started
        finally:
            turns.running = False
            for (ours, theirs), link in zip(pairs, links, strict=True):
                poller.remove(ours.fileno(), link)
                ours.close()
                theirs.close()

    async def scenario() -> None:
        crowd, elapsed = await reads_in_a_second(polled.CROWD + 1)
        expected = elapsed / polled.CROWDED_SECONDS
        assert 0.6 * expected <= crowd <= expected + 1, f"{crowd} reads in {elapsed:.2f} s: not every fifth"
        few, elapsed = await reads_in_a_second(3)
        expected = elapsed / polled.SECONDS
        assert 0.6 * expected <= few <= expected + 1, f"{few} reads in {elapsed:.2f} s: not every tenth"

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(scenario())
