"""What every dialect's engine shares: the connection state of its session, kept by the table."""

from __future__ import annotations

from console.connection import ConnectionState, LinkStatus, check_transition
from console.session import Conversation

S = ConnectionState


class LinkKeeper:
    """Connection state, attempts and the next retry of one session, published on its conversation."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.connections = 0  # good connections so far, reconnections included
        self.attempt = 0  # failed attempts since the last good connection
        self.retry_at: float | None = None
        self.detail = ""

    @property
    def state(self) -> ConnectionState:
        return self.conversation.link.state

    def connected(self) -> None:
        self.connections += 1
        self.attempt = 0
        self.retry_at = None
        self.detail = ""

    def failed(self, now: float, reason: str, retry_in: float) -> ConnectionState:
        """A connection ended or could not be made; returns the state to show until the next try."""
        self.attempt += 1
        self.retry_at = now + retry_in
        self.detail = reason
        # Until the first good connection, failures are "connecting (attempt n)", not reconnecting.
        return S.RECONNECTING if self.connections else S.CONNECTING

    def lost(self, now: float, reason: str, retry_in: float) -> None:
        """A connection ended or could not be made: recorded, with the state to show until the next try."""
        was = self.state
        state = self.failed(now, reason, retry_in)
        kind = "CONNECT_FAILED" if was in (S.CONNECTING, S.RECONNECTING) else "DISCONNECTED"
        self.conversation.record(now, "client", kind, f"{reason}; attempt {self.attempt} in {retry_in:.1f} s")
        self.set(state)

    def close(self, now: float) -> None:
        if self.state is not S.CLOSED:
            self.set(S.CLOSED)
            self.conversation.record(now, "client", "CLOSED", "session closed")

    def set(self, state: ConnectionState, detail: str | None = None) -> None:
        check_transition(self.state, state)
        if detail is not None:
            self.detail = detail
        retry_at = self.retry_at if state in (S.RECONNECTING, S.CONNECTING) else None
        self.conversation.set_link(LinkStatus(state, self.attempt, retry_at, self.detail))


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
