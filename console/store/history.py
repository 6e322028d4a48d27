"""History read back from a session's journal: pages of trace rows, context versions, earlier messages.

What a session keeps in memory is a window (console/window.py); the journal keeps the rest. These
readers are synchronous and meant for a worker thread (`console.readback` runs them there): they read
the backend's committed chunks through a `Reader` (pages newest first, or every chunk in order),
decode them, and rebuild what the UI asks for with the conversation's own reducer, so what comes back
is what the live session showed.

* Trace rows carry their trace index in the journal: a page of rows before an index is read from the
  newest trace chunk backwards, a few chunks per backend call; a received frame's row, which the trace
  chunk holds as its place, is rebuilt from the frame in the inputs that follow the chunk.
* Context versions are rebuilt by feeding the context events alone (snapshots, deltas, resets) to a
  conversation that keeps two versions per context: every version is numbered and its (time, seq) kept,
  the data of the asked-for versions only.
* Messages are rebuilt by replaying the inputs but the trace and the contexts' from the nearest mark
  (a point where nothing was in flight) before the page: message numbers and ids are given by the
  reducer in input order, so a replay from a mark, numbered as the mark says, gives the live
  session's. A journal without marks is replayed from its start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Final, Protocol

from console import events as ev
from console.frozen import frozen
from console.limits import Limits
from console.session import Change, ContextAdded, ContextEntry, Conversation, Message, Reset, TraceEntry
from console.store.backend import KIND_MARK, KIND_OTHER, KIND_SNAPSHOT, KIND_TRACE, Page, StoredRecord
from console.store.records import (
    Applied,
    Cleared,
    Damaged,
    FormatError,
    Marked,
    Place,
    Received,
    Record,
    Traced,
    decode,
)
from console.store.restore import Resumption, feed_all
from console.trace_kinds import as_kind
from console.window import EVERYTHING, Window


class Reader(Protocol):
    """What the readers need of a backend (`SQLiteReader`, `RedisBackend`)."""

    def page(self, session_id: str, kinds: frozenset[int], before: str | None, limit: int) -> Page: ...

    def page_after(self, session_id: str, kinds: frozenset[int], after: str | None, limit: int) -> Page: ...

    def records(self, session_id: str, after: int = -1) -> Iterator[StoredRecord]: ...


TRACE: Final = frozenset({KIND_TRACE})
INPUTS: Final = frozenset({KIND_OTHER})  # where a received frame is
CONVERSATION: Final = frozenset({KIND_OTHER, KIND_SNAPSHOT})
MARKS: Final = frozenset({KIND_MARK})
MESSAGE_INPUTS: Final = frozenset({KIND_OTHER, KIND_MARK})  # what a replay of messages reads
CHUNKS_PER_READ: Final = 64
_HUGE: Final = 1 << 40


@frozen
class TracePage:
    """Trace rows before an index, oldest first; `more`: older rows are stored still."""

    entries: tuple[TraceEntry, ...]
    more: bool
    damage: str = ""  # why the read stopped early (a damaged chunk)


@frozen
class VersionKey:
    """A context version as the live session knows it too: when it was applied and its frame's seq."""

    at: float
    seq: int | None


@frozen
class StoredVersions:
    """Every stored version of a context since its conversation's last reset, oldest first, and the
    data of the versions asked for (by their place in that list)."""

    keys: tuple[VersionKey, ...]
    entries: dict[int, ContextEntry]
    damage: str = ""


@frozen
class MessagesPage:
    """Messages before a message, oldest first, `first` the number of the first of them (a message's
    number is its place in the conversation since its last reset); `more`: earlier ones exist."""

    messages: tuple[Message, ...]
    first: int
    more: bool
    damage: str = ""


def newest_first(reader: Reader, session_id: str, kinds: frozenset[int]) -> Iterator[StoredRecord]:
    """A session's chunks of `kinds`, newest first, a page at a time."""
    before: str | None = None
    while True:
        page = reader.page(session_id, kinds, before, CHUNKS_PER_READ)
        yield from page.records
        if page.older is None:
            return
        before = page.older


def oldest_first(
    reader: Reader, session_id: str, kinds: frozenset[int], after: str | None
) -> Iterator[StoredRecord]:
    """A session's chunks of `kinds` after the bookmark `after` (None: all), oldest first, a page at a time."""
    while True:
        page = reader.page_after(session_id, kinds, after, CHUNKS_PER_READ)
        yield from page.records
        if page.older is None:
            return
        after = page.older


def trace_before(reader: Reader, session_id: str, before: int, limit: int) -> TracePage:
    """Up to `limit` trace rows with an index below `before`, the newest of them."""
    found: list[TraceEntry] = []  # newest first
    # Rows are journaled in order and numbered without gaps, so a chunk's numbers follow from the
    # newer chunk's and its row count: chunks wholly after `before` are passed over undecoded (a
    # deep page decodes a chunk or two, not every newer one). Checked at each chunk decoded.
    last: int | None = None  # the number of the last row of the next (older) chunk
    for record in newest_first(reader, session_id, TRACE):
        if last is not None and last - record.count + 1 >= before:
            last -= record.count
            continue
        try:
            rows = [r for r in decode(record.data, record.crc) if isinstance(r, Traced | Place)]
        except (Damaged, FormatError) as exc:
            return TracePage(tuple(reversed(found)), False, f"trace chunk {record.n} is damaged ({exc})")
        contiguous = bool(rows) and (last is None or rows[-1].index == last)
        last = rows[0].index - 1 if contiguous else None
        placed = _placed_rows(reader, session_id, record.bookmark, rows, before)
        for item in reversed(rows):
            if item.index < before:
                if len(found) == limit:
                    return TracePage(tuple(reversed(found)), True)
                row = placed.get(item.index) if isinstance(item, Place) else item
                if row is not None:  # None: a frame never committed (the console stopped in between)
                    found.append(_entry(row))
    return TracePage(tuple(reversed(found)), False)


def _placed_rows(
    reader: Reader, session_id: str, after: str | None, rows: list[Traced | Place], before: int
) -> dict[int, Traced]:
    """The rows of the frames placed among `rows` (below `before`), rebuilt from their frames: in
    the inputs just after the trace chunk (`after`), or a round later. Frames come in the order of
    their places, so the read stops at the first frame past the last place wanted."""
    wanted = {row.index for row in rows if isinstance(row, Place) and row.index < before}
    found: dict[int, Traced] = {}
    if not wanted:
        return found
    last = max(wanted)
    for record in oldest_first(reader, session_id, INPUTS, after):
        try:
            items = decode(record.data, record.crc)
        except (Damaged, FormatError):
            return found
        for item in items:
            if isinstance(item, Received):
                if item.index in wanted:
                    try:
                        found[item.index] = item.parts()[1]
                    except Damaged:
                        return found
                if item.index >= last:
                    return found
    return found


def _entry(row: Traced) -> TraceEntry:
    return TraceEntry(
        row.index,
        row.at,
        row.direction,
        as_kind(row.kind),
        row.summary,
        row.seq,
        row.raw,
        row.stream_id,
        row.ref,
    )


def in_order(reader: Reader, session_id: str, kinds: frozenset[int]) -> Iterator[list[Record]]:
    """The decoded chunks of `kinds` in journal order (what a replay needs), one at a time; raises
    `Damaged` at the first chunk that does not decode."""
    for record in reader.records(session_id):
        if record.kind in kinds:
            try:
                yield decode(record.data, record.crc)
            except FormatError as exc:
                raise Damaged(f"chunk {record.n}: {exc}") from None
            except Damaged as exc:
                raise Damaged(f"chunk {record.n} is damaged ({exc})") from None


def context_versions(
    reader: Reader, session_id: str, context_id: str, wanted: frozenset[int]
) -> StoredVersions:
    """The stored versions of `context_id`, with the data of those numbered in `wanted`."""
    keys: list[VersionKey] = []
    entries: dict[int, ContextEntry] = {}
    conversation = Conversation(
        trace_limit=1, limits=Limits(contexts=_HUGE, window=Window(context_versions=2, snapshot_bytes=_HUGE))
    )

    def on_change(change: Change) -> None:
        if isinstance(change, ContextAdded) and change.context_id == context_id:
            entry = conversation.contexts[context_id][change.index]
            if len(keys) in wanted:
                entries[len(keys)] = entry
            keys.append(VersionKey(entry.at, entry.seq))
        elif isinstance(change, Reset):
            keys.clear()
            entries.clear()

    conversation.subscribe(on_change, deltas=False)
    try:
        for items in in_order(reader, session_id, CONVERSATION):
            feed_all(conversation, [item for item in items if _about_contexts(item)], Resumption())
    except Damaged as exc:
        return StoredVersions(tuple(keys), entries, str(exc))
    return StoredVersions(tuple(keys), entries)


def _about_contexts(record: Record) -> bool:
    return isinstance(record, Cleared) or _context_event(record)


def _context_event(record: Record) -> bool:
    if isinstance(record, Received):  # a frame as it came says whether it is a snapshot, undecoded
        return record.context
    return isinstance(record, Applied) and type(record.event) in (ev.ContextSnapshot, ev.ContextDelta)


def messages_before(reader: Reader, session_id: str, before: int | None, limit: int) -> MessagesPage:
    """Up to `limit` messages numbered below `before` (None: the newest), rebuilt by a replay of the
    inputs (but the contexts') from the nearest mark before them (`Marked`: a point where nothing was
    in flight), so what is read goes with the page, not with the journal's length. The reducer
    numbers messages as the live conversation did: the same inputs, in the same order, from a
    conversation at the mark's numbering. A journal without a mark early enough (written before
    marks were, or a replay that does not meet its next mark as the live conversation did) is
    replayed from its start."""
    if before is None:
        newest = _newest_mark(reader, session_id)
        page = None if newest is None else _from_mark(reader, session_id, newest, None, limit)
        if page is None:
            return _from_start(reader, session_id, None, limit)
        if page.first > 0 and len(page.messages) < limit:  # the page begins before the newest mark
            return messages_before(reader, session_id, page.first + len(page.messages), limit)
        return page
    mark = _mark_at_or_before(reader, session_id, max(0, before - limit))
    page = None if mark is None else _from_mark(reader, session_id, mark, before, limit)
    return _from_start(reader, session_id, before, limit) if page is None else page


@frozen
class _Mark:
    marked: Marked
    bookmark: str | None  # None: the journal's start


# The journal's start is at rest too: no message, no id given.
_START: Final = _Mark(Marked(0, 0, 0), None)


def _marks(reader: Reader, session_id: str) -> Iterator[_Mark]:
    """The session's marks, newest first; stops at a damaged one."""
    for record in newest_first(reader, session_id, MARKS):
        try:
            items = decode(record.data, record.crc)
        except (Damaged, FormatError):
            return
        for item in reversed(items):  # a chunk of marks holds those of one chunk of inputs, in order
            if isinstance(item, Marked):
                yield _Mark(item, record.bookmark)


def _mark_at_or_before(reader: Reader, session_id: str, start: int) -> _Mark | None:
    """The newest mark with at most `start` messages before it. Marks after a reset count from 0 again
    and a reset is always marked (at 0), so the first one met newest first is of the current count.
    Past the oldest mark, the journal's start (a reset before the first mark, in a journal written
    before marks were, is replayed on the way to that mark); None for a journal without marks."""
    found = None
    for mark in _marks(reader, session_id):
        if mark.marked.base <= start:
            return mark
        found = _START
    return found


def _newest_mark(reader: Reader, session_id: str) -> _Mark | None:
    return next(_marks(reader, session_id), None)


def _from_mark(
    reader: Reader, session_id: str, mark: _Mark, before: int | None, limit: int
) -> MessagesPage | None:
    """The page, replayed from `mark`; None if the replay disagrees with a later mark (an input that
    reached back before the mark: a late delta for a reply already over)."""
    conversation = _replaying()
    conversation.give_ids_from(mark.marked.ids)
    base = mark.marked.base
    settled = False
    damage = ""
    start = mark.marked.at  # where the replay starts in the first chunk of inputs after the mark
    marks: list[Marked] = []  # marks met on the way, to be checked where they fall in the next chunk

    def feed(items: list[Record]) -> None:
        nonlocal settled
        feed_all(conversation, [item for item in items if not _context_event(item)], Resumption())
        settled = settled or (before is not None and _settled(conversation.messages, before - base, limit))

    # On past the page to the next mark, which the replay must agree with (then the page is right).
    for record in oldest_first(reader, session_id, MESSAGE_INPUTS, mark.bookmark):
        try:
            items = decode(record.data, record.crc)
        except (Damaged, FormatError) as exc:
            damage = f"chunk {record.n} is damaged ({exc})"
            break
        if record.kind == KIND_MARK:
            marks += (item for item in items if isinstance(item, Marked))
            continue
        done, start = start, 0
        for marked in marks:
            feed(items[done : max(done, marked.at)])
            done = max(done, marked.at)
            if (marked.base, marked.ids) != (base + len(conversation.messages), conversation.ids_given):
                return None
            if settled:
                break
        else:
            marks = []
            feed(items[done:])
            continue
        break
    messages = conversation.messages
    total = base + len(messages)
    end = total if before is None else max(base, min(before, total))
    first = max(base, end - limit)
    return MessagesPage(tuple(messages[first - base : end - base]), first, first > 0, damage)


def _replaying() -> Conversation:
    return Conversation(trace_limit=1, limits=Limits(window=replace(EVERYTHING, trace_rows=1)))


def _from_start(reader: Reader, session_id: str, before: int | None, limit: int) -> MessagesPage:
    """`messages_before` by a replay from the journal's start (a journal without marks).

    The replay stops once the page's messages are settled (none still streaming or queued, and a
    later message begun) and no reset comes after (a reset starts the numbering again): a page of
    the oldest messages reads the start of the journal only. Chunks are searched for a reset as
    bytes first, and only a chunk that holds one is decoded for it."""
    conversation = _replaying()
    records = [r for r in reader.records(session_id) if r.kind == KIND_OTHER]
    last_reset = max((i for i, r in enumerate(records) if _resets(r)), default=-1)
    damage = ""
    for i, record in enumerate(records):
        try:
            items = decode(record.data, record.crc)
        except (Damaged, FormatError) as exc:
            damage = f"chunk {record.n} is damaged ({exc})"
            break
        feed_all(conversation, [item for item in items if not _context_event(item)], Resumption())
        if before is not None and i > last_reset and _settled(conversation.messages, before, limit):
            break
    messages = conversation.messages
    end = len(messages) if before is None else max(0, min(before, len(messages)))
    start = max(0, end - limit)
    return MessagesPage(tuple(messages[start:end]), start, start > 0, damage)


def _resets(record: StoredRecord) -> bool:
    if b'["reset"]' not in record.data:  # how a reset is written (console/store/records.py)
        return False
    try:
        return any(isinstance(item, Cleared) for item in decode(record.data, record.crc))
    except (Damaged, FormatError):
        return False


def _settled(messages: list[Message], before: int, limit: int) -> bool:
    """Whether messages `before - limit` .. `before` are as they will stay."""
    if len(messages) <= before:
        return False
    return all(m.status not in ("streaming", "queued") for m in messages[max(0, before - limit) : before])
