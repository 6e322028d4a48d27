"""Connection states of a session, as one table.

Theory of operation
-------------------
The link layer has five states of its own; while connected, what the user sees is refined by what
the conversation is doing (streaming, waiting on a tool). `TRANSITIONS` lists every legal move of
the link; anything else is a bug in the client and raises. The README's state diagram is checked
against these names by a test.

    connecting ──connected──▶ open ◀──▶ streaming ◀──▶ tool_call_pending
    (failed: stays           │            │                │
     connecting)             └──▶ reconnecting ◀──dropped──┘
                          │   ▲
                connected │   │ dropped
                          ▼   │
                        resuming ──replayed──▶ open / streaming / tool_call_pending
    any ──close──▶ closed
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


S = ConnectionState
LIVE = frozenset({S.OPEN, S.STREAMING, S.TOOL_CALL_PENDING})

TRANSITIONS: frozenset[tuple[ConnectionState, ConnectionState]] = frozenset(
    {(S.CONNECTING, S.OPEN)}
    | {(a, b) for a in LIVE for b in LIVE if a != b}
    | {(live, S.RECONNECTING) for live in LIVE}
    | {(S.RECONNECTING, S.RESUMING), (S.RESUMING, S.RECONNECTING)}
    # A session restored from its journal resumes on its first connection.
    | {(S.CONNECTING, S.RESUMING)}
    | {(S.RESUMING, live) for live in LIVE}
    | {(state, S.CLOSED) for state in S if state is not S.CLOSED}
    | {(S.CLOSED, S.CONNECTING)}
)


class IllegalTransition(RuntimeError):
    """A local bug: the client tried a move the state table does not allow."""


def check_transition(old: ConnectionState, new: ConnectionState) -> None:
    if old != new and (old, new) not in TRANSITIONS:
        raise IllegalTransition(f"connection state {old} -> {new} is not allowed")


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
