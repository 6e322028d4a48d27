"""What every dialect's engine shares: the connection state of its session, kept by the table, and
the lifecycle the transports drive (`Lifecycle`) with the one-reply-at-a-time prompt queue.

Theory of operation
-------------------
The transports tell an engine four things about its link, whatever the dialect:

- `connected(now)`: the first connection is a CONNECTED row and the link's `connected` event; any
  later one (or the first of a session restored from its journal) is the dialect's to resume
  (`_reconnected`): `reconnected` (RESUMING) and whatever the dialect sends or records for it, or
  `connected` again for a dialect with nothing to resume. Waiting prompts then go (`_after_connect`).
- `disconnected(now, reason, retry_in)`: the dialect settles its replies (`_dropped`), then one row:
  DISCONNECTED when a connection had been made (even one still resuming), CONNECT_FAILED when the
  attempt never connected; the link shows CONNECTING until the first good connection, RECONNECTING
  after.
- `give_up(now, reason, policy)`: a failure retrying cannot mend (a refused credential, a wrong
  address): as `disconnected`, then CLOSED with the reason, and an error notice that says so.
- `close(now)`: CLOSED and one CLOSED row, once.

Engines feed the link events (console/link.py) and its table decides the state; what the session
shows (streaming, a tool call pending) is derived from the link and the conversations, never set.

A closed session stays closed: a drop or a connection reported after `close` (a race between the
close and the transport's reader) changes nothing and records nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from console.connection import ConnectionState
from console.limits import Level
from console.link import Link, LinkEvent, LinkState, displayed
from console.runtime.policy import Policy
from console.session import Conversation, Message
from console.session_model import Session
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
        self.link: Link = self.session.link  # the session's one link (an attribute: read at every frame)
        self.session.feed_link()

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
        """Feed the link one event: the table decides the next state."""
        self.session.handle(event, detail)

    def failure_kind(self) -> TraceKind:
        """The trace kind of a failure now: the attempt never connected, or a connection was lost."""
        return "CONNECT_FAILED" if self.link.state in (L.CONNECTING, L.RECONNECTING) else "DISCONNECTED"

    def lost(self, now: float, reason: str, retry_in: float) -> None:
        """A connection ended or could not be made: the next attempt is in `retry_in` s."""
        self.session.lost(now, reason, retry_in)


class LinkView:
    """What every engine tells of its link (kept by its `_link`)."""

    _link: LinkKeeper

    @property
    def state(self) -> ConnectionState:
        return self._link.state

    @property
    def live(self) -> bool:
        """The link is open: what the session shows is one of `LIVE`. Asked at every tick, so read
        from the link alone, without deriving what the conversations are doing."""
        return self._link.link.state is L.OPEN

    @property
    def connections(self) -> int:
        """Connections made so far (reconnections included)."""
        return self._link.connections


class Lifecycle(LinkView):
    """connected / disconnected / give_up / close, with one behaviour for every dialect (see above).

    A dialect refines what is its own through the hooks below; a session of several conversations
    (chat) overrides `_notify` to reach them all (its rows go to the session's one trace anyway).
    """

    CONNECTED = "connected"  # what the first connection's row says

    def connected(self, now: float) -> None:
        if self._link.link.state is L.CLOSED:
            return  # a connection that raced the close: the transport drops it
        if self._first_connection():
            self._link.handle(E.CONNECTED)
            self._record(now, "CONNECTED", self.CONNECTED)
        else:
            self._reconnected(now)
        self._after_connect(now)

    def disconnected(self, now: float, reason: str, retry_in: float) -> None:
        """The connection is gone (or could not be made); the next attempt is in `retry_in` s."""
        if self._link.link.state is L.CLOSED:
            return  # a drop reported after the close: the session stays as it was closed
        self._dropped(now, reason)
        kind = self._link.failure_kind()
        self._link.lost(now, reason, retry_in)
        self._record(now, kind, f"{reason}; attempt {self._link.attempt} in {retry_in:.1f} s")

    def give_up(self, now: float, reason: str, policy: Policy) -> None:
        """A failure that trying again would only repeat: the session closes, saying why."""
        if self._link.link.state is L.CLOSED:
            return
        self._dropped(now, reason)
        kind = self._link.failure_kind()
        why = "the upstream refused our credentials" if policy is Policy.AUTH else "retrying cannot help"
        self._link.lost(now, reason, 0.0)
        self._record(now, kind, f"{reason}; {why}: not retried")
        self._link.handle(E.CLOSE, f"{reason}: not retried")
        self._notify("error", f"{reason}: {why}, so the console stopped trying")

    def close(self, now: float) -> None:
        if self._link.link.state is L.CLOSED:
            return
        self._link.handle(E.CLOSE)
        self._record(now, "CLOSED", "session closed")

    # -- what a dialect refines -------------------------------------------------------------------

    def _first_connection(self) -> bool:
        """This connection starts the session afresh (rather than resuming it)."""
        return self._link.link.state is L.CONNECTING

    def _reconnected(self, now: float) -> None:
        """A connection after a drop: by default nothing to resume, so the link is open at once."""
        self._link.handle(E.CONNECTED)
        self._record(now, "RECONNECTED", "reconnected")

    def _after_connect(self, now: float) -> None:
        """The link is up: what waited for it goes (queued prompts)."""

    def _dropped(self, now: float, reason: str) -> None:
        """The connection is gone, before the link says so: settle the replies it carried."""

    def _record(self, now: float, kind: TraceKind, summary: str) -> None:
        """A row of the link: once, on the session's trace (every conversation of it shows it)."""
        self._link.conversation.record(now, "client", kind, summary)

    def _notify(self, level: Level, text: str) -> None:
        self._link.conversation.notice(level, text)


class LinkedEngine(Lifecycle):
    """What the transport asks of a WebSocket dialect's engine: its outgoing frames and its link."""

    def __init__(self, conversation: Conversation) -> None:
        self._outbox: list[str] = []
        self._link = LinkKeeper(conversation)
        self.hurried = False  # a frame gave it a deadline of seconds: the transport ticks it at once

    @property
    def ticking(self) -> bool:
        """Time alone can make something due (a deadline, a stall): the transport keeps ticking the
        engine every interval while this holds, and only now and then otherwise. A dialect with
        deadlines says when it has none; by default it always may."""
        return True

    @property
    def urgent(self) -> bool:
        """A deadline of a second or two may come due: ticked every interval. By default, always."""
        return True

    def tick_slack(self, now: float) -> float:
        """While `ticking` but not `urgent`: the seconds from `now` before a rule may come due, which
        the next tick may wait (0: every interval)."""
        return 0.0

    @property
    def watch(self) -> Session:
        """The session, whose `watched` says whether someone follows it live (console/session_model.py):
        its frames are then read at once, not on the shared tick of the links nobody watches
        (console/runtime/polled.py)."""
        return self._link.session

    def receive(self, raw: str | bytes, now: float) -> None:
        raise NotImplementedError

    def receive_many(self, messages: Iterable[str | bytes], now: float) -> None:
        """Messages read together, in order (a dialect may take them faster than one by one)."""
        for raw in messages:
            self.receive(raw, now)

    def data_to_send(self) -> list[str]:
        out = self._outbox
        if out:  # asked after every frame received: most of the time there is nothing, and no new list
            self._outbox = []
        return out


class PromptQueue:
    """One conversation's prompts, one reply at a time.

    A prompt typed while a reply streams or while the link cannot carry it is shown queued and goes,
    in order, when the reply has ended and the link is up (`take`, asked whenever either changes).
    """

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.waiting: deque[Message] = deque()
        self.in_flight = False  # a prompt went out and its reply has not ended

    @property
    def free(self) -> bool:
        """No reply in flight or streaming: a prompt may go once the link allows it."""
        return not self.in_flight and self.conversation.streaming is None

    @property
    def idle(self) -> bool:
        return not self.waiting and self.free

    def add(self, text: str, now: float, *, link_up: bool) -> Message:
        """A prompt from the user: queued (so marked) unless it may go at once; `take` sends it."""
        queued = bool(self.waiting) or not (link_up and self.free)
        message = self.conversation.add_user_message(text, now, queued=queued)
        self.waiting.append(message)
        return message

    def take(self, *, link_up: bool) -> Message | None:
        """The next prompt to send, if one may go now: marked sent, its reply in flight."""
        if not self.waiting or not link_up or not self.free:
            return None
        message = self.waiting.popleft()
        self.conversation.mark_sent(message)
        self.in_flight = True
        return message

    def restore(self) -> None:
        """Rebuilt from a journal: prompts typed but not sent before the stop go out as they would have."""
        self.waiting.extend(
            m for m in self.conversation.messages if m.role == "user" and m.status == "queued"
        )


def retry_prompt(conversation: Conversation, message_id: str) -> str | None:
    """The prompt to ask again for a reply that broke off (once) or failed; None when there is none."""
    message = conversation.message(message_id)
    prompt = conversation.prompt_of(message) if message else None
    if message is None or prompt is None:
        return None
    if message.status != "error" and not conversation.mark_retried(message):
        return None
    return prompt
