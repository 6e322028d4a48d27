"""Sessions rebuilt from their journals: the same reducer, fed the same inputs in the same order.

`replay` feeds decoded records to a conversation's own methods (`apply`, `add_user_message`,
`record`, ...), so what comes back is what the reducer made the first time. It stops at the first
damaged record: the good prefix is kept and the damage reported. `Resumption` is what the replay
learned about the link: the last seq applied (what RESUME carries) and whether a reply was open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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
class Resumption:
    """Where the journaled session stood when the console stopped."""

    last_seq: int = 0  # the seq of the last frame applied (in the numbering of the current reply)
    new_epoch: bool = False  # a prompt went out after it: its reply's numbering has not begun
    records: int = 0
    last_n: int = -1  # the last good record's place in the journal
    damage: str = ""  # why the replay stopped early, if it did
    last_at: float = 0.0


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
    return found


def feed_all(conversation: Conversation, records: list[Record], found: Resumption) -> None:
    for record in records:
        feed(conversation, record, found)
    found.records += len(records)


def feed(conversation: Conversation, record: Record, found: Resumption) -> None:
    """One record into the conversation, through the method that took it in the first time."""
    match record:
        case Applied(event=event, at=at, seq=seq):
            conversation.apply(event, at, seq)
            if seq is not None:
                found.last_seq = seq
                found.new_epoch = False
            found.last_at = at
        case Traced():
            trace = conversation.trace
            if record.index > 0 and not len(trace) and not trace.dropped:
                # Numbered as when it was recorded (a compacted journal starts later): the rows of the
                # restored trace and those read back from the journal are numbered alike.
                trace.dropped = record.index
            conversation.record(
                record.at,
                record.direction,
                as_kind(record.kind),
                record.summary,
                seq=record.seq,
                raw=record.raw,
                stream_id=record.stream_id,
                ref=record.ref,
            )
            found.last_at = record.at
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
