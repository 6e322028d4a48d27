"""The toy dialect's client rules, sans-I/O: send prompts while connected, apply the replies."""

from __future__ import annotations

from console.connection import ConnectionState
from console.link import LinkState
from console.runtime.engine import LinkedEngine
from console.session import Conversation, Message
from console.trace_kinds import as_kind
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
        message = self.conversation.add_user_message(text, now, queued=not self._link_up)
        self._waiting.append(message)
        self._flush(now)
        return message

    def _flush(self, now: float) -> None:
        while self._waiting and self._link_up:
            message = self._waiting.pop(0)
            self.conversation.mark_sent(message)
            frame = protocol.say(message.text)
            self._outbox.append(frame)
            self.conversation.record(now, "out", as_kind("SAY"), message.text, raw=frame)

    @property
    def _link_up(self) -> bool:
        return self._link.link.state is LinkState.OPEN

    # The lifecycle (connected, disconnected, give_up, close) is the shared one: only what is the
    # toy's own is said here.
    CONNECTED = "toy link open"

    def _after_connect(self, now: float) -> None:
        self._flush(now)

    def receive(self, raw: str | bytes, now: float) -> None:
        frame = protocol.parse(raw)
        opened = self.decoder.open
        events = self.decoder.decode(frame)
        # The row names its reply's stream: the timeline joins a reply's parts into one row.
        stream = self.decoder.open or opened
        self.conversation.record(now, "in", as_kind(frame[0]), frame[1], raw=str(raw), stream_id=stream)
        for event in events:
            self.conversation.apply(event, now)

    def tick(self, now: float) -> None:
        pass
