"""What a session shows of its connection (`ConnectionState`, `LinkStatus`).

These states are derived, never set: the link's own state machine (console/link.py) decides whether
the session is connecting, open, reconnecting, resuming or closed, and while it is open what its
conversations are doing refines it to streaming or tool_call_pending (`console.link.displayed`).
"""

from __future__ import annotations

from enum import StrEnum

from console.frozen import frozen


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    OPEN = "open"
    STREAMING = "streaming"
    TOOL_CALL_PENDING = "tool_call_pending"
    RECONNECTING = "reconnecting"
    RESUMING = "resuming"
    CLOSED = "closed"


LIVE = frozenset({ConnectionState.OPEN, ConnectionState.STREAMING, ConnectionState.TOOL_CALL_PENDING})


@frozen
class LinkStatus:
    """What a connection indicator shows."""

    state: ConnectionState
    attempt: int = 0  # reconnection attempts since the last good connection
    retry_at: float | None = None  # monotonic time of the next attempt, while reconnecting
    detail: str = ""  # the last failure, in words

    @property
    def live(self) -> bool:
        return self.state in LIVE
