"""The conversation model: a reducer of normalized events into messages, blocks and contexts.

Pure and replayable: `apply(event, at)` depends only on the event and the time it is given, never on a
clock or a socket, so a recorded trace replays into the same conversation. Every change is announced
to subscribers as a small `Change` value, so views update incrementally (append this text to that
block) instead of re-rendering lists.

A conversation belongs to a session (console/session_model.py), which holds what the connection has
once however many conversations it carries: the protocol trace, the link and the counts.

An agent message is an ordered list of blocks. Text after a tool call goes into a new text block after
the tool card, which is what freezes the earlier text in place.
"""

from __future__ import annotations

import logging

from console import events as ev
from console import session_cards as cards
from console import session_contexts as contexts
from console import session_runs as runs
from console import session_window as memory
from console.conversation_transcript import transcript_of
from console.jsonvalue import JsonObject, JsonValue
from console.limits import FoldCounter, Level, Limits, NoticeBoard
from console.link import Activity
from console.session_blocks import (
    Block,
    ComponentBlock,
    ContextEntry,
    Message,
    MessageStatus,
    Role,
    TextBlock,
    ToolBlock,
    ToolStatus,
)
from console.session_changes import (
    BlockAdded,
    BlockUpdated,
    Change,
    ConnectionChanged,
    ContextAdded,
    HistoryLetGo,
    Listener,
    MessageAdded,
    MessageStatusChanged,
    NoticeAdded,
    Reset,
    TextAppended,
    ToolArgsAppended,
    TraceAdded,
    tell,
)
from console.session_model import JournalInput, JournalTap, RestTap, SessionMember, TraceTap
from console.session_trace import Row, Trace, TraceEntry, lean_row
from console.window import SnapshotWindow

# Re-exported: the conversation model is imported from here.
__all__ = [
    "Block",
    "BlockAdded",
    "BlockUpdated",
    "Change",
    "ComponentBlock",
    "ConnectionChanged",
    "ContextAdded",
    "ContextEntry",
    "Conversation",
    "HistoryLetGo",
    "JournalInput",
    "JournalTap",
    "Listener",
    "Message",
    "MessageAdded",
    "MessageStatus",
    "MessageStatusChanged",
    "NoticeAdded",
    "Reset",
    "Role",
    "Row",
    "TextAppended",
    "TextBlock",
    "ToolArgsAppended",
    "ToolBlock",
    "ToolStatus",
    "Trace",
    "TraceAdded",
    "TraceEntry",
    "TraceTap",
    "lean_row",
]

log = logging.getLogger(__name__)


class Conversation(SessionMember):
    """Messages and contexts of one conversation; its trace, link and counts are its session's."""

    def __init__(self, trace_limit: int | None = None, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        super().__init__(self.limits.window.trace_rows if trace_limit is None else trace_limit)
        # Read by every streamed token (console/session_tokens.py), so set early: an instance keeps its
        # attributes in the order they were first set, and these share a cache line with `session`.
        self._by_stream: dict[str, Message] = {}
        self.journal: JournalTap | None = None  # told of every input but trace rows (console/store)
        self.trace.oversized_kept = self.limits.window.oversized_frames
        self.messages: list[Message] = []  # the newest in memory (console/session_window.py)
        self.messages_let_go = 0  # messages before `messages[0]` that left memory
        self.history_kept = False  # what left memory is in a store (set when replayed from one)
        self.history_told = False  # the notice that history left memory was posted
        self.contexts: dict[str, list[ContextEntry]] = {}  # least recently updated first
        self.notices = NoticeBoard(self.limits.notices)
        self._snapshots = SnapshotWindow(self.limits.window)
        self.folded = FoldCounter()  # live items let go past a cap, by kind
        self._components: dict[tuple[str, str], tuple[Message, int]] = {}  # (stream, id) -> where
        self._open_components: dict[tuple[str, str], None] = {}  # not ended yet, oldest first
        # Indexes (`_by_stream` above), so that no event costs time proportional to its length.
        self._by_id: dict[str, Message] = {}
        self._streaming: list[Message] = []  # agent messages still streaming (normally one)
        self._user_streams: dict[str, Message] = {}  # user messages a dialect streams (SSE), by id
        self._tools: dict[str, tuple[Message, int]] = {}  # call_id -> where its card is
        self._waiting: dict[str, tuple[Message, ToolBlock]] = {}  # calls still without a result
        self._unanswered: list[Message] = []  # user messages whose reply has not started
        self._orphan_results: dict[str, tuple[JsonObject, float]] = {}
        self._reasoning: dict[str, list[str]] = {}  # reasoning text still streaming, by component
        self._live_states: dict[str, tuple[ContextEntry, JsonValue]] = {}  # see session_runs
        self._ids = 0
        # Told when the conversation may have come to rest: a message's status changed (False) or the
        # conversation began again (True); the journal marks such points (console/store/journal.py).
        # A hook of its own: a listener of every change cost the journal more than its marks.
        self.journal_rest: RestTap | None = None

    def reset(self) -> None:
        """Forget the conversation (not the trace): what comes next starts a new one."""
        if self.journal is not None:
            self.journal(("reset",))
        self.messages.clear()
        self.messages_let_go = 0
        self.history_told = False
        self.contexts.clear()
        self.notices.clear()
        self._by_stream.clear()
        self._by_id.clear()
        self._streaming.clear()
        self._user_streams.clear()
        self._tools.clear()
        self._waiting.clear()
        self._unanswered.clear()
        self._orphan_results.clear()
        self._reasoning.clear()
        self._live_states.clear()
        self._components.clear()
        self._open_components.clear()
        self._emit(Reset())
        if self.journal_rest is not None:
            self.journal_rest(True)
        self.activity_changed()

    def continue_from(self, previous: Conversation) -> None:
        """Take over what `previous` received (the supervisor restarts a crashed session with a new
        client): messages, contexts, trace, notices and counts. A reply still streaming will not
        finish on the new connection: it is interrupted, keeping its text, so the user can retry."""
        self.messages, self.contexts = previous.messages, previous.contexts
        self.messages_let_go, self.history_told = previous.messages_let_go, previous.history_told
        self._snapshots = previous._snapshots  # what it counted of the contexts taken over
        self.session.adopt(previous.session)
        self.notices, self.folded = previous.notices, previous.folded
        self._by_stream, self._by_id = previous._by_stream, previous._by_id
        self._tools, self._components = previous._tools, previous._components
        self._ids = previous._ids
        self._emit(Reset())
        if self.journal_rest is not None:
            self.journal_rest(True)
        self.activity_changed()
        if self.journal is not None:  # the journal goes on from the crashed client's
            for message in previous._streaming:
                self.journal(("interrupt_stream", message.stream_id or "", "the session restarted"))
        for message in list(previous._streaming):
            self._streaming.append(message)
            self._set_status(message, "interrupted", "the session restarted")

    # -- queries ------------------------------------------------------------------------------

    def message(self, message_id: str) -> Message | None:
        return self._by_id.get(message_id)

    @property
    def streaming(self) -> Message | None:
        """The agent message still being streamed, if any."""
        return self._streaming[-1] if self._streaming else None

    @property
    def awaiting_reply(self) -> bool:
        return bool(self._unanswered) or self.streaming is not None

    @property
    def replying(self) -> bool:
        """A prompt went out and its reply has not ended (queued prompts do not count)."""
        return self.streaming is not None or any(m.status == "sent" for m in self._unanswered)

    @property
    def queued(self) -> int:
        """Prompts typed but not sent yet."""
        return sum(1 for m in self._unanswered if m.status == "queued")

    @property
    def activity(self) -> Activity:
        """What the conversation is doing, for what its session shows while the link is open."""
        current = self.streaming
        if current is not None and any(message is current for message, _ in self._waiting.values()):
            return "tool_call_pending"
        if self.replying or self._user_streams:
            return "replying"
        return "idle"

    @property
    def at_rest(self) -> bool:
        """Nothing in flight: no reply or user message streaming, no prompt waiting for its reply, no
        component or reasoning open. What comes next builds new messages on nothing before (the
        journal marks such points, to read messages back from one). A tool call still waiting for its
        result does not count: its result lands on its own card (an earlier message), and such a
        call may wait for ever (its reply interrupted)."""
        return not (
            self._streaming
            or self._unanswered
            or self._user_streams
            or self._open_components
            or self._reasoning
        )

    @property
    def ids_given(self) -> int:
        """How many message ids were given out (the next message's id is `m<ids_given + 1>`)."""
        return self._ids

    def give_ids_from(self, given: int) -> None:
        """Go on numbering ids after `given` (a replay that starts where the live conversation stood)."""
        self._ids = given

    def waiting_tool_calls(self) -> list[ToolBlock]:
        current = self.streaming
        if current is None:
            return []
        return [block for message, block in self._waiting.values() if message is current]

    # -- user side ----------------------------------------------------------------------------

    def add_user_message(self, text: str, at: float, *, queued: bool = False) -> Message:
        if self.journal is not None:
            self.journal(("user", text, at, queued))
        status: MessageStatus = "queued" if queued else "sent"
        message = Message(id=self._next_id(), role="user", status=status, created_at=at)
        block = TextBlock()
        block.append(text)
        message.blocks.append(block)
        self._unanswered.append(message)  # before it is announced: listeners see it awaiting its reply
        self._add(message)
        return message

    def mark_sent(self, message: Message) -> None:
        """A queued prompt went out."""
        if self.journal is not None:
            self.journal(("sent", message.id))
        if message.status == "queued":
            self._set_status(message, "sent")

    def mark_retried(self, message: Message) -> bool:
        """An interrupted reply is asked again: once (False when it already was)."""
        if self.journal is not None:
            self.journal(("retried", message.id))
        if message.retried or message.status != "interrupted":
            return False
        message.retried = True
        self._emit(MessageStatusChanged(message))
        if self.journal_rest is not None:
            self.journal_rest(False)
        return True

    def mark_interrupted(self, reason: str, at: float) -> Message | None:
        """The reply in progress will not finish (stall, lost stream): keep what arrived, say why."""
        if self.journal is not None:
            self.journal(("interrupted", reason, at))
        message = self.streaming
        if message is None and self._unanswered:
            # The reply never started: show an empty interrupted reply so the user can retry.
            message = Message(
                id=self._next_id(),
                role="assistant",
                status="streaming",
                created_at=at,
                reply_to=self._unanswered.pop(0).id,
            )
            self._add_reply(message)
        if message is None:
            return None
        self._set_status(message, "interrupted", reason)
        return message

    def interrupt_stream(self, stream_id: str, reason: str) -> None:
        """The message of `stream_id` will not finish (its stream gave up on it): keep it, say why."""
        if self.journal is not None:
            self.journal(("interrupt_stream", stream_id, reason))
        message = self._by_stream.get(stream_id)
        if message is not None and message.status == "streaming":
            self._set_status(message, "interrupted", reason)

    def prompt_of(self, message: Message) -> str | None:
        """The user text an agent message answered, for retry."""
        if message.reply_to is None:
            return None
        user = self.message(message.reply_to)
        return user.text if user else None

    # -- the reducer --------------------------------------------------------------------------

    def apply(
        self, event: ev.Event, at: float, seq: int | None = None, told: JournalInput | None = None
    ) -> None:
        """Apply one event (the journal is told of it, or of `told`: console/dialects/agent/trace.py).
        An event the model cannot hold (a value no encoder takes, say) is the upstream's doing, not a
        reason to end the session: it becomes a protocol error row."""
        try:
            if type(event) is ev.TextDelta:  # the hot path: most events are text of a streaming message
                if self.journal is not None:  # the commonest input goes flat: encoded with no call back
                    self.journal(told or ("text", event.stream_id, event.text, at, seq))
                message = self._by_stream.get(event.stream_id)
                if message is None or message.status == "interrupted":
                    message = self._stream_message(event.stream_id, at)
                blocks = message.blocks
                text = event.text
                if text and blocks and message.role == "assistant" and type(block := blocks[-1]) is TextBlock:
                    # A token of the reply's text block (`_append_text`, without the calls).
                    block.parts.append(text)
                    block.length += len(text)
                    self.session.counts.text_deltas += 1
                    if self._listeners:
                        tell(self._listeners, TextAppended(message, len(blocks) - 1, text))
                    return
                self._append_text(message, text)
                return
            if self.journal is not None:  # told of every event before it is applied
                self.journal(told or ("event", event, at, seq))
            match event:
                case ev.TextDelta(stream_id=sid, text=text):
                    self._append_text(self._stream_message(sid, at), text)
                case ev.MessageStart(stream_id=sid, role=role):
                    self._stream_message(sid, at, "user" if role == "user" else "assistant")
                case ev.ToolCall():
                    cards.tool_call(self, event, at)
                case ev.ToolResult():
                    cards.tool_result(self, event, at)
                case ev.ComponentStart():
                    cards.component_start(self, event, at)
                case ev.ComponentField():
                    cards.component_field(self, event, at)
                case ev.ComponentEnd():
                    cards.component_end(self, event)
                case ev.ContextSnapshot():
                    contexts.snapshot(self, event, at, seq)
                case ev.StreamEnd(stream_id=sid):
                    ended = self._by_stream.get(sid)
                    if ended is not None and ended.status in ("streaming", "interrupted"):
                        self._set_status(ended, "sent" if ended.role == "user" else "done")
                case ev.ServerError(code=code, message=text):
                    self._notice("error", f"{code}: {text}")
                case ev.Heartbeat() | ev.ProtocolError():
                    pass  # trace only
                case _:
                    runs.apply(self, event, at, seq)  # runs, streamed arguments, state deltas, reasoning
        except (ValueError, TypeError, RecursionError) as exc:
            log.warning("an event could not be applied: %s", exc)
            reason = f"{type(event).__name__} could not be applied: {exc}"
            self.record(at, "in", "PROTOCOL_ERROR", reason, seq=seq)

    def notice(self, level: Level, text: str) -> None:
        if self.journal is not None:
            self.journal(("notice", level, text))
        self._notice(level, text)

    def _notice(self, level: Level, text: str) -> None:
        """A notice of the reducer's own (replaying its event tells it again)."""
        notice = self.notices.post(level, text)
        self._emit(NoticeAdded(level, text, notice.repeats))

    # -- internals ----------------------------------------------------------------------------

    def _next_id(self) -> str:
        self._ids += 1
        return f"m{self._ids}"

    def _add(self, message: Message) -> None:
        self.messages.append(message)
        self._by_id[message.id] = message
        if message.role == "assistant" and message.status == "streaming":
            self._streaming.append(message)
        self._emit(MessageAdded(message))
        self.activity_changed()  # a prompt awaits its reply, or a reply or user stream began
        memory.let_go_messages(self)

    def _add_reply(self, message: Message) -> None:
        """A reply sits right under its prompt, also when later prompts were queued after it."""
        prompt = self._by_id.get(message.reply_to) if message.reply_to else None
        index = len(self.messages)
        # Only prompts typed after this one sit in between: a short walk back from the end.
        while prompt is not None and index > 0 and self.messages[index - 1] is not prompt:
            if self.messages[index - 1].role != "user":
                prompt = None
                break
            index -= 1
        if prompt is None or index == len(self.messages):
            self._add(message)
            return
        self.messages.insert(index, message)
        self._by_id[message.id] = message
        self._streaming.append(message)
        self._emit(MessageAdded(message, after=prompt.id))
        self.activity_changed()
        memory.let_go_messages(self)

    def _set_status(self, message: Message, status: MessageStatus, note: str = "") -> None:
        if message.role == "assistant":
            if status == "streaming" and message.status != "streaming":
                self._streaming.append(message)
            elif status != "streaming" and message in self._streaming:
                self._streaming.remove(message)
        elif status == "streaming":
            self._user_streams[message.id] = message
        else:
            self._user_streams.pop(message.id, None)
        message.status = status
        message.note = note
        if status != "streaming":
            memory.settle(message)
        self._emit(MessageStatusChanged(message))
        if self.journal_rest is not None:
            self.journal_rest(False)
        self.activity_changed()

    def rows_left(self, count: int) -> None:
        memory.history_let_go(self, "trace rows", count)

    def _stream_message(self, stream_id: str, at: float, role: Role = "assistant") -> Message:
        message = self._by_stream.get(stream_id)
        if message is not None:
            if message.status == "interrupted":
                # It was only late (a long spike outlived the stall bound): it streams again.
                self._set_status(message, "streaming")
            return message
        if role == "user":
            # A dialect that streams both sides (SSE) announces the user's messages too.
            message = Message(self._next_id(), "user", "streaming", at, stream_id=stream_id)
            self._by_stream[stream_id] = message
            self._user_streams[message.id] = message
            self._add(message)
            return message
        # A new stream answers the oldest unanswered prompt; an earlier stream still open is over.
        previous = self.streaming
        if previous is not None:
            self._set_status(previous, "interrupted", "superseded by a new response")
        reply_to = self._unanswered.pop(0).id if self._unanswered else None
        message = Message(
            id=self._next_id(),
            role="assistant",
            status="streaming",
            created_at=at,
            stream_id=stream_id,
            reply_to=reply_to,
        )
        self._by_stream[stream_id] = message
        self._add_reply(message)
        return message

    def _append_text(self, message: Message, text: str) -> None:
        if not text:
            return
        blocks = message.blocks
        block = blocks[-1] if blocks else None
        if not isinstance(block, TextBlock):
            block = TextBlock()
            blocks.append(block)
            self._emit(BlockAdded(message, len(blocks) - 1))
        block.append(text)
        if message.role == "assistant":
            self.session.counts.text_deltas += 1
        if self._listeners:
            tell(self._listeners, TextAppended(message, len(blocks) - 1, text))

    def _folded(self, kind: str, why: str) -> None:
        if self.folded.fold(kind):
            self._notice("warning", f"{why} (counted in the session's folded {kind})")

    # -- export -------------------------------------------------------------------------------

    def transcript(self) -> dict[str, JsonValue]:
        """The conversation as the transcript JSON `record` writes (docs/transcript.md)."""
        return transcript_of(self).to_json()
