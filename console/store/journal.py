"""The session journal: every input of every journaled conversation, written off the event loop.

Theory of operation
-------------------
Attaching a session gives its conversation's `journal` and `journal_trace` taps to a `Blocks` of its
own, and its `journal_rest` hook to the marks (`_marker`): the inputs and trace rows are encoded where they arrive, in a block at the start of each garbage
collection (one orjson call, in C; `console/store/blocks.py` says why there and not on the writer). A
writer thread wakes every `flush_interval` (sooner when the user sent something), encodes what is not
yet in a block, joins each session's blocks into chunks and commits them to the backend as one batch.

Durability policy: what was committed survives the console being killed; a SIGKILL loses at most
the inputs of the last round plus the commit in progress. A round lasts `flush_interval` (50 ms by
default), longer when many sessions were written in the last one (`ROUND_PER_SESSION`): a commit
writes, besides the data, the index pages it touches, about two per session in it (each session's
newest entries have pages of their own), so rounds of 50 ms for 300 streaming sessions wrote a
hundred times the bytes they stored. At 16 sessions or fewer a round is 50 ms; at 300, 0.9 s; never
more than `LONGEST_ROUND`. A prompt the user sends wakes the writer at once. SIGTERM and a normal
stop lose nothing: `close()` drains and commits everything before the process ends.

Retention: removing a session deletes its journal in the same batch order as its last records; the
trace rows past `trace_keep` per session are let go (compaction, every `compact_every` trace rows of
a session), as the in-memory trace lets them go; so are a session's oldest large context snapshots
(`SNAPSHOT_APART`) once they take more than `snapshot_bytes` (down to half of that, so compaction
runs seldom): context snapshots are nearly all of a long session's bytes (96% in a chaos demo).
Large snapshots go in chunks of their own for that, cut where they stand among the other inputs, so
replay keeps the order exactly.
Sessions not written for `max_age` are removed when the store opens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from console.session import Conversation
from console.store.backend import KIND_SNAPSHOT, KIND_TRACE, Backend, Batch, SessionInfo
from console.store.blocks import Blocks, Sealer, joined
from console.store.packing import checksum, packed

log = logging.getLogger(__name__)

FLUSH_INTERVAL: Final = 0.05  # seconds: the most a SIGKILL can lose, with up to 16 sessions writing
ROUND_PER_SESSION: Final = 0.003  # seconds a round lasts per session written in the last one
LONGEST_ROUND: Final = 1.0
# Messages between two marks, at most (and the next point at rest): a page of messages read back
# replays up to this many before it and after it. A mark costs a block sealed early and a row of its own.
MARK_EVERY: Final = 16


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    trace_keep: int = 50_000  # trace rows kept per session (as in memory)
    compact_every: int = 20_000  # trace rows of a session between two compactions
    snapshot_bytes: int = 64 * 1024 * 1024  # stored context snapshots per session, before compaction
    max_age: float = 30 * 86_400.0  # seconds without a write before a session is removed


class _Journaled:
    __slots__ = ("blocks", "conversation", "mark", "next_n", "since_compact", "snapshot_bytes")

    def __init__(self, conversation: Conversation, next_n: int) -> None:
        self.conversation = conversation
        self.blocks = Blocks()
        self.next_n = next_n  # touched by the writer thread only
        self.since_compact = 0
        self.mark = (-MARK_EVERY, -1)  # the last mark's (base, ids)
        # Snapshot bytes written since the console started (a restored session's older ones are not
        # counted: at most one cap more is kept until its first compaction).
        self.snapshot_bytes = 0


class Journal:
    def __init__(
        self,
        backend: Backend,
        *,
        flush_interval: float = FLUSH_INTERVAL,
        retention: RetentionPolicy | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.backend = backend
        self.flush_interval = flush_interval
        self.retention = retention or RetentionPolicy()
        self._on_error = on_error
        self._sessions: dict[str, _Journaled] = {}
        self._sealer = Sealer()
        self._new: deque[SessionInfo] = deque()
        self._removed: deque[str] = deque()
        self._wake = threading.Event()
        self._hurried = -LONGEST_ROUND  # when a prompt last ended a round early (the loop's clock)
        self._stop = False
        self._idle = threading.Condition()
        self._pending_batches = 0
        self.batches = 0
        self.records = 0
        self.failure = ""  # the last write error, in words
        self._thread: threading.Thread | None = None

    # -- the event loop's side ------------------------------------------------------------------

    def start(self, *, writer: bool = True) -> None:
        """Journal from now on: blocks sealed at each collection, and committed by the writer thread
        (`writer=False`: by whoever calls `flush` or `close`, on its own thread: a benchmark's
        single-threaded count)."""
        self._sealer.start()
        if writer and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="journal writer", daemon=True)
            self._thread.start()

    def attach(
        self, info: SessionInfo, conversation: Conversation, next_n: int = 0, *, new: bool = True
    ) -> None:
        """Journal this conversation from now on (`new`: also record the session itself)."""
        journaled = self._sessions.get(info.id)
        if journaled is not None:
            # A replacement client (after a crash) continues the same journal.
            _untap(journaled)
            journaled.conversation = conversation
        else:
            journaled = self._sessions[info.id] = _Journaled(conversation, next_n)
            self._sealer.blocks = (*self._sealer.blocks, journaled.blocks)
            if new:
                self._new.append(info)
        conversation.journal = journaled.blocks.add_input
        conversation.journal_trace = journaled.blocks.add_row
        conversation.journal_rest = _marker(journaled)

    def prompt_sent(self) -> None:
        """What the user sent is committed at once, not at the end of the round; at most once per
        `LONGEST_ROUND`, though: autopilots prompt many times a second, and rounds cut that short
        would write the index pages of every session each time (see above)."""
        now = time.monotonic()
        if now - self._hurried >= LONGEST_ROUND:
            self._hurried = now
            self._wake.set()

    def remove(self, session_id: str) -> None:
        """Stop journaling the session and delete its journal."""
        journaled = self._sessions.get(session_id)
        if journaled is not None:
            _untap(journaled)
            self._sealer.blocks = tuple(b for b in self._sealer.blocks if b is not journaled.blocks)
        self._removed.append(session_id)
        self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything journaled so far is committed (blocking: for shutdown and tests)."""
        if self._thread is None or not self._thread.is_alive():
            self._write(self._collect())
            return True
        target = self.batches + 2  # the round under way may have collected before this call
        with self._idle:
            self._pending_batches += 1
            self._wake.set()
            return self._idle.wait_for(lambda: self.batches >= target or self._stop, timeout)

    def close(self) -> None:
        """Commit everything and stop the writer: nothing journaled is lost."""
        self._sealer.stop()
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._write(self._collect())
        self.backend.close()

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        wait = self.flush_interval
        while not self._stop:
            self._wake.wait(wait)
            self._wake.clear()
            batch = self._collect()
            self._write(batch)
            self._renew()
            wait = self._round(batch)
            with self._idle:
                self.batches += 1
                self._idle.notify_all()

    def _collect(self) -> Batch:
        batch = Batch(at=time.time())
        while self._new:
            batch.sessions.append(self._new.popleft())
        records = batch.records
        retention = self.retention
        for session_id, journaled in list(self._sessions.items()):
            inputs, rows = journaled.blocks.take()
            # Trace rows in a chunk of their own: compaction lets them go without decoding anything.
            # Before the inputs: a token's row is a place there, its frame among the inputs, and a
            # replay meets the place first (`restore.RowOrder`).
            for kind, pieces, count in joined(rows):
                data = packed(pieces)
                records.append((session_id, journaled.next_n, kind, checksum(data), data, count))
                journaled.next_n += 1
                journaled.since_compact += count
            if journaled.since_compact >= retention.compact_every:
                journaled.since_compact = 0
                batch.compact.append((session_id, KIND_TRACE, retention.trace_keep))
            for kind, pieces, count in joined(inputs):
                data = packed(pieces)
                if kind == KIND_SNAPSHOT:
                    journaled.snapshot_bytes += len(data)
                records.append((session_id, journaled.next_n, kind, checksum(data), data, count))
                journaled.next_n += 1
            if journaled.snapshot_bytes > retention.snapshot_bytes:
                journaled.snapshot_bytes = retention.snapshot_bytes // 2
                batch.compact.append((session_id, KIND_SNAPSHOT, journaled.snapshot_bytes))
        while self._removed:
            session_id = self._removed.popleft()
            self._sessions.pop(session_id, None)
            batch.removed.append(session_id)
        return batch

    def _round(self, batch: Batch) -> float:
        """How long the next round lasts: longer the more sessions the last one wrote (see above)."""
        written = len({record[0] for record in batch.records})
        return max(self.flush_interval, min(LONGEST_ROUND, written * ROUND_PER_SESSION))

    def _renew(self) -> None:
        try:
            self.backend.renew()
        except Exception as exc:
            self.failure = f"the journal's lease at {self.backend.where} could not be renewed: {exc}"
            log.exception("journal lease renewal failed")

    def _write(self, batch: Batch) -> None:
        if not batch:
            return
        try:
            self.backend.write(batch)
        except Exception as exc:
            # The console goes on without durability rather than stopping: the problem is shown.
            self.failure = f"the journal could not be written to {self.backend.where}: {exc}"
            log.exception("journal write failed")
            if self._on_error is not None:
                self._on_error(self.failure)
            return
        self.records += sum(record[5] for record in batch.records)


def _marker(journaled: _Journaled) -> Callable[[bool], None]:
    """The session's hook for marks (`Conversation.journal_rest`): a reply ended with nothing in
    flight, `MARK_EVERY` messages or more after the last mark, or the conversation began again (`reset`):
    a mark, where messages are read back from (`history.messages_before`). A reset is always marked:
    marks count from it. Called when a message's status changes or the conversation is reset, not
    for every change: a listener of every change cost more than the marks themselves."""

    def on_rest(reset: bool) -> None:
        conversation = journaled.conversation
        base = conversation.messages_let_go + len(conversation.messages)
        if not reset and base - journaled.mark[0] < MARK_EVERY:
            return  # most calls: looked at before whether the conversation is at rest
        if conversation.at_rest:
            mark = (base, conversation.ids_given)
            if mark != journaled.mark:
                journaled.mark = mark
                journaled.blocks.mark(*mark)

    return on_rest


def _untap(journaled: _Journaled) -> None:
    journaled.conversation.journal = None
    journaled.conversation.journal_trace = None
    journaled.conversation.journal_rest = None
