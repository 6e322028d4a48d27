"""The WebSocket transport of an agent session: the only I/O of the agent dialect.

The shared WebSocket loop (`WebSocketClient`) plus what the agent protocol needs: reconnecting at
once when the engine asks for a replay, and megabyte frames decoded off the event loop.
"""

from __future__ import annotations

import asyncio

from console import offload
from console.dialects.agent import DIALECT
from console.dialects.agent import protocol as proto
from console.dialects.agent.engine import AgentEngine
from console.runtime.websocket import WebSocketClient
from console.session import Conversation, Message

DECODE_IN_THREAD = 256 * 1024  # bytes
PEEK_SIZE = 1024  # a PING is a small frame: larger messages are not looked into ahead of their turn


class AgentClient(WebSocketClient[AgentEngine]):
    capabilities = DIALECT.capabilities
    """A session of the seq-numbered agent protocol."""

    def _new_engine(self) -> AgentEngine:
        return AgentEngine()

    @property
    def conversation(self) -> Conversation:
        return self.engine.conversation

    def send_user_message(self, text: str) -> Message:
        message = self.engine.send_user_message(text, self._clock())
        self._nudge()
        return message

    def retry(self, message_id: str) -> Message | None:
        message = self.engine.retry(message_id, self._clock())
        self._nudge()
        return message

    def _wants_reconnect(self) -> bool:
        return self.engine.wants_reconnect

    def _peek(self, message: str | bytes) -> None:
        # A PING behind a flood is answered when it is read, not when the flood ahead has been applied.
        if len(message) <= PEEK_SIZE and isinstance(message, str) and '"PING"' in message:
            self.engine.heartbeat_ahead(message, self._clock())
            self._flush_soon()

    # Parsing megabytes takes tens of ms: not on the loop the other sessions share.
    LARGE = DECODE_IN_THREAD

    async def _receive_large(self, message: str | bytes) -> None:
        # A snapshot is decoded and its data encoded again in a worker process (console/offload.py);
        # anything else large in a thread.
        limit = self.engine.config.max_frame
        frame = await offload.decode_snapshot(message, limit)
        if frame is None:
            frame = await asyncio.to_thread(proto.decode, message, max_size=limit)
        self.engine.receive_frame(frame, message, self._clock())
