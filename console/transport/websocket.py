"""The WebSocket transport of an agent session: the only I/O of the agent dialect.

Thin asyncio glue around `AgentEngine`: connect, feed every frame to the engine with the time it
arrived, send whatever the engine wants sent, tick it, and reconnect with exponential backoff
(0.5, 1, 2, 4, 8, capped at 10 s; reset after a good connection) when the link drops or the engine
asks for a replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

import websockets
from websockets.asyncio.client import ClientConnection

from console.engines.agent import AgentEngine
from console.protocols import agent as proto
from console.session import Conversation, Message

# Frames over the engine's own limit are still read so that the decoder can reject them with a
# clear error; only a frame too big to hold at all closes the connection.
MAX_WIRE_FRAME = 64 * 1024 * 1024
DECODE_IN_THREAD = 256 * 1024  # bytes


def backoff(initial: float = 0.5, factor: float = 2.0, cap: float = 10.0) -> Iterator[float]:
    """Delays between reconnection attempts: 0.5, 1, 2, 4, 8, 10, 10, ..."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * factor, cap)


Clock = Callable[[], float]


class AgentClient:
    readonly = False

    def __init__(
        self,
        url: str,
        engine: AgentEngine | None = None,
        *,
        backoff_factory: Callable[[], Iterator[float]] = backoff,
        tick_interval: float = 0.05,
        open_timeout: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.url = url
        self.engine = engine or AgentEngine()
        self._backoff_factory = backoff_factory
        self._tick_interval = tick_interval
        self._open_timeout = open_timeout
        self._clock = clock
        self._ws: ClientConnection | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    @property
    def conversation(self) -> Conversation:
        return self.engine.conversation

    @property
    def idle(self) -> bool:
        return self.engine.idle

    @property
    def connected_once(self) -> bool:
        return self.engine.connections > 0

    # -- control ----------------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"agent-client {self.url}")
        return self._task

    async def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.engine.close(self._clock())

    def send_user_message(self, text: str) -> Message:
        message = self.engine.send_user_message(text, self._clock())
        self._wake.set()
        return message

    def retry(self, message_id: str) -> Message | None:
        message = self.engine.retry(message_id, self._clock())
        self._wake.set()
        return message

    def drop(self) -> None:
        """Cut the connection as a network failure would (no close frame), e.g. from a test."""
        if self._ws is not None:
            self._ws.transport.abort()

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        ticker = asyncio.create_task(self._tick_forever(), name="agent-client ticker")
        delays = self._backoff_factory()
        try:
            while not self._closed:
                connected, forced, reason = await self._connect_once()
                if self._closed:
                    break
                if connected:
                    delays = self._backoff_factory()  # a good connection resets the schedule
                # A replay the engine asked for is not a failure: reconnect at once.
                delay = 0.0 if forced else next(delays)
                self.engine.disconnected(self._clock(), reason, delay)
                await asyncio.sleep(delay)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    async def _connect_once(self) -> tuple[bool, bool, str]:
        """One connection, until it ends: (it was made, the engine asked for it to end, why it ended)."""
        try:
            ws = await websockets.connect(
                self.url, open_timeout=self._open_timeout, max_size=MAX_WIRE_FRAME, compression=None
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            return False, False, f"cannot connect: {exc or type(exc).__name__}"
        self._ws = ws
        self.engine.connected(self._clock())
        await self._flush()
        try:
            async for message in ws:
                if len(message) < DECODE_IN_THREAD:
                    self.engine.receive(message, self._clock())
                else:
                    # Parsing megabytes takes tens of ms: not on the loop the other sessions share.
                    frame = await asyncio.to_thread(
                        proto.decode, message, max_size=self.engine.config.max_frame
                    )
                    self.engine.receive_frame(frame, message, self._clock())
                await self._flush()
            reason = f"closed by server ({ws.close_code})"
        except websockets.ConnectionClosed as exc:
            reason = "connection lost" if exc.rcvd is None else f"closed by server ({exc.rcvd.code})"
        finally:
            self._ws = None
        forced = self.engine.wants_reconnect
        return True, forced, "reconnecting to replay missing frames" if forced else reason

    async def _flush(self) -> None:
        ws = self._ws
        if ws is None:
            return  # kept in the engine's outbox; a new connection starts it afresh with RESUME
        for frame in self.engine.data_to_send():
            try:
                await ws.send(frame)
            except websockets.ConnectionClosed:
                return  # the reader sees the close and reconnects; RESUME re-sends what matters

    async def _tick_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick_interval)
            self._wake.clear()
            self.engine.tick(self._clock())
            await self._flush()
            if self.engine.wants_reconnect and self._ws is not None:
                await self._ws.close(code=4000, reason="resume to replay missing frames")
