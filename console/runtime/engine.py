"""What every dialect's engine shares: the link of its session, kept by the table (console/link.py)."""

from __future__ import annotations

from console.connection import ConnectionState
from console.link import Link, LinkEvent, LinkState, displayed
from console.session import Conversation
from console.trace_kinds import TraceKind

S = ConnectionState
L = LinkState
E = LinkEvent


class LinkKeeper:
    """What an engine tells its session's link (console/session_model.py): events in, the table decides
    the state, and what the session shows is derived (no engine sets "streaming")."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation  # where the link's own rows go: the session's trace
        self.session = conversation.session
        self.session.feed_link()

    @property
    def link(self) -> Link:
        return self.session.link

    @property
    def connections(self) -> int:
        return self.link.connections

    @property
    def attempt(self) -> int:
        return self.link.attempt

    @property
    def state(self) -> ConnectionState:
        """What the session shows now."""
        return displayed(self.link.state, self.session.activity())

    def watch(self, conversation: Conversation) -> None:
        """`conversation` joins the session: one trace, one link for both."""
        self.session.add(conversation)

    def handle(self, event: LinkEvent, detail: str | None = None) -> None:
        self.session.handle(event, detail)

    def lost(self, now: float, reason: str, retry_in: float) -> None:
        """A connection ended or could not be made: recorded, with the state to show until the next try."""
        was = self.session.lost(now, reason, retry_in)
        kind: TraceKind = "CONNECT_FAILED" if was in (L.CONNECTING, L.RECONNECTING) else "DISCONNECTED"
        self.conversation.record(now, "client", kind, f"{reason}; attempt {self.attempt} in {retry_in:.1f} s")

    def close(self, now: float) -> None:
        if self.link.state is not L.CLOSED:
            self.handle(E.CLOSE)
            self.conversation.record(now, "client", "CLOSED", "session closed")


class LinkView:
    """What every engine tells of its link (kept by its `_link`)."""

    _link: LinkKeeper

    @property
    def state(self) -> ConnectionState:
        return self._link.state

    @property
    def connections(self) -> int:
        """Connections made so far (reconnections included)."""
        return self._link.connections


class LinkedEngine(LinkView):
    """What the transport asks of a WebSocket dialect's engine: its outgoing frames and its link."""

    def __init__(self, conversation: Conversation) -> None:
        self._outbox: list[str] = []
        self._link = LinkKeeper(conversation)

    def data_to_send(self) -> list[str]:
        out, self._outbox = self._outbox, []
        return out
