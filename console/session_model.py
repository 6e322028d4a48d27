"""A session: one trace, one link, one or many conversations.

Theory of operation
-------------------
A session's connection is one: it has one protocol trace (every frame in or out, and the client's own
rows), one link (console/link.py) and one set of counts, whatever number of conversations it carries
(a chat-dialect session holds several, one per chatId; every other dialect one). So these live here,
once, and each `SessionMember` of the session points at its session:

* A row is recorded once, in the session's trace, and every conversation's views hear of it (a
  timeline is the connection's, whichever conversation its page shows): a lifecycle row is not
  copied into each conversation.
* What the session shows (`status`) is derived: the link state, refined while the link is open by what
  its conversations are doing (`console.link.displayed`). It is recomputed when the link moves or a
  conversation says its activity may have changed (`activity_changed`: a prompt is added or sent, a
  reply starts or ends, a tool call starts waiting or is answered, the conversation is reset), never
  per token or per block: a streaming reply costs it nothing between those moments.
  A session with no link of its own (a replayed file, a follower) is told its status (`show`).
* The counts the supervisor reads a few times a second (rows received, protocol errors, text deltas)
  are the session's (`Counts`), not any one conversation's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from console.connection import ConnectionState, LinkStatus
from console.link import Activity, Link, LinkEvent, LinkState, displayed
from console.session_changes import Change, ConnectionChanged, Listener, TraceAdded, tell
from console.session_trace import Trace, TraceEntry
from console.trace_kinds import TraceKind

# Trace rows have a tap of their own (`journal_trace`), taking the row as the trace holds it: no tuple
# is built per row, no check made per row (the journal cuts an oversized frame's raw text where it
# encodes), and the journal keeps rows apart without sorting inputs. A received frame's row may be
# told as its index alone: the row is rebuilt from the frame, which goes with the inputs
# (`stream_token`, `record(place=True)`).
TraceTap: TypeAlias = Callable[[tuple[object, ...] | int], None]
# What a journal is told of, in the order the conversation takes it in: ("event", event, at, seq)
# (a text delta as ("text", stream_id, text, at, seq); a reply's next token, applied by
# `stream_token`, as the frame it came in: ("token", row index, at, raw); any other agent frame as
# it came: `console/dialects/agent/trace.py`), ("user", text, at), ("interrupted", reason, at),
# ("notice", level, text), ("reset",).
# Fed back through the same methods in the same order, these inputs rebuild the conversation.
JournalInput: TypeAlias = tuple[object, ...]
JournalTap = Callable[[JournalInput], None]
# Told when the conversation may have come to rest (`Conversation.journal_rest`).
RestTap = Callable[[bool], None]


@dataclass(slots=True)
class Counts:
    """Counted for those who look a few times a second instead of hearing of every delta."""

    received: int = 0  # inbound trace rows: frames, and what could not be decoded
    protocol_errors: int = 0
    text_deltas: int = 0  # text deltas applied to agent messages


class Session:
    """The trace, link, status and counts of one session, shared by its conversations."""

    def __init__(self, first: SessionMember, trace_limit: int) -> None:
        self.trace = Trace(trace_limit)
        self.trace.on_let_go = self._rows_let_go
        self.counts = Counts()
        self.link = Link()
        self.status = LinkStatus(ConnectionState.CONNECTING)
        self.conversations: list[SessionMember] = [first]
        self.sole: SessionMember | None = first  # the one conversation (every dialect but chat), else None
        self.journal_trace: TraceTap | None = None  # told of every trace row (console/store)
        self._linked = False  # an engine feeds the link: the status is derived from it
        # Someone follows the session live: a view that hears of each trace row and text delta (a page
        # showing its chat or timeline), not one that reads the counts now and then. An attribute,
        # kept by `rewatch`: the transport reads it at every read.
        self.watched = False

    # -- conversations ----------------------------------------------------------------------------

    def add(self, conversation: SessionMember) -> None:
        """`conversation` joins this session: its rows go to this trace, its activity counts here."""
        if conversation.session is self:
            return
        conversation.session = self
        self.conversations.append(conversation)
        self.sole = None
        self.rewatch()
        self.publish()

    def adopt(self, previous: Session) -> None:
        """Take over the trace and counts of a session this one continues (a restarted client)."""
        self.trace, self.counts = previous.trace, previous.counts
        self.trace.on_let_go = self._rows_let_go

    def _rows_let_go(self, count: int) -> None:
        for conversation in self.conversations:
            conversation.rows_left(count)

    # -- the link and what the session shows --------------------------------------------------------

    @property
    def shown(self) -> ConnectionState:
        return self.status.state

    def handle(self, event: LinkEvent, detail: str | None = None) -> None:
        """Feed the link one event (the table decides; `IllegalEvent` if it has no move)."""
        self.feed_link()
        self.link.handle(event, detail)
        self.publish()

    def lost(self, now: float, reason: str, retry_in: float) -> LinkState:
        """The connection ended or could not be made; returns the link state it was in."""
        self.feed_link()
        was = self.link.state
        self.link.lost(now, reason, retry_in)
        self.publish()
        return was

    def rewatch(self) -> None:
        """`watched` again, after a view came or went."""
        self.watched = any(conversation._listeners for conversation in self.conversations)

    def activity(self) -> Activity:
        """The busiest of the conversations: a tool call waiting, else a reply in flight, else idle."""
        if self.sole is not None:  # every dialect but chat: no set to build
            return self.sole.activity
        activities = {conversation.activity for conversation in self.conversations}
        for busiest in ("tool_call_pending", "replying"):
            if busiest in activities:
                return busiest
        return "idle"

    def publish(self) -> None:
        """Show the status derived from the link and the conversations (when an engine feeds the link)."""
        if not self._linked:
            return
        link = self.link
        # What the conversations do matters only while the link is open.
        state = displayed(link.state, self.activity() if link.state is LinkState.OPEN else "idle")
        shown = self.status
        if (state, link.attempt, link.retry_at, link.detail) != (
            shown.state,
            shown.attempt,
            shown.retry_at,
            shown.detail,
        ):
            self.show(LinkStatus(state, link.attempt, link.retry_at, link.detail))

    def show(self, status: LinkStatus) -> None:
        """Show `status` (a session with no link of its own is told what to show)."""
        if status != self.status:
            self.status = status
            for conversation in self.conversations:
                conversation.tell(ConnectionChanged(status))

    def feed_link(self) -> None:
        """An engine feeds this session's link from now on: what it shows is derived from it."""
        if not self._linked:
            self._linked = True
            self.publish()


class SessionMember:
    """A conversation as a member of its session: what it shares with it, and who hears of its changes."""

    def __init__(self, trace_limit: int) -> None:
        self.session = Session(self, trace_limit)
        # A tuple, replaced on (un)subscribe: emitting iterates it without a copy, and a listener that
        # unsubscribes while a change is delivered does not disturb the delivery.
        self._listeners: tuple[Listener, ...] = ()
        self._coarse: tuple[Listener, ...] = ()  # told of all but each trace row and text delta

    @property
    def activity(self) -> Activity:
        """What the conversation is doing (the reducer knows)."""
        return "idle"

    def activity_changed(self) -> None:
        """What the conversation is doing may have changed: its session shows it, if derived. Called
        by the reducer where its activity can change, after the change is announced."""
        self.session.publish()

    # -- what the session holds -----------------------------------------------------------------

    @property
    def trace(self) -> Trace:
        return self.session.trace

    @property
    def counts(self) -> Counts:
        return self.session.counts

    @property
    def link(self) -> LinkStatus:
        """What the session shows of its connection."""
        return self.session.status

    def set_link(self, status: LinkStatus) -> None:
        """Show `status` (for a session with no link of its own: a replayed file, a follower)."""
        self.session.show(status)

    @property
    def journal_trace(self) -> TraceTap | None:
        """Told of every trace row of the session (console/store)."""
        return self.session.journal_trace

    @journal_trace.setter
    def journal_trace(self, tap: TraceTap | None) -> None:
        self.session.journal_trace = tap

    @property
    def row_listeners(self) -> tuple[Listener, ...]:
        """Who hears of each trace row."""
        return self._listeners

    @property
    def trace_limit(self) -> int:
        """Trace rows kept; older ones are let go and counted."""
        return self.trace.limit

    @property
    def trace_dropped(self) -> int:
        return self.trace.dropped

    @property
    def rows_let_go(self) -> int:
        """Trace rows that left memory, oldest first (`trace[0].index` is this; console/window.py)."""
        return self.trace.dropped

    def rows_left(self, count: int) -> None:
        """`count` of the oldest trace rows left memory (a conversation says so in a notice)."""

    # -- subscription -------------------------------------------------------------------------

    def subscribe(self, listener: Listener, *, deltas: bool = True) -> Callable[[], None]:
        """Be told of every change; with `deltas=False`, of all but each trace row and text delta
        (`TraceAdded`, `TextAppended`): a listener that reads the counters instead costs a streaming
        session nothing per token."""
        if deltas:
            self._listeners += (listener,)
            self.session.rewatch()
        else:
            self._coarse += (listener,)

        def unsubscribe() -> None:
            self._listeners = tuple(x for x in self._listeners if x is not listener)
            self._coarse = tuple(x for x in self._coarse if x is not listener)
            self.session.rewatch()

        return unsubscribe

    def _emit(self, change: Change) -> None:
        tell(self._listeners, change)
        if self._coarse:
            tell(self._coarse, change)

    tell = _emit  # the session tells each of its conversations' listeners of its own changes

    def record(
        self,
        at: float,
        direction: Literal["in", "out", "client"],
        kind: TraceKind,
        summary: str,
        *,
        seq: int | None = None,
        raw: str | None = None,
        stream_id: str | None = None,
        ref: str | None = None,
        place: bool = False,
    ) -> int:
        """One row on the session's trace, once: every conversation of the session hears of it. Its
        index. `place`: the journal is told of the row by its index alone, for a received frame the
        journal is given whole, which the row is rebuilt from (`console/dialects/agent/trace.py`)."""
        session = self.session
        row = session.trace.add(at, direction, kind, summary, seq, raw, stream_id, ref)
        if (tap := session.journal_trace) is not None:
            # An oversized frame's raw text is cut short where it is encoded (console/store).
            tap(row[0] if place else row)
        if direction == "in":
            session.counts.received += 1
            if kind == "PROTOCOL_ERROR":
                session.counts.protocol_errors += 1
        sole = session.sole
        if sole is not None:  # every dialect but chat; with no view open, no row object is made
            if listeners := sole._listeners:
                tell(listeners, TraceAdded(TraceEntry(*row)))
            return row[0]
        entry: TraceEntry | None = None
        for conversation in session.conversations:
            if conversation._listeners:
                entry = entry or TraceEntry(*row)
                tell(conversation._listeners, TraceAdded(entry))
        return row[0]
