"""The client side of the SSE conversation dialect, sans-I/O.

The transport feeds it server-sent events and connection news; it keeps one `ConversationDecoder`
across reconnects (that is what recognises a replay from the start), traces every event, and decides
when the conversation is complete, so a finished stream is not fetched again in a loop.

A stream that keeps ending with a message still open and brings nothing new when fetched again (a
`text_chunk` for a message that never started, whose end never comes) is given up after
`BARREN_STREAMS` such fetches: its open messages are marked interrupted and the conversation is as
complete as this server will make it. The server's `retry:` hint is clamped to `RETRY_RANGE` and
doubles with each fetch that brought nothing, so reconnections always back off.
"""

from __future__ import annotations

from collections.abc import Mapping

from console import events as ev
from console import jsonvalue
from console.connection import ConnectionState
from console.dialects.sse.event_stream import ServerSentEvent
from console.dialects.sse.protocol import ConversationDecoder, Decoded
from console.runtime.engine import Lifecycle, LinkKeeper
from console.session import Conversation

S = ConnectionState
RETRY_RANGE = (0.1, 60.0)  # seconds: what a server's `retry:` may ask for
BACKOFF_CAP = 10.0  # seconds: how far a small hint doubles while fetches bring nothing
BARREN_STREAMS = 3  # fetches in a row that end with nothing new before an open message is given up


class SSEEngine(Lifecycle):
    def __init__(
        self,
        conversation: Conversation | None = None,
        known_fields: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """`known_fields`: field names per component type, for reporting a field a type does not have
        (the dialect's client factory passes the component models' own)."""
        self.conversation = conversation or Conversation()
        self.known_fields = known_fields
        self.decoder = ConversationDecoder(known_fields=known_fields)
        self._link = LinkKeeper(self.conversation)
        self.retry_ms: int | None = None
        self.complete = False
        self.barren = 0  # connection attempts in a row that brought nothing new
        self._applied = 0  # events applied to the conversation, ever
        self._applied_before = 0  # ... when the current connection was made
        self._bad_id_reported = ""

    @property
    def progressed(self) -> bool:
        """The current (or last) connection brought something new."""
        return self._applied > self._applied_before

    def retry_delay(self) -> float:
        """The server's retry hint, doubled for every attempt in a row that brought nothing."""
        low, high = RETRY_RANGE
        hint = min(max((self.retry_ms or 0) / 1000, low), high)
        return min(hint * (1 << min(self.barren, 16)), max(hint, BACKOFF_CAP))

    def request_headers(self, now: float) -> dict[bytes, bytes]:
        """`Last-Event-ID` when the server gave ids, so it resumes instead of replaying.

        Sent as UTF-8, as browsers do (an id may be any text); an id with a control character cannot
        be a header value at all, so the request goes without it (and the stream replays)."""
        last = self.decoder.last_event_id
        if not last:
            return {}
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in last):
            if self._bad_id_reported != last:
                self._bad_id_reported = last
                reason = "event id holds a control character: it cannot be sent back as Last-Event-ID"
                self.conversation.record(now, "in", "PROTOCOL_ERROR", reason, raw=repr(last))
            return {}
        return {b"Last-Event-ID": last.encode()}

    # -- lifecycle --------------------------------------------------------------------------------

    CONNECTED = "stream opened"

    def connected(self, now: float) -> None:
        if self.state is S.CLOSED:
            return  # as `Lifecycle.connected`: a closed session stays closed
        self._applied_before = self._applied
        if not self._link.connections and not self.decoder.completed:
            # A conversation taken over from a crashed session: a replay does not add its ended messages again.
            done = [
                m.stream_id
                for m in self.conversation.messages
                if m.stream_id and m.status in ("done", "sent")
            ]
            self.decoder = ConversationDecoder(known_fields=self.known_fields, completed=done)
        super().connected(now)  # a first connection, or a replay from the start, is CONNECTING

    def _reconnected(self, now: float) -> None:
        last = self.decoder.last_event_id
        how = f"resume after event id {last}" if last else "no event ids: the stream replays from the start"
        self._record(now, "RESUME", how)
        self._show(S.RESUMING)

    def receive(self, sse: ServerSentEvent, now: float) -> None:
        if sse.retry is not None:
            self.retry_ms = sse.retry  # clamped where it is used (`retry_delay`)
        decoded = self.decoder.feed(sse.event, sse.data, sse.id)
        if decoded.outcome == "ignored":
            return
        if decoded.outcome == "applied":
            self._applied += 1
        self._trace(decoded, sse, now)
        for event in decoded.events:
            if isinstance(event, ev.ProtocolError):
                self.conversation.record(now, "in", "PROTOCOL_ERROR", event.reason, raw=event.excerpt)
            else:
                self.conversation.apply(event, now)
        live = S.STREAMING if self.decoder.open_messages else S.OPEN
        if self.state is not live:
            self._link.set(live)

    def broken(self, now: float, reason: str) -> None:
        """The stream could not be framed any further (a line or event over the size limit)."""
        self.conversation.record(now, "in", "PROTOCOL_ERROR", f"stream broken: {reason}")

    def ended(self, now: float) -> bool:
        """The server ended the stream. True when the conversation is complete (no reconnect)."""
        if self.decoder.open_messages and not self.progressed and self.barren >= BARREN_STREAMS - 1:
            return self._never_finishes(now)
        if self.decoder.open_messages or not self.decoder.completed:
            return False
        self.complete = True
        self.conversation.record(
            now, "client", "COMPLETE", f"{len(self.decoder.completed)} messages, stream ended"
        )
        self._link.set(S.CLOSED, "conversation complete")
        return True

    def _never_finishes(self, now: float) -> bool:
        """Fetching again brings nothing new: what is open stays as it is, interrupted."""
        open_ids = self.decoder.open_messages
        for message_id in open_ids:
            self.conversation.interrupt_stream(message_id, "the stream never finished it")
        self.complete = True
        self.conversation.record(
            now,
            "client",
            "COMPLETE",
            f"{BARREN_STREAMS} fetches in a row brought nothing new; {len(open_ids)} message(s) never ended",
        )
        self._link.set(S.CLOSED, "the stream never finishes: not fetched again")
        return True

    def _dropped(self, now: float, reason: str) -> None:
        self.barren = 0 if self.progressed else self.barren + 1
        self._applied_before = self._applied

    def replay(self, now: float) -> None:
        """Start over: the whole conversation is fetched and shown again."""
        self.decoder = ConversationDecoder(known_fields=self.known_fields)
        self.complete = False
        self.barren = 0
        self.conversation.reset()
        self.conversation.record(now, "client", "REPLAY", "replaying the conversation from the start")
        if self.state is not S.CLOSED:
            self._link.set(S.CLOSED, "replaying")  # the current stream is abandoned
        self._link.set(S.CONNECTING)

    # -- helpers ----------------------------------------------------------------------------------

    def _trace(self, decoded: Decoded, sse: ServerSentEvent, now: float) -> None:
        kind = decoded.kind.upper()
        summary = decoded.message_id or ""
        ref: str | None = None
        stream_id = decoded.message_id
        if decoded.outcome in ("duplicate", "replayed", "held"):
            summary = f"{summary} ({decoded.outcome})"
            stream_id = None  # not text of the message: the timeline must not join it to the run
        texts = [event.text for event in decoded.events if isinstance(event, ev.TextDelta)]
        if texts:  # a chunk, with any held ones it released: the text, in order
            summary = "".join(texts)
        for event in decoded.events:
            summary, ref = _trace_summary(event, summary, ref)
        self.conversation.record(
            now, "in", kind, summary, seq=None, raw=sse.data, stream_id=stream_id, ref=ref
        )


def _trace_summary(event: ev.Event, summary: str, ref: str | None) -> tuple[str, str | None]:
    """What a timeline row says of an event, and the component it points at."""
    match event:
        case ev.ComponentStart(component_id=cid, type=kind):
            return f"{kind} {cid}", cid
        case ev.ComponentField(component_id=cid, field=name, value=value):
            shown = value if isinstance(value, str) else jsonvalue.dumps(value)
            return f"{name}: {shown}", cid
        case ev.ComponentEnd(component_id=cid):
            return cid, cid
    return summary, ref
