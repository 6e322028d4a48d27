"""What every dialect's engine shares: the link of its session, kept by the table (console/link.py)."""

from __future__ import annotations

from console.connection import ConnectionState, LinkStatus
from console.link import Activity, Link, LinkEvent, LinkState, displayed
from console.session import (
    BlockAdded,
    BlockUpdated,
    Change,
    Conversation,
    MessageAdded,
    MessageStatusChanged,
    Reset,
)
from console.trace_kinds import TraceKind

S = ConnectionState
L = LinkState
E = LinkEvent


class LinkKeeper:
    """The link of one session (`console.link`), published on its conversations with what they are
    doing: engines feed it events, the table decides the state, and the state shown is derived (no
    engine sets "streaming")."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation  # where the link's own rows go
        self.link = Link()
        self._watched: list[Conversation] = []
        self.watch(conversation)

    @property
    def connections(self) -> int:
        return self.link.connections

    @property
    def attempt(self) -> int:
        return self.link.attempt

    @property
    def state(self) -> ConnectionState:
        """What the session shows now."""
        return displayed(self.link.state, self.activity())

    def watch(self, conversation: Conversation) -> None:
        """Show the link on `conversation` too, and count what it is doing."""
        self._watched.append(conversation)
        conversation.subscribe(self._on_change, deltas=False)
        self.publish()

    def activity(self) -> Activity:
        activities = {conversation.activity for conversation in self._watched}
        for busiest in ("tool_call_pending", "replying"):
            if busiest in activities:
                return busiest
        return "idle"

    def handle(self, event: LinkEvent, detail: str | None = None) -> None:
        self.link.handle(event, detail)
        self.publish()

    def lost(self, now: float, reason: str, retry_in: float) -> None:
        """A connection ended or could not be made: recorded, with the state to show until the next try."""
        was = self.link.state
        self.link.lost(now, reason, retry_in)
        kind: TraceKind = "CONNECT_FAILED" if was in (L.CONNECTING, L.RECONNECTING) else "DISCONNECTED"
        self.conversation.record(now, "client", kind, f"{reason}; attempt {self.attempt} in {retry_in:.1f} s")
        self.publish()

    def close(self, now: float) -> None:
        if self.link.state is not L.CLOSED:
            self.handle(E.CLOSE)
            self.conversation.record(now, "client", "CLOSED", "session closed")

    def publish(self) -> None:
        link = self.link
        status = LinkStatus(displayed(link.state, self.activity()), link.attempt, link.retry_at, link.detail)
        for conversation in self._watched:
            conversation.set_link(status)

    def _on_change(self, change: Change) -> None:
        if isinstance(change, MessageAdded | MessageStatusChanged | BlockAdded | BlockUpdated | Reset):
            self.publish()


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
