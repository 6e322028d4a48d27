"""The connection indicator: a chip in the header and a non-blocking banner while the link is down."""

from __future__ import annotations

import time

from nicegui import ui

from console.connection import ConnectionState, LinkStatus
from console.plain import explain
from console.session import Change, ConnectionChanged, Conversation
from console.ui.scope import on_leave
from console.ui.testid import testid
from console.ui.ticker import Ticker

S = ConnectionState

LABELS = {
    S.CONNECTING: "Connecting…",
    S.OPEN: "Connected",
    S.STREAMING: "Streaming",
    S.TOOL_CALL_PENDING: "Waiting for tool",
    S.RECONNECTING: "Reconnecting…",
    S.RESUMING: "Resuming…",
    S.CLOSED: "Closed",
}


def describe(status: LinkStatus, now: float) -> str:
    """What the user reads: the state, and while retrying the attempt and when the next one is."""
    text = LABELS[status.state]
    if status.state is S.CLOSED and status.detail:
        said = explain(status.detail)
        return said[:1].upper() + said[1:]
    if status.state in (S.RECONNECTING, S.CONNECTING) and status.attempt:
        text = f"{text} attempt {status.attempt}"
        if status.retry_at is not None:
            wait = max(0.0, status.retry_at - now)
            text += f", next try in {wait:.1f} s" if wait > 0.05 else ", trying now"
    return text


class StatusChip:
    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.chip = testid(ui.label().classes("ac-status"), "connection-status")
        self.chip.props["aria-live"] = "polite"
        # Only the countdown needs a clock (the state itself is pushed the moment it changes), and
        # only while a retry is due.
        self.ticker = Ticker(0.25, self._countdown)
        self.show(conversation.link)
        # Coarse: the link's changes only, no call per token of a streaming reply.
        unsubscribe = conversation.subscribe(self._on_change, deltas=False)
        on_leave(unsubscribe)

    def _on_change(self, change: Change) -> None:
        if isinstance(change, ConnectionChanged):
            self.show(change.status)

    def _countdown(self) -> None:
        if self.conversation.link.retry_at is not None:
            self.show(self.conversation.link)

    def show(self, status: LinkStatus) -> None:
        self.chip.props["data-state"] = status.state.value
        self.chip.set_text(describe(status, time.monotonic()))
        self.chip.props["title"] = status.detail
        if status.retry_at is not None:
            self.ticker.wake()


class Banner:
    """Shown over the chat while the link is down; it never takes the pointer (reading goes on)."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.root = testid(ui.label().classes("ac-banner").props("role=status"), "connection-banner")
        # Its countdown ticks only while it is shown.
        self.ticker = Ticker(0.25, lambda: self.show(self.conversation.link) if self.root.visible else None)
        self.show(conversation.link)
        unsubscribe = conversation.subscribe(self._on_change, deltas=False)
        on_leave(unsubscribe)

    def _on_change(self, change: Change) -> None:
        if isinstance(change, ConnectionChanged):
            self.show(change.status)

    def show(self, status: LinkStatus) -> None:
        down = status.state in (S.RECONNECTING, S.RESUMING) or (
            status.state is S.CONNECTING and status.attempt
        )
        self.root.set_visibility(bool(down))
        if down:
            self.ticker.wake()
            reason = (
                f" ({explain(status.detail)})" if status.detail and status.state is not S.RESUMING else ""
            )
            kept = (
                "everything received is kept" if self.conversation.counts.received else "nothing received yet"
            )
            self.root.set_text(f"{describe(status, time.monotonic())}{reason} — {kept}")
            self.root.props["title"] = status.detail  # the technical detail, for whoever needs it
