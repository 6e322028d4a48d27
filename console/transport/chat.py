"""The WebSocket transport of a chat session (seed 002): the only I/O of the chat dialect.

Thin asyncio glue around `ChatEngine`: connect, feed every frame to the engine with the time it
arrived, send whatever the engine wants sent, tick it, and reconnect with the same backoff as the
agent transport (0.5, 1, 2, 4, 8, capped at 10 s; reset after a good connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

import websockets
from websockets.asyncio.client import ClientConnection

from console.engines.chat import ChatEngine, ChatsListener
from console.session import Conversation, Message
from console.transport.websocket import MAX_WIRE_FRAME, Clock, backoff


class ChatClient:
    """A chat session: several conversations over one connection; `conversation` is the active one."""

    readonly = False

    def __init__(
        self,
        url: str,
        engine: ChatEngine | None = None,
        *,
        backoff_factory: Callable[[], Iterator[float]] = backoff,
        tick_interval: float = 0.1,
        open_timeout: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.url = url
        self.engine = engine or ChatEngine()
        self._backoff_factory = backoff_factory
        self._tick_interval = tick_interval
        self._open_timeout = open_timeout
        self._clock = clock
        self._ws: ClientConnection | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    # -- conversations ----------------------------------------------------------------------------

    @property
    def conversation(self) -> Conversation:
        return self.engine.conversation

    @property
    def conversations(self) -> dict[str, Conversation]:
        return self.engine.conversations

    @property
    def active_id(self) -> str:
        return self.engine.active_id

    def new_chat(self) -> str:
        """Start a conversation with a fresh chat id; it becomes the active one."""
        return self.engine.new_chat()

    def activate(self, chat_id: str) -> None:
        self.engine.activate(chat_id)

    def title(self, chat_id: str) -> str:
        return self.engine.title(chat_id)

    def is_idle(self, chat_id: str) -> bool:
        return self.engine.is_idle(chat_id)

    def subscribe(self, listener: ChatsListener) -> Callable[[], None]:
        return self.engine.subscribe(listener)

    # -- SessionClient ----------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return self.engine.idle

    @property
    def connected_once(self) -> bool:
        return self.engine.connections > 0

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"chat-client {self.url}")
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

    def send_user_message(self, text: str, chat_id: str | None = None) -> Message:
        """Send in conversation `chat_id` (the active one by default)."""
        message = self.engine.send_user_message(text, self._clock(), chat_id)
        self._wake.set()
        return message

    def retry(self, message_id: str, chat_id: str | None = None) -> Message | None:
        message = self.engine.retry(message_id, self._clock(), chat_id)
        self._wake.set()
        return message

    def drop(self) -> None:
        """Cut the connection as a network failure would (no close frame)."""
        if self._ws is not None:
            self._ws.transport.abort()

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        ticker = asyncio.create_task(self._tick_forever(), name="chat-client ticker")
        delays = self._backoff_factory()
        try:
            while not self._closed:
                connected, reason = await self._connect_once()
                if self._closed:
                    break
                if connected:
                    delays = self._backoff_factory()  # a good connection resets the schedule
                delay = next(delays)
                self.engine.disconnected(self._clock(), reason, delay)
                await asyncio.sleep(delay)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    async def _connect_once(self) -> tuple[bool, str]:
        """One connection, until it ends: (it was made, why it ended)."""
        try:
            ws = await websockets.connect(
                self.url, open_timeout=self._open_timeout, max_size=MAX_WIRE_FRAME, compression=None
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            return False, f"cannot connect: {exc or type(exc).__name__}"
        self._ws = ws
        self.engine.connected(self._clock())
        await self._flush()
        try:
            async for message in ws:
                self.engine.receive(message, self._clock())
                await self._flush()
            reason = f"closed by server ({ws.close_code})"
        except websockets.ConnectionClosed as exc:
            reason = "connection lost" if exc.rcvd is None else f"closed by server ({exc.rcvd.code})"
        finally:
            self._ws = None
        return True, reason

    async def _flush(self) -> None:
        ws = self._ws
        if ws is None:
            return  # the engine clears its outbox on the next connection: those requests were given up
        for frame in self.engine.data_to_send():
            try:
                await ws.send(frame)
            except websockets.ConnectionClosed:
                return  # the reader sees the close; the engine marks the request interrupted

    async def _tick_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick_interval)
            self._wake.clear()
            self.engine.tick(self._clock())
            await self._flush()
