"""What every dialect's engine shares: the connection state of its session, kept by the table, and
the lifecycle the transports drive (`Lifecycle`) with the one-reply-at-a-time prompt queue.

Theory of operation
-------------------
The transports tell an engine four things about its link, whatever the dialect:

- `connected(now)`: the first connection is a CONNECTED row and OPEN; any later one (or the first
  of a session restored from its journal) is the dialect's to resume (`_reconnected`): RESUMING,
  and whatever the dialect sends or records for it. Waiting prompts then go (`_after_connect`).
- `disconnected(now, reason, retry_in)`: the dialect settles its replies (`_dropped`), then one row:
  DISCONNECTED when a connection had been made (even one still resuming), CONNECT_FAILED when the
  attempt never connected; the link shows CONNECTING until the first good connection, RECONNECTING
  after.
- `give_up(now, reason, policy)`: a failure retrying cannot mend (a refused credential, a wrong
  address): as `disconnected`, then CLOSED with the reason, and an error notice that says so.
- `close(now)`: CLOSED and one CLOSED row, once.

A closed session stays closed: a drop or a connection reported after `close` (a race between the
close and the transport's reader) changes nothing and records nothing.
"""

from __future__ import annotations

from collections import deque

from console.connection import ConnectionState, LinkStatus, check_transition
from console.limits import Level
from console.runtime.reconnect import Policy
from console.session import Conversation, Message

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

    def failure_kind(self) -> str:
        """The trace kind of a failure now: the attempt never connected, or a connection was lost."""
        return "CONNECT_FAILED" if self.state in (S.CONNECTING, S.RECONNECTING) else "DISCONNECTED"

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


class Lifecycle(LinkView):
    """connected / disconnected / give_up / close, with one behaviour for every dialect (see above).

    A dialect refines what is its own through the hooks below; a session whose link shows on several
    conversations (chat) overrides `_record`, `_show` and `_notify` to reach them all.
    """

    CONNECTED = "connected"  # what the first connection's row says

    def connected(self, now: float) -> None:
        if self.state is S.CLOSED:
            return  # a connection that raced the close: the transport drops it
        first = self._first_connection()
        self._link.connected()
        if first:
            self._show(S.OPEN)
            self._record(now, "CONNECTED", self.CONNECTED)
        else:
            self._reconnected(now)
        self._after_connect(now)

    def disconnected(self, now: float, reason: str, retry_in: float) -> None:
        """The connection is gone (or could not be made); the next attempt is in `retry_in` s."""
        if self.state is S.CLOSED:
            return  # a drop reported after the close: the session stays as it was closed
        self._dropped(now, reason)
        kind = self._link.failure_kind()
        state = self._link.failed(now, reason, retry_in)
        self._record(now, kind, f"{reason}; attempt {self._link.attempt} in {retry_in:.1f} s")
        self._show(state)

    def give_up(self, now: float, reason: str, policy: Policy) -> None:
        """A failure that trying again would only repeat: the session closes, saying why."""
        if self.state is S.CLOSED:
            return
        self._dropped(now, reason)
        kind = self._link.failure_kind()
        why = "the upstream refused our credentials" if policy is Policy.AUTH else "retrying cannot help"
        self._link.failed(now, reason, 0.0)
        self._record(now, kind, f"{reason}; {why}: not retried")
        self._show(S.CLOSED, f"{reason}: not retried")
        self._notify("error", f"{reason}: {why}, so the console stopped trying")

    def close(self, now: float) -> None:
        if self.state is S.CLOSED:
            return
        self._show(S.CLOSED)
        self._record(now, "CLOSED", "session closed")

    # -- what a dialect refines -------------------------------------------------------------------

    def _first_connection(self) -> bool:
        """This connection starts the session afresh (rather than resuming it)."""
        return self.state is S.CONNECTING

    def _reconnected(self, now: float) -> None:
        """A connection after a drop: by default the table's way through RESUMING, nothing to resume."""
        self._show(S.RESUMING)
        self._show(S.OPEN)
        self._record(now, "RECONNECTED", "reconnected")

    def _after_connect(self, now: float) -> None:
        """The link is up: what waited for it goes (queued prompts)."""

    def _dropped(self, now: float, reason: str) -> None:
        """The connection is gone, before the link says so: settle the replies it carried."""

    def _record(self, now: float, kind: str, summary: str) -> None:
        self._link.conversation.record(now, "client", kind, summary)

    def _show(self, state: ConnectionState, detail: str | None = None) -> None:
        self._link.set(state, detail)

    def _notify(self, level: Level, text: str) -> None:
        self._link.conversation.notice(level, text)


class LinkedEngine(Lifecycle):
    """What the transport asks of a WebSocket dialect's engine: its outgoing frames and its link."""

    def __init__(self, conversation: Conversation) -> None:
        self._outbox: list[str] = []
        self._link = LinkKeeper(conversation)

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
