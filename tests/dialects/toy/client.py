"""The toy dialect's only I/O: the console's shared WebSocket loop around `ToyEngine`."""

from __future__ import annotations

from console.runtime.websocket import WebSocketClient
from console.session import Conversation, Message
from tests.dialects.toy import DIALECT
from tests.dialects.toy.engine import ToyEngine


class ToyClient(WebSocketClient[ToyEngine]):
    capabilities = DIALECT.capabilities

    def _new_engine(self) -> ToyEngine:
        return ToyEngine()

    @property
    def conversation(self) -> Conversation:
        return self.engine.conversation

    def send_user_message(self, text: str) -> Message:
        message = self.engine.send_user_message(text, self._clock())
        self._nudge()
        return message

    def retry(self, message_id: str) -> Message | None:
        return None
