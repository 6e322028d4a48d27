"""The WebSocket transport loop: the I/O the agent and chat dialects share.

`WebSocketClient` is thin asyncio glue around a sans-I/O engine: connect (`wslink.Link`), feed
every frame to the engine with the time it arrived, send whatever the engine wants sent, tick it,
and reconnect through the shared loop (`reconnect.py`: backoff with a random first delay, reset after
a good connection) when the link drops. Each dialect's client subclasses it
(`console/dialects/agent/client.py`, `console/dialects/chat/client.py`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import deque
from collections.abc import Coroutine
from typing import Protocol, TypeVar

from console.runtime.client_task import ClientTask
from console.runtime.reconnect import Clock, Ended, Policy, Schedule, backoff, classify, reconnect
from console.runtime.ticker import Ticker, ticker
from console.runtime.wslink import DIRECT_BYTES, Link, Watch
from console.runtime.wsopen import open_link

log = logging.getLogger(__name__)

# Frames over the engine's own limit are still read so that the decoder can reject them with a
# clear error; only a frame too big to hold at all closes the connection.
MAX_WIRE_FRAME = 64 * 1024 * 1024


class WebSocketEngine(Protocol):
    """What the loop needs of a dialect's engine."""

    @property
    def connections(self) -> int: ...

    @property
    def idle(self) -> bool: ...

    @property
    def watch(self) -> Watch:
        """Says whether someone follows the session live: its frames are then read as they come."""
        ...

    def data_to_send(self) -> list[str]: ...

    def connected(self, now: float) -> None: ...

    def receive(self, raw: str | bytes, now: float) -> None: ...

    def receive_many(self, messages: list[str | bytes], now: float) -> None:
        """Messages read together, in order."""
        ...

    def disconnected(self, now: float, reason: str, retry_in: float) -> None: ...

    def give_up(self, now: float, reason: str, policy: Policy) -> None: ...

    def tick(self, now: float) -> None: ...

    @property
    def ticking(self) -> bool:
        """Time alone can make something due (a deadline, a stall): ticks must keep coming."""
        ...

    @property
    def urgent(self) -> bool:
        """A deadline of a second or two may come due: a tick every interval (console/runtime/ticker.py)."""
        ...

    hurried: bool  # a frame just gave it such a deadline: the transport clears it and hurries the tick

    def tick_slack(self, now: float) -> float:
        """While ticking but not urgent: the seconds before a rule may come due (console/runtime/ticker.py)."""
        ...

    def close(self, now: float) -> None: ...


E = TypeVar("E", bound=WebSocketEngine)


class WebSocketClient(ClientTask[E]):
    # Seconds between engine ticks (deadlines, stalls, gaps). The tightest deadline is an ACK for a call
    # held behind a gap: sent at 1.5 s, so a tick of 0.1 s still meets the server's 2 s.
    TICK = 0.1

    def __init__(
        self,
        url: str,
        engine: E | None = None,
        *,
        backoff_factory: Schedule = backoff,
        tick_interval: float | None = None,
        open_timeout: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        # What a read reads first (`_on_messages`): an instance keeps its attributes in the order they
        # were first set, so these share the first cache line of them.
        self.engine = engine if engine is not None else self._new_engine()
        self._queued: deque[str | bytes] | None = None  # see below
        self._ticker: Ticker | None = None  # set while `run` runs
        self._clock = clock
        self._ws: Link | None = None
        super().__init__()
        self.url = url
        self._backoff_factory = backoff_factory
        self._tick_interval = tick_interval if tick_interval is not None else self.TICK
        self._open_timeout = open_timeout
        self._background: set[asyncio.Task[None]] = set()  # closes started from a tick
        self._replay_close: Link | None = None  # the connection closed to get a replay
        # Messages behind one decoded off the loop wait in `_queued`, to be applied in arrival order.
        self._draining: asyncio.Task[None] | None = None

    @property
    def idle(self) -> bool:
        return self.engine.idle

    # -- control ----------------------------------------------------------------------------------

    async def _closing(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    def drop(self) -> None:
        """Cut the connection as a network failure would (no close frame), e.g. from a test."""
        if self._ws is not None:
            self._ws.abort()

    def _nudge(self) -> None:
        """Something for the engine to send: flush now rather than at the next tick. With no loop
        running (yet) there is no link to flush to nor ticker to hurry: the first tick sends it.
        (Not asked of asyncio: that is a system call, getpid, on Python 3.11.)"""
        self._flush_soon()
        engine = self.engine
        ticker = self._ticker
        if ticker is not None and engine.ticking and not engine.urgent:
            # A prompt went out at once: the only rule is its reply's stall, whose deadline is known.
            # A tick then, not one now to find it out (a prompt a second per session at 300 sessions).
            ticker.due_within(self._tick, max(self._tick_interval, engine.tick_slack(self._clock())))
            return
        self._hurry()

    def _hurry(self) -> None:
        """The engine may have work that time makes due: ticks every interval again."""
        ticker = self._ticker
        if ticker is not None:
            ticker.hurry(self._tick)

    def _flush_soon(self) -> None:
        if self._ws is not None:  # else kept in the engine's outbox; a new connection starts it afresh
            self._send_all(self.engine.data_to_send())

    def _send_all(self, frames: list[str]) -> None:
        ws = self._ws
        if ws is None:
            return
        for frame in frames:
            if not ws.send(frame):
                return  # closing: the reader sees the close and reconnects

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)  # held, so that it is not collected before it ran
        task.add_done_callback(self._background.discard)

    # -- what a dialect may refine ------------------------------------------------------------------

    def _new_engine(self) -> E:
        raise NotImplementedError

    def _wants_reconnect(self) -> bool:
        """The engine asks for a new connection (e.g. to have a gap replayed)."""
        return False

    def _receive(self, message: str | bytes) -> None:
        self.engine.receive(message, self._clock())

    # Messages of this many characters or bytes are decoded off the event loop (`_receive_large`).
    LARGE: int = sys.maxsize

    def _is_large(self, message: str | bytes) -> bool:
        """A message to decode off the event loop (`_receive_large`)."""
        return len(message) >= self.LARGE

    def _peek(self, message: str | bytes) -> None:
        """A message just read, before the ones ahead of it are applied (for heartbeats)."""

    async def _receive_large(self, message: str | bytes) -> None:
        self._receive(message)

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        clock = self._ticker = ticker(self._tick_interval)
        clock.add(self._tick)
        try:
            await reconnect(
                self._connect_once,
                self.engine,
                schedule=self._backoff_factory,
                clock=self._clock,
                closed=lambda: self._closed,
            )
        finally:
            clock.remove(self._tick)
            self._ticker = None

    async def _connect_once(self) -> Ended:
        """One connection, until it ends."""
        try:
            ws = await open_link(
                self.url,
                self._on_message,
                open_timeout=self._open_timeout,
                max_size=MAX_WIRE_FRAME,
                peek=self._peek,
                watch=self.engine.watch,
                on_messages=self._on_messages,
            )
        except Exception as exc:
            policy = classify(exc)
            if policy is None:
                raise
            return Ended(f"cannot connect: {exc or type(exc).__name__}", policy=policy)
        self._ws = ws
        self.engine.connected(self._clock())
        self._flush_soon()
        self._hurry()
        ws.start()
        try:
            await ws.wait_closed()
            if self._draining is not None:
                await self._draining  # what arrived is applied before the engine hears of the drop
        finally:
            self._ws = None
            ws.abort()  # a no-op unless this task was cancelled with the connection still up
            self._hurry()  # the drop may leave a reply to settle or a prompt to send
        if self._wants_reconnect():
            # A replay the engine asked for is not a failure: reconnect at once.
            return Ended("reconnecting to replay missing frames", connected=True, delay=0.0)
        return Ended(ws.reason, connected=True)

    def _on_message(self, message: str | bytes) -> None:
        """Every message, on arrival, in order (called by the link)."""
        ticker = self._ticker
        if ticker is not None and ticker.resting:
            ticker.hurry()  # a reply may have begun: its stall is timed from now
        if self._queued is None and len(message) < self.LARGE:
            # The hot path, every token: `_receive` and `_flush_soon` without their calls.
            engine = self.engine
            engine.receive(message, self._clock())
            if engine.hurried:
                self._deadline_began()
            if self._ws is not None and (out := engine.data_to_send()):
                self._send_all(out)
            return
        if self._queued is None:
            self._queued = deque()
            self._draining = asyncio.get_running_loop().create_task(self._drain(self._ws))
        self._queued.append(message)
        if self._ws is not None:
            self._ws.hold(len(message))  # counted by the link: a flood of big frames pauses its reading

    def _on_messages(self, messages: list[str | bytes]) -> None:
        """The messages of one small read, in order (called by the link): the engine takes them together."""
        if self._queued is not None or self.LARGE <= DIRECT_BYTES:  # else none of them can be large
            for message in messages:
                self._on_message(message)
            return
        ticker = self._ticker
        if ticker is not None and ticker.resting:
            ticker.hurry()  # a reply may have begun: its stall is timed from now
        engine = self.engine
        engine.receive_many(messages, self._clock())
        if engine.hurried:
            self._deadline_began()
        if self._ws is not None and (out := engine.data_to_send()):
            self._send_all(out)

    async def _drain(self, ws: Link | None) -> None:
        queued = self._queued
        try:
            while queued:
                message = queued.popleft()
                try:
                    if self._is_large(message):
                        await self._receive_large(message)
                    else:
                        self._receive(message)
                    if self.engine.hurried:
                        self._deadline_began()
                finally:
                    if ws is not None:
                        ws.hold(-len(message))
                self._flush_soon()
        except Exception as exc:
            if ws is not None:
                ws.fail(exc)
        finally:
            self._queued = None
            self._draining = None

    def _deadline_began(self) -> None:
        """A frame gave the engine a deadline of seconds (an ack held behind a gap): ticked from now."""
        self.engine.hurried = False
        self._hurry()

    def _tick(self) -> float | None:
        """Tick the engine and keep the link alive; the seconds until the next tick is needed, or None
        while time alone can make nothing due (no link either: the ticker's rest interval then)."""
        now = self._clock()
        self.engine.tick(now)
        self._flush_soon()
        ws = self._ws
        if ws is not None:
            ws.keepalive(time.monotonic())
        if ws is not None and ws is not self._replay_close and self._wants_reconnect():
            self._replay_close = ws
            self._spawn(ws.close(code=4000, reason="resume to replay missing frames"))
        engine = self.engine
        keepalive = None if ws is None else ws.keepalive_in(time.monotonic())
        if not engine.ticking:
            # Only the link's keepalive can come due (what can give the engine a rule hurries its
            # tick: a prompt, a connection made or lost, a frame that opens a gap).
            return None if keepalive is None else max(self._tick_interval, keepalive)
        if engine.urgent:
            return self._tick_interval
        # Only slower rules to watch (a reply's stall): the next tick when one of them, or the link's
        # keepalive, may come due. A tick a second cost 300 streaming sessions a twentieth of a core.
        wait = engine.tick_slack(now)
        if keepalive is not None:
            wait = min(wait, keepalive)
        return max(self._tick_interval, wait)
