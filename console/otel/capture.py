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
DIFF_LIMIT = 2_000_000  # bytes of a snapshot above which it is not compared (size only)
DIFF_PATHS = 5  # changed paths named in a diff summary


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
    """Size and changes of a snapshot against the previous one. Pure Python diffing: run it off the loop."""
    entry, previous = pair.entry, pair.previous
    if previous is None:
        return Snapshot(entry.at, pair.context_id, entry.size, None, "first snapshot")
    if len(entry.encoded) > DIFF_LIMIT or len(previous.encoded) > DIFF_LIMIT:
        return Snapshot(entry.at, pair.context_id, entry.size, None, "too large to compare")
    changes = jdiff.diff(previous.data, entry.data)
    if not changes:
        return Snapshot(entry.at, pair.context_id, entry.size, 0, "unchanged")
    named = ", ".join(f"{c.op} {_path(c.path)}" for c in changes[:DIFF_PATHS])
    more = f" and {len(changes) - DIFF_PATHS} more" if len(changes) > DIFF_PATHS else ""
    return Snapshot(entry.at, pair.context_id, entry.size, len(changes), named + more)


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
        if from_start:
            past = whole(conversation)
            finished = [r for r in past.replies if r.status in OUTCOMES]
            self._batch.replies.extend(finished)
            self._batch.snapshots.extend(past.snapshots)
            self._captured.update(r.message_id for r in finished)
        self._unsubscribe = conversation.subscribe(self._on_change, deltas=False)

    def close(self) -> None:
        self._unsubscribe()

    def _on_change(self, change: Change) -> None:
        if isinstance(change, MessageStatusChanged):
            message = change.message
            if (
                message.role == "assistant"
                and message.status in OUTCOMES
                and message.id not in self._captured
            ):
                self._captured.add(message.id)
                trace = self.conversation.trace
                end = trace[len(trace) - 1].at if len(trace) else message.created_at
                self._batch.replies.append(reply_of(self.conversation, message, end))
        elif isinstance(change, ContextAdded):
            pair = _pair(self.conversation, change.context_id, change.index)
            if pair is not None:
                self._batch.snapshots.append(pair)

    def take(self) -> Batch:
        """Replies finished, incidents and snapshots since the last call."""
        batch, self._batch = self._batch, Batch()
        trace = self.conversation.trace
        start = max(0, self._cursor - trace.dropped)
        batch.incidents.extend(i for i in map(incident_of, trace[start:]) if i is not None)
        self._cursor = trace.dropped + len(trace)
        return batch

    def open_since(self) -> float | None:
        """When the reply still in progress began (its prompt), if one is: its incidents wait for it."""
        conversation = self.conversation
        if not conversation.awaiting_reply:
            return None
        streaming = conversation.streaming
        for message in reversed(conversation.messages):
            if message.role == "user" and (streaming is None or message.id == streaming.reply_to):
                return message.created_at
            if message is streaming and streaming.reply_to is None:
                return streaming.created_at
        return streaming.created_at if streaming is not None else None


# -- all at once ------------------------------------------------------------------------------------


def whole(conversation: Conversation) -> Batch:
    """Every reply, incident and snapshot the conversation still holds (a reply streaming now is
    included as it stands)."""
    last_at: dict[str, float] = {}
    stalled: dict[str, float] = {}
    batch = Batch()
    for entry in conversation.trace:
        if entry.stream_id is not None:
            last_at[entry.stream_id] = entry.at
        if entry.kind == "STALLED" and entry.ref is not None:
            stalled[entry.ref] = entry.at
        incident = incident_of(entry)
        if incident is not None:
            batch.incidents.append(incident)
    for message in conversation.messages:
        if message.role != "assistant":
            continue
        end = stalled.get(message.id) or (last_at.get(message.stream_id) if message.stream_id else None)
        ends = [end or message.created_at]
        ends.extend(p.result_at or p.called_at for p in message.blocks if isinstance(p, ToolBlock))
        batch.replies.append(reply_of(conversation, message, max(ends)))
    for context_id, history in conversation.contexts.items():
        for index in range(len(history)):
            pair = _pair(conversation, context_id, index)
            if pair is not None:
                batch.snapshots.append(pair)
    return batch
