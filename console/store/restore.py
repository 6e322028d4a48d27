"""Sessions rebuilt from their journals: the same reducer, fed the same inputs in the same order.

`replay` feeds decoded records to a conversation's own methods (`apply`, `add_user_message`,
`record`, ...), so what comes back is what the reducer made the first time. It stops at the first
damaged record: the good prefix is kept and the damage reported. `Resumption` is what the replay
learned about the link: the last seq applied (what RESUME carries) and whether a reply was open.

Trace rows are recorded in the order the trace numbered them (`RowOrder`), though a received
frame's row comes with the frame, among the inputs, after the trace chunk that holds its place.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from console.session import Conversation
from console.store.backend import StoredRecord
from console.store.records import (
    Applied,
    Cleared,
    Damaged,
    FormatError,
    Interrupted,
    Marked,
    Noticed,
    Place,
    Received,
    Record,
    Retried,
    Sent,
    StreamInterrupted,
    Traced,
    UserSent,
    decode,
)
from console.trace_kinds import as_kind


@dataclass(slots=True)
class RowOrder:
    """Trace rows recorded in the trace's order, whichever chunk brings them.

    A round's trace chunk is written before its inputs, so a frame's place (`Place`) is met
    before the frame (`Received`), in the same round or the next (the place is journaled first). The
    rows after an open place wait for it: at most a round or two of rows. A frame whose place is
    not waiting had its row let go (trace compaction): its event is applied, no row is recorded."""

    waiting: deque[Traced | int] = field(default_factory=deque)
    places: set[int] = field(default_factory=set)
    frames: dict[int, Traced] = field(default_factory=dict)

    def row(self, conversation: Conversation, row: Traced) -> None:
        if self.waiting:
            self.waiting.append(row)
        else:
            _record(conversation, row)

    def place(self, index: int) -> None:
        self.waiting.append(index)
        self.places.add(index)

    def frame(self, conversation: Conversation, row: Traced) -> None:
        if row.index in self.places:
            self.frames[row.index] = row
            self._drain(conversation)

    def settle(self, conversation: Conversation) -> None:
        """The journal's end: a place whose frame was never committed (the console stopped between
        the two) is passed over, and the rows after it are recorded."""
        while not self._drain(conversation):
            head = self.waiting.popleft()  # a place whose frame never came
            if isinstance(head, int):
                self.places.discard(head)
        self.frames.clear()

    def _drain(self, conversation: Conversation) -> bool:
        """Records the rows now in order; False if an open place is next."""
        waiting = self.waiting
        while waiting:
            head = waiting[0]
            if isinstance(head, int):
                row = self.frames.pop(head, None)
                if row is None:
                    return False
                self.places.discard(head)
            else:
                row = head
            waiting.popleft()
            _record(conversation, row)
        return True


def _record(conversation: Conversation, row: Traced) -> None:
    trace = conversation.trace
    if (ahead := row.index - len(trace) - trace.dropped) > 0:
        # Numbered as when it was recorded (a compacted journal starts later; a received frame was
        # never committed): the rows of the restored trace and those read back are numbered alike.
        trace.dropped += ahead
    conversation.record(
        row.at,
        row.direction,
        as_kind(row.kind),
        row.summary,
        seq=row.seq,
        raw=row.raw,
        stream_id=row.stream_id,
        ref=row.ref,
    )


@dataclass(slots=True)
class Resumption:
    """Where the journaled session stood when the console stopped."""

    last_seq: int = 0  # the seq of the last frame applied (in the numbering of the current reply)
    new_epoch: bool = False  # a prompt went out after it: its reply's numbering has not begun
    records: int = 0
    last_n: int = -1  # the last good record's place in the journal
    damage: str = ""  # why the replay stopped early, if it did
    last_at: float = 0.0
    rows: RowOrder = field(default_factory=RowOrder)


def replay(conversation: Conversation, stored: Iterable[StoredRecord]) -> Resumption:
    """Feed the journal to the conversation (whose `journal` tap must be off); stops at damage."""
    found = Resumption()
    conversation.history_kept = True  # what its memory window lets go is in the journal
    try:
        for item in stored:
            try:
                records = decode(item.data, item.crc)
            except (Damaged, FormatError) as exc:
                found.damage = f"chunk {item.n} is damaged ({exc})"
                break
            feed_all(conversation, records, found)
            found.last_n = item.n
    except Exception as exc:  # the engine under the journal failed while reading (a truncated file)
        found.damage = f"the journal could not be read past chunk {found.last_n}: {exc}"
    found.rows.settle(conversation)
    return found


def feed_all(conversation: Conversation, records: list[Record], found: Resumption) -> None:
    for record in records:
        feed(conversation, record, found)
    found.records += len(records)


def feed(conversation: Conversation, record: Record, found: Resumption) -> None:
    """One record into the conversation, through the method that took it in the first time."""
    match record:
        case Applied():
            _apply(conversation, record, found)
        case Received():
            applied, row = record.parts()
            if applied is not None:
                _apply(conversation, applied, found)
            found.rows.frame(conversation, row)
        case Traced():
            found.rows.row(conversation, record)
            found.last_at = record.at
        case Place(index=index):
            found.rows.place(index)
        case UserSent(text=text, at=at, queued=queued):
            conversation.add_user_message(text, at, queued=queued)
            if not queued:
                found.new_epoch = True
            found.last_at = at
        case Sent(message_id=message_id):
            if (message := conversation.message(message_id)) is not None:
                conversation.mark_sent(message)
                found.new_epoch = True
        case Retried(message_id=message_id):
            if (message := conversation.message(message_id)) is not None:
                conversation.mark_retried(message)
        case StreamInterrupted(stream_id=stream_id, reason=reason):
            conversation.interrupt_stream(stream_id, reason)
        case Interrupted(reason=reason, at=at):
            conversation.mark_interrupted(reason, at)
        case Noticed(level=level, text=text):
            conversation.notice(level, text)
        case Cleared():
            conversation.reset()
        case Marked():
            pass  # a point at rest: for readers of messages, nothing to replay


def _apply(conversation: Conversation, applied: Applied, found: Resumption) -> None:
    conversation.apply(applied.event, applied.at, applied.seq)
    if applied.seq is not None:
        found.last_seq = applied.seq
        found.new_epoch = False
    found.last_at = applied.at
