"""The toy dialect's client rules, sans-I/O: send prompts while connected, apply the replies."""

from __future__ import annotations

from console.connection import ConnectionState
from console.runtime.engine import LinkedEngine
from console.session import Conversation, Message
from tests.dialects.toy import protocol

S = ConnectionState


class ToyEngine(LinkedEngine):
    def __init__(self) -> None:
        self.conversation = Conversation()
        super().__init__(self.conversation)
        self.decoder = protocol.ReplyDecoder()
        self._waiting: list[Message] = []

    @property
    def idle(self) -> bool:
        return not self._waiting and self.decoder.open is None

    def send_user_message(self, text: str, now: float) -> Message:
        message = self.conversation.add_user_message(text, now, queued=self.state is not S.OPEN)
        self._waiting.append(message)
        self._flush(now)
        return message

    def _flush(self, now: float) -> None:
        while self._waiting and self.state is S.OPEN:
            message = self._waiting.pop(0)
            self.conversation.mark_sent(message)
            frame = protocol.say(message.text)
            self._outbox.append(frame)
            self.conversation.record(now, "out", "SAY", message.text, raw=frame)

    # The lifecycle (connected, disconnected, give_up, close) is the shared one: only what is the
    # toy's own is said here.
    CONNECTED = "toy link open"

    def _after_connect(self, now: float) -> None:
        self._flush(now)

    def receive(self, raw: str | bytes, now: float) -> None:
        frame = protocol.parse(raw)
        self.conversation.record(now, "in", frame[0], frame[1], raw=str(raw))
        for event in self.decoder.decode(frame):
            self.conversation.apply(event, now)

    def tick(self, now: float) -> None:
        pass
