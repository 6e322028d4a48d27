"""Records from a conversation: live, as a subscriber that costs nothing per token, or all at once.

Live (`LiveCapture`): the capture listens to the conversation's coarse changes (no trace rows, no text
deltas: `subscribe(deltas=False)`), so a streaming reply costs it nothing until the reply reaches its
outcome; then its text and tool calls are copied once. Incidents are read from the trace rows in a
batch, on the exporter's tick, from where the last batch stopped: every row is looked at once, away
from the frame that brought it.

Whole (`whole`): the same records from a conversation as it stands, for a download.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from console import diff as jdiff
from console import jsonvalue
from console.jsonvalue import JsonValue
from console.otel.conventions import INCIDENT_KINDS
from console.otel.records import Incident, Part, Reply, Snapshot, TextPart, ToolPart
from console.session import (
    Change,
    ContextAdded,
    ContextEntry,
    Conversation,
    Message,
    MessageStatusChanged,
    TextBlock,
    ToolBlock,
    TraceEntry,
)

OUTCOMES = frozenset({"done", "interrupted", "error"})
DIFF_LIMIT = 64 * 1024  # bytes of a snapshot up to which it gets a structural diff
SHALLOW_LIMIT = 8_000_000  # bytes above which it is not compared at all (size only)
DIFF_PATHS = 5  # changed paths named in a diff summary
LATE_GRACE = 10.0  # seconds an interrupted reply may still stream again before it is exported as is
ROWS_PER_TAKE = 2_000  # trace rows read per session per take: ~3 ms


@dataclass(frozen=True, slots=True)
class SnapshotPair:
    """A snapshot to summarize, and the one before it in its context (compared off the loop)."""

    context_id: str
    previous: ContextEntry | None
    entry: ContextEntry


@dataclass(slots=True)
class Batch:
    replies: list[Reply] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    snapshots: list[SnapshotPair] = field(default_factory=list)


# -- replies ----------------------------------------------------------------------------------------


def reply_of(conversation: Conversation, message: Message, end: float) -> Reply:
    """An agent message as it stands, with the prompt it answered."""
    prompt = conversation.message(message.reply_to) if message.reply_to else None
    parts: list[Part] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            if block.length:
                parts.append(TextPart(block.text))
        elif isinstance(block, ToolBlock):
            parts.append(
                ToolPart(
                    block.call_id,
                    block.tool_name,
                    dict(block.args),
                    block.called_at,
                    dict(block.result) if block.result is not None else None,
                    block.result_at,
                )
            )
    start = prompt.created_at if prompt is not None else message.created_at
    return Reply(
        message_id=message.id,
        prompt=prompt.text if prompt is not None else None,
        start=min(start, message.created_at),
        first_at=message.created_at,
        end=max(end, message.created_at),
        status=message.status,
        note=message.note,
        parts=tuple(parts),
    )


def incident_of(entry: TraceEntry) -> Incident | None:
    if entry.kind not in INCIDENT_KINDS:
        return None
    return Incident(entry.at, entry.kind, entry.summary, entry.seq)


# -- context snapshots ------------------------------------------------------------------------------


def summarize(pair: SnapshotPair) -> Snapshot:
    """Size and changes of a snapshot against the previous one. Small snapshots get the structural
    diff (pure Python, as the inspector's); larger ones a comparison of their top-level members only
    (their encoding compared in C): a structural diff of every half-megabyte snapshot of a hundred
    sessions would cost more than the streams themselves. Run it off the loop."""
    entry, previous = pair.entry, pair.previous
    if previous is None:
        return Snapshot(entry.at, pair.context_id, entry.size, None, "first snapshot")
    biggest = max(len(entry.encoded), len(previous.encoded))
    if biggest > SHALLOW_LIMIT:
        return Snapshot(entry.at, pair.context_id, entry.size, None, "too large to compare")
    if entry.encoded == previous.encoded:
        return Snapshot(entry.at, pair.context_id, entry.size, 0, "unchanged")
    if biggest > DIFF_LIMIT:
        changes = _shallow(previous.data, entry.data)
        scope = "top level: "
    else:
        changes = [(c.op, _path(c.path)) for c in jdiff.diff(previous.data, entry.data)]
        scope = ""
    named = ", ".join(f"{op} {path}" for op, path in changes[:DIFF_PATHS])
    more = f" and {len(changes) - DIFF_PATHS} more" if len(changes) > DIFF_PATHS else ""
    return Snapshot(entry.at, pair.context_id, entry.size, len(changes), scope + named + more)


def _shallow(old: JsonValue, new: JsonValue) -> list[tuple[str, str]]:
    """Changes of the top-level members (object keys, array items) only."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = [("remove", f"/{k}") for k in old if k not in new]
        for key, value in new.items():
            if key not in old:
                out.append(("add", f"/{key}"))
            elif jsonvalue.dumps_bytes(old[key]) != jsonvalue.dumps_bytes(value):
                out.append(("change", f"/{key}"))
        return out
    if isinstance(old, list) and isinstance(new, list):
        common = min(len(old), len(new))
        out = [
            ("change", f"/{i}")
            for i in range(common)
            if jsonvalue.dumps_bytes(old[i]) != jsonvalue.dumps_bytes(new[i])
        ]
        out.extend(("add", f"/{i}") for i in range(common, len(new)))
        out.extend(("remove", f"/{i}") for i in range(common, len(old)))
        return out
    return [("replace", "/")]


def summarize_all(pairs: Iterable[SnapshotPair]) -> list[Snapshot]:
    return [summarize(pair) for pair in pairs]


def _path(path: tuple[str | int, ...]) -> str:
    return "/" + "/".join(str(step) for step in path)


def _pair(conversation: Conversation, context_id: str, index: int) -> SnapshotPair | None:
    history = conversation.contexts.get(context_id)
    if history is None or not 0 <= index < len(history):
        return None
    return SnapshotPair(context_id, history[index - 1] if index > 0 else None, history[index])


# -- live -----------------------------------------------------------------------------------------


class LiveCapture:
    """What one session did since the last `take()`."""

    def __init__(self, conversation: Conversation, *, from_start: bool = True) -> None:
        """`from_start`: what the session already did is captured too (a session seen for the first
        time); else the capture starts now (export switched on again: the past was sent already)."""
        self.conversation = conversation
        self._batch = Batch()
        self._captured: set[str] = set()
        trace = conversation.trace
        self._cursor = trace.dropped if from_start else trace.dropped + len(trace)
        # Replies over before the capture began wait for the scan of the trace to pass their end.
        self._history: list[Message] = []
        self._history_until = trace.dropped + len(trace)
        self._last_at: dict[str, float] = {}
        self._stalled: dict[str, float] = {}
        self._provisional: dict[str, tuple[Message, float]] = {}  # interrupted: id -> (message, since)
        if from_start:
            self._history = [
                m for m in conversation.messages if m.role == "assistant" and m.status in OUTCOMES
            ]
            self._captured.update(m.id for m in self._history)
            for context_id, history in conversation.contexts.items():
                pairs = (_pair(conversation, context_id, i) for i in range(len(history)))
                self._batch.snapshots.extend(p for p in pairs if p is not None)
        self._unsubscribe = conversation.subscribe(self._on_change, deltas=False)

    def close(self) -> None:
        self._unsubscribe()

    def _on_change(self, change: Change) -> None:
        if isinstance(change, MessageStatusChanged):
            message = change.message
            if message.role != "assistant" or message.id in self._captured:
                return
            if message.status == "done":
                self._provisional.pop(message.id, None)
                self._capture(message, self._now())
            elif message.status in OUTCOMES:
                # Maybe only late: a reply interrupted by a stall streams again if its data comes.
                self._provisional[message.id] = (message, self._now())
            else:
                self._provisional.pop(message.id, None)
        elif isinstance(change, ContextAdded):
            pair = _pair(self.conversation, change.context_id, change.index)
            if pair is not None:
                self._batch.snapshots.append(pair)

    def _now(self) -> float:
        """The session's latest time: its last trace row (the row that ended the reply, if one did)."""
        trace = self.conversation.trace
        return trace[len(trace) - 1].at if len(trace) else 0.0

    def _capture(self, message: Message, end: float) -> None:
        self._captured.add(message.id)
        self._batch.replies.append(reply_of(self.conversation, message, max(end, message.created_at)))

    def settle(self, *, all_now: bool = False) -> None:
        """Replies interrupted for `LATE_GRACE` (or all, when the session goes) are over for good."""
        now = self._now()
        for message_id, (message, since) in list(self._provisional.items()):
            if all_now or now - since >= LATE_GRACE:
                del self._provisional[message_id]
                self._capture(message, since)

    def take(self) -> Batch:
        """Replies finished, incidents and snapshots since the last call. Reads at most
        `ROWS_PER_TAKE` trace rows (a few ms): a long history is read over several takes."""
        batch, self._batch = self._batch, Batch()
        trace = self.conversation.trace
        start = max(0, self._cursor - trace.dropped)
        stop = min(len(trace), start + ROWS_PER_TAKE)
        in_history = bool(self._history)
        for entry in trace[start:stop]:
            if in_history:
                _ends(entry, self._last_at, self._stalled)
            incident = incident_of(entry)
            if incident is not None:
                batch.incidents.append(incident)
                if entry.kind == "STALLED" and entry.ref in self._provisional:
                    # The row the engine writes right after marking the reply: its true end.
                    message, _ = self._provisional[entry.ref]
                    self._provisional[entry.ref] = (message, entry.at)
        self._cursor = trace.dropped + stop
        self.settle()
        batch.replies.extend(self._batch.replies)
        self._batch.replies.clear()
        if in_history and self._cursor >= self._history_until:
            batch.replies.extend(
                reply_of(self.conversation, m, _end(m, self._last_at, self._stalled)) for m in self._history
            )
            self._history, self._last_at, self._stalled = [], {}, {}
        return batch

    def open_since(self) -> float | None:
        """When the earliest reply not yet captured began (its prompt): incidents after that wait
        for it. A reply in progress, or one interrupted that may still stream again."""
        starts = [self._start_of(message) for message, _ in self._provisional.values()]
        conversation = self.conversation
        if conversation.awaiting_reply:
            streaming = conversation.streaming
            if streaming is not None:
                starts.append(self._start_of(streaming))
            else:  # the prompt is sent, the reply has not begun
                prompt = next((m for m in reversed(conversation.messages) if m.role == "user"), None)
                if prompt is not None:
                    starts.append(prompt.created_at)
        return min(starts) if starts else None

    def _start_of(self, message: Message) -> float:
        prompt = self.conversation.message(message.reply_to) if message.reply_to else None
        return min(prompt.created_at, message.created_at) if prompt is not None else message.created_at


# -- all at once ------------------------------------------------------------------------------------


def whole(conversation: Conversation) -> Batch:
    """Every reply, incident and snapshot the conversation still holds (a reply streaming now is
    included as it stands)."""
    last_at: dict[str, float] = {}
    stalled: dict[str, float] = {}
    batch = Batch()
    for entry in conversation.trace:
        _ends(entry, last_at, stalled)
        incident = incident_of(entry)
        if incident is not None:
            batch.incidents.append(incident)
    batch.replies.extend(
        reply_of(conversation, m, _end(m, last_at, stalled))
        for m in conversation.messages
        if m.role == "assistant"
    )
    for context_id, history in conversation.contexts.items():
        pairs = (_pair(conversation, context_id, i) for i in range(len(history)))
        batch.snapshots.extend(p for p in pairs if p is not None)
    return batch


def _ends(entry: TraceEntry, last_at: dict[str, float], stalled: dict[str, float]) -> None:
    """Note when each stream was last heard of, and which replies stalled when."""
    if entry.stream_id is not None:
        last_at[entry.stream_id] = entry.at
    if entry.kind == "STALLED" and entry.ref is not None:
        stalled[entry.ref] = entry.at


def _end(message: Message, last_at: dict[str, float], stalled: dict[str, float]) -> float:
    """When a reply reached its outcome, from the trace: its stall, else the last row of its stream."""
    end = stalled.get(message.id) or (last_at.get(message.stream_id) if message.stream_id else None)
    ends = [end or message.created_at]
    ends.extend(b.result_at or b.called_at for b in message.blocks if isinstance(b, ToolBlock))
    return max(ends)
