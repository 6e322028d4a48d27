"""The WebSocket transport of a chat session: the only I/O of the chat dialect.

The shared WebSocket loop (`WebSocketClient`: connect, feed, send, tick, and reconnect through
`runtime/reconnect.py`) around `ChatEngine`, plus the conversations of the session.
"""

from __future__ import annotations

from collections.abc import Callable

from console.dialects.chat import DIALECT
from console.dialects.chat.engine import ChatEngine, ChatsListener
from console.runtime.websocket import WebSocketClient
from console.session import Conversation, Message


class ChatClient(WebSocketClient[ChatEngine]):
    capabilities = DIALECT.capabilities
    """A chat session: several conversations over one connection; `conversation` is the active one."""

    TICK = 0.1

    def _new_engine(self) -> ChatEngine:
        return ChatEngine()

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

    def send_user_message(self, text: str, chat_id: str | None = None) -> Message:
        """Send in conversation `chat_id` (the active one by default)."""
        message = self.engine.send_user_message(text, self._clock(), chat_id)
        self._nudge()
        return message

    def retry(self, message_id: str, chat_id: str | None = None) -> Message | None:
        message = self.engine.retry(message_id, self._clock(), chat_id)
        self._nudge()
        return message
