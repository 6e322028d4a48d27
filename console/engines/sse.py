"""The client side of the SSE conversation dialect, sans-I/O.

The transport feeds it server-sent events and connection news; it keeps one `ConversationDecoder`
across reconnects (that is what recognises a replay from the start), traces every event, and decides
when the conversation is complete, so a finished stream is not fetched again in a loop.
"""

from __future__ import annotations

from collections.abc import Mapping

from console import events as ev
from console.connection import ConnectionState
from console.engines.base import LinkKeeper, LinkView
from console.protocols.sse import SPEC_COMPONENT_FIELDS, ConversationDecoder, Decoded, ServerSentEvent
from console.session import Conversation

S = ConnectionState


class SSEEngine(LinkView):
    def __init__(
        self,
        conversation: Conversation | None = None,
        known_fields: Mapping[str, frozenset[str]] = SPEC_COMPONENT_FIELDS,
    ) -> None:
        self.conversation = conversation or Conversation()
        self.known_fields = known_fields
        self.decoder = ConversationDecoder(known_fields=known_fields)
        self._link = LinkKeeper(self.conversation)
        self.retry_ms: int | None = None
        self.complete = False

    def request_headers(self) -> dict[str, str]:
        """`Last-Event-ID` when the server gave ids, so it resumes instead of replaying."""
        last = self.decoder.last_event_id
        return {"Last-Event-ID": last} if last else {}

    # -- lifecycle --------------------------------------------------------------------------------

    def connected(self, now: float) -> None:
        fresh = self.state is S.CONNECTING  # the first connection, or a replay from the start
        self._link.connected()
        if fresh:
            self.conversation.record(now, "client", "CONNECTED", "stream opened")
            self._link.set(S.OPEN)
            return
        last = self.decoder.last_event_id
        how = f"resume after event id {last}" if last else "no event ids: the stream replays from the start"
        self.conversation.record(now, "client", "RESUME", how)
        self._link.set(S.RESUMING)

    def receive(self, sse: ServerSentEvent, now: float) -> None:
        if sse.retry is not None:
            self.retry_ms = sse.retry
        decoded = self.decoder.feed(sse.event, sse.data, sse.id)
        if decoded.outcome == "ignored":
            return
        self._trace(decoded, sse, now)
        for event in decoded.events:
            if isinstance(event, ev.ProtocolError):
                self.conversation.record(now, "in", "PROTOCOL_ERROR", event.reason, raw=event.excerpt)
            else:
                self.conversation.apply(event, now)
        live = S.STREAMING if self.decoder.open_messages else S.OPEN
        if self.state is not live:
            self._link.set(live)

    def ended(self, now: float) -> bool:
        """The server ended the stream. True when the conversation is complete (no reconnect)."""
        if self.decoder.open_messages or not self.decoder.completed:
            return False
        self.complete = True
        self.conversation.record(
            now, "client", "COMPLETE", f"{len(self.decoder.completed)} messages, stream ended"
        )
        self._link.set(S.CLOSED, "conversation complete")
        return True

    def disconnected(self, now: float, reason: str, retry_in: float) -> None:
        was = self.state
        state = self._link.failed(now, reason, retry_in)
        kind = "DISCONNECTED" if was not in (S.CONNECTING, S.RECONNECTING) else "CONNECT_FAILED"
        self.conversation.record(
            now, "client", kind, f"{reason}; attempt {self._link.attempt} in {retry_in:.1f} s"
        )
        self._link.set(state)

    def close(self, now: float) -> None:
        if self.state is not S.CLOSED:
            self._link.set(S.CLOSED)
            self.conversation.record(now, "client", "CLOSED", "session closed")

    def replay(self, now: float) -> None:
        """Start over: the whole conversation is fetched and shown again."""
        self.decoder = ConversationDecoder(known_fields=self.known_fields)
        self.complete = False
        self.conversation.reset()
        self.conversation.record(now, "client", "REPLAY", "replaying the conversation from the start")
        if self.state is not S.CLOSED:
            self._link.set(S.CLOSED, "replaying")  # the current stream is abandoned
        self._link.set(S.CONNECTING)

    # -- helpers ----------------------------------------------------------------------------------

    def _trace(self, decoded: Decoded, sse: ServerSentEvent, now: float) -> None:
        kind = decoded.kind.upper()
        summary = decoded.message_id or ""
        if decoded.outcome in ("duplicate", "replayed", "held"):
            summary = f"{summary} ({decoded.outcome})"
        for event in decoded.events:
            if isinstance(event, ev.TextDelta):
                summary = event.text
        self.conversation.record(
            now, "in", kind, summary, seq=None, raw=sse.data, stream_id=decoded.message_id
        )
