"""The link of a session: a small state machine whose table is executed, and what a session shows.

Theory of operation
-------------------
The link knows five states. Engines do not set them: they tell the link what happened (`LinkEvent`)
and the table (`TABLE`, (state, event) -> next state) decides the next state, as h11 does for HTTP. An
event the table has no entry for is a bug in the engine and raises `IllegalEvent`; nothing is changed.

    connecting ──connected──▶ open ──lost──▶ reconnecting ──reconnected──▶ resuming ──resumed──▶ open
        │  ▲                                 │     ▲  (connected: nothing to resume)──▶ open
        │  └── lost (attempt n) ─────────────┘lost ┴───────────── lost ─────────────┘
        └─reconnected (a restored session resumes)──▶ resuming
    any ──close──▶ closed ──reopen──▶ connecting

What a session *shows* (`ConnectionState`, console/connection.py) is derived, never set: the link
state, refined while the link is open by what its conversations are doing (`Activity`): a reply in
flight shows "streaming", a tool call waiting for its result "tool_call_pending" (`displayed`).
The README's state diagram is checked against `TABLE` by a test.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal, TypeAlias

from console.connection import ConnectionState


class LinkState(StrEnum):
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    RESUMING = "resuming"
    CLOSED = "closed"


class LinkEvent(StrEnum):
    CONNECTED = "connected"  # a connection was made, with nothing to resume
    RECONNECTED = "reconnected"  # a connection was made, and what was missed is being asked for
    RESUMED = "resumed"  # what was missed has come (or the quiet after RESUME says nothing will)
    LOST = "lost"  # the connection ended, or an attempt failed
    CLOSE = "close"  # the session is closed
    REOPEN = "reopen"  # a closed session starts over (a replay from the start)


L = LinkState
E = LinkEvent

TABLE: Final[dict[tuple[LinkState, LinkEvent], LinkState]] = {
    (L.CONNECTING, E.CONNECTED): L.OPEN,
    (L.CONNECTING, E.RECONNECTED): L.RESUMING,  # a session restored from its journal resumes at once
    (L.CONNECTING, E.LOST): L.CONNECTING,  # until the first connection, a failure is "attempt n"
    (L.OPEN, E.LOST): L.RECONNECTING,
    (L.RECONNECTING, E.CONNECTED): L.OPEN,  # a dialect with nothing to resume
    (L.RECONNECTING, E.RECONNECTED): L.RESUMING,
    (L.RECONNECTING, E.LOST): L.RECONNECTING,
    (L.RESUMING, E.RESUMED): L.OPEN,
    (L.RESUMING, E.LOST): L.RECONNECTING,
    **{(state, E.CLOSE): L.CLOSED for state in LinkState if state is not L.CLOSED},
    (L.CLOSED, E.REOPEN): L.CONNECTING,
}


class IllegalEvent(RuntimeError):
    """A local bug: an engine told the link of an event its state table has no move for."""


def next_state(state: LinkState, event: LinkEvent) -> LinkState:
    """The table, executed."""
    try:
        return TABLE[state, event]
    except KeyError:
        raise IllegalEvent(f"link event '{event}' is not allowed while {state}") from None


# What the conversations of a session are doing, most demanding first.
Activity: TypeAlias = Literal["idle", "replying", "tool_call_pending"]

_SHOWN: Final[dict[LinkState, ConnectionState]] = {state: ConnectionState(state.value) for state in LinkState}
_BUSY: Final[dict[Activity, ConnectionState]] = {
    "idle": ConnectionState.OPEN,
    "replying": ConnectionState.STREAMING,
    "tool_call_pending": ConnectionState.TOOL_CALL_PENDING,
}


def displayed(state: LinkState, activity: Activity) -> ConnectionState:
    """What the session shows: the link state, refined by the conversations while the link is open."""
    return _BUSY[activity] if state is L.OPEN else _SHOWN[state]


class Link:
    """The state of one session's link, with its attempts, next retry and last failure."""

    __slots__ = ("attempt", "connections", "detail", "retry_at", "state")

    def __init__(self) -> None:
        self.state = L.CONNECTING
        self.connections = 0  # good connections so far, reconnections included
        self.attempt = 0  # failed attempts since the last good connection
        self.retry_at: float | None = None  # monotonic time of the next attempt, while one is due
        self.detail = ""  # the last failure, in words

    def handle(self, event: LinkEvent, detail: str | None = None) -> LinkState:
        """Feed one event: the table decides the next state (`IllegalEvent` if it has none)."""
        state = next_state(self.state, event)
        if event in (E.CONNECTED, E.RECONNECTED):
            self.connections += 1
            self.attempt = 0
            self.retry_at = None
            self.detail = ""
        if state not in (L.CONNECTING, L.RECONNECTING):
            self.retry_at = None
        if detail is not None:
            self.detail = detail
        self.state = state
        return state

    def lost(self, now: float, reason: str, retry_in: float) -> LinkState:
        """The connection ended or could not be made; the next attempt is in `retry_in` seconds."""
        state = self.handle(E.LOST, reason)
        self.attempt += 1
        self.retry_at = now + retry_in
        return state
