"""A journaled session's inputs, encoded where they are taken in: whatever arrived, just before each
collection of the garbage collector's young generation.

Why on the event loop's thread and not the writer's: an input held for the writer outlives the
garbage collector's young generation (the writer wakes every 50 ms, thousands of inputs later), so
each event is promoted and traversed twice more before it dies, and by the time the writer encodes
it, it has left the CPU's caches. Encoded as it arrives, in blocks, an input dies young and is read
while still warm: measured on the recorded agent session, holding the inputs and encoding them later
added 38% to the pipeline's CPU time; encoding them where they arrive, 12%. orjson holds the GIL
wherever it runs, so encoding on the writer's thread did not spare the loop that time anyway.

When: at the start of each collection (`gc.callbacks`), the moment a held input would otherwise be
traversed and promoted. Sealing there instead of counting inputs as they arrive leaves both taps
the queues' own `list.append` (C, no Python frame per frame: that call and its count were a fifth
of the journal's cost), and a block is whatever arrived since the last collection (on the recorded
agent session, about seven frames: the pipeline's own allocations fill the young generation; sealing
only blocks of 64 to 4,096 inputs instead measured the same or worse). A block is taken out of its
queue by a slice and its deletion (C, no Python frame per input). The callback never waits: if the
writer is sealing that session, the session is passed over this time.

A block holds what the session took in, in order. The inputs not yet sealed are encoded by the
writer at each round (`take`), under the same lock the collector's callback takes to seal, so the
two never encode the same input and blocks stay in order. The only thread that appends is the one
the conversation runs on.

A reply's next token arrives as the frame it came in (`("token", index, at, raw)`) and its trace row
as its index alone (`session_tokens.stream_token`); any other text delta arrives flat (`("text",
stream_id, text, at, seq)`, built by the conversation's tap): orjson writes them with no call back
into Python; other events are written flat, `[type, field, ...]`,
by one C attribute getter per type (type name included), so the Python callback orjson makes per
event is one dict lookup and one call. An oversized frame's raw text is cut short here (`encode_rows`),
looked for only in a block whose bytes could hold one, not in the trace's per-frame path.

Large context snapshots (`SNAPSHOT_APART`) get chunks of their own, where they stand among the other
inputs, so that retention can let them go without decoding anything: the encoder notices one as
orjson meets it and only then cuts the block into runs (rare: a Python pass over every input costs
the pipeline more than the whole check inside the encoder).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeAlias, TypeVar, cast

import orjson

from console import events as ev
from console.dialects.agent.trace import WHOLE_UP_TO
from console.session import JournalInput
from console.store.backend import ALONE, KIND_MARK, KIND_OTHER, KIND_SNAPSHOT, KIND_TRACE
from console.store.records import FLAT_GETTERS, encode, encode_mark, encode_trace
from console.window import OVERSIZED_RAW, lean_raw

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Bytes of a snapshot frame that give it a chunk of its own: an agent frame below it is journaled as
# it came (`console/dialects/agent/trace.py`), with no event for the encoder to look at.
SNAPSHOT_APART: Final = WHOLE_UP_TO
SEAL_FROM: Final = 64  # inputs and rows a session holds before a collection seals them

# An encoded block: (chunk kind, a JSON array's bytes, inputs in it).
Encoded: TypeAlias = tuple[int, bytes, int]
# Chunks joined for one row: (chunk kind, the JSON arrays of its blocks, inputs in them).
Joined: TypeAlias = tuple[int, list[bytes], int]
Row: TypeAlias = tuple[object, ...] | int  # a trace row as the trace holds it, or a token's place


class _Apart(Exception):
    """A large snapshot in the block: it is cut into runs."""


def _snapshot_or_apart(event: object) -> object:
    snapshot = cast(ev.ContextSnapshot, event)  # called for that type only (`_GETTERS`)
    if snapshot.size >= SNAPSHOT_APART:
        raise _Apart
    return FLAT_GETTERS[ev.ContextSnapshot](snapshot)


# `records.FLAT_GETTERS`, but a large snapshot stops the encoding.
_GETTERS: Final[Mapping[type, Callable[[object], object]]] = {
    **FLAT_GETTERS,
    ev.ContextSnapshot: _snapshot_or_apart,
}


def _event_or_apart(event: object, getters: Mapping[type, Callable[[object], object]] = _GETTERS) -> object:
    """An event as `[type, field, ...]` (orjson calls this for each event it meets)."""
    return getters[type(event)](event)  # a KeyError for anything else: orjson reports it


def _plain(items: Sequence[JournalInput]) -> bytes:
    return orjson.dumps(items, default=_event_or_apart, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def encode_inputs(items: list[JournalInput]) -> list[Encoded]:
    """Inputs as chunks, in order: runs of everything else, and each large snapshot on its own."""
    try:
        return [(KIND_OTHER, _plain(items), len(items))]
    except (TypeError, ValueError):  # a large snapshot met, or an input no encoder takes
        return [(kind, *_kept(run, encode)) for kind, run in runs(items)]


def encode_rows(rows: list[Row]) -> list[Encoded]:
    """Trace rows as a chunk; an oversized frame's raw text goes cut short (`lean_row`: its event
    carries the data). Looked for only in a block whose bytes could hold one: no Python pass over
    every row, and none in the trace's own path either."""
    try:
        data = encode_trace(rows)
    except (TypeError, ValueError):
        return [(KIND_TRACE, *_kept(_leaned(rows), encode_trace))]
    if len(data) > OVERSIZED_RAW and any(_oversized(row) for row in rows):
        return encode_rows(_leaned(rows))
    return [(KIND_TRACE, data, len(rows))]


def _oversized(row: Row) -> bool:
    # A token's place is an int: its frame is journaled with the inputs, whole (it holds the text).
    return not isinstance(row, int) and isinstance(raw := row[6], str) and len(raw) > OVERSIZED_RAW


def _leaned(rows: list[Row]) -> list[Row]:
    return [_lean(row) for row in rows]


def _lean(row: Row) -> Row:
    if isinstance(row, int) or not _oversized(row):
        return row
    return (*row[:6], lean_raw(cast(str, row[6])), *row[7:])


def joined(chunks: list[Encoded]) -> list[Joined]:
    """Neighbouring chunks of a kind that is not cut (all but snapshots) made one: one row each, its
    blocks' JSON arrays left as they lie (`packing.packed` compresses them as one).

    A mark (`Blocks.mark`: `[base, ids]`) does not cut the inputs around it: it is written just
    before the chunk it falls in, with its place in it (`records.encode_mark`), so a chunk of inputs
    stays one row however many marks fall in it; and the marks that fall in one chunk are one chunk
    of marks (a row each cost a commit more than the marks themselves)."""
    out: list[Joined] = []
    run: list[bytes] = []
    kind = count = 0  # the run's kind and inputs so far
    marks: list[bytes] = []  # the marks that fall in the run, to go just before it, as one chunk
    for chunk_kind, data, chunk_count in chunks:
        if chunk_kind == KIND_MARK:
            at = count if run and kind == KIND_OTHER else 0
            base, ids = orjson.loads(data)
            mark = encode_mark(base, ids, at)
            if at:
                marks.append(mark)
            elif out and out[-1][0] == KIND_MARK:  # before the next chunk, as the marks before it
                out[-1][1].append(mark)
                out[-1] = (KIND_MARK, out[-1][1], out[-1][2] + 1)
            else:
                out.append((KIND_MARK, [mark], 1))
            continue
        if not chunk_count:  # every input of it was left out: `[]`, nothing to join
            continue
        if run and (chunk_kind != kind or chunk_kind in ALONE):
            if marks:
                out.append((KIND_MARK, marks, len(marks)))
            out.append((kind, run, count))
            run, marks, count = [], [], 0
        kind = chunk_kind
        run.append(data)
        count += chunk_count
    if marks:
        out.append((KIND_MARK, marks, len(marks)))
    if run:
        out.append((kind, run, count))
    return out


def runs(inputs: list[JournalInput]) -> list[tuple[int, list[JournalInput]]]:
    """The inputs cut into runs of large context snapshots and runs of everything else, in order.

    A small snapshot stays with its neighbours: a chunk of its own would cost a row (and a commit's
    share) for a few bytes, and the cap is for the large ones."""
    out: list[tuple[int, list[JournalInput]]] = []
    other: list[JournalInput] = []
    for item in inputs:
        event = item[1] if item[0] == "event" else None
        if type(event) is ev.ContextSnapshot and event.size >= SNAPSHOT_APART:
            if other:
                out.append((KIND_OTHER, other))
                other = []
            out.append((KIND_SNAPSHOT, [item]))
        else:
            other.append(item)
    if other:
        out.append((KIND_OTHER, other))
    return out


def _kept(chunk: list[_T], encoder: Callable[[list[_T]], bytes]) -> tuple[bytes, int]:
    """The chunk encoded, and how many inputs it holds: an input no encoder takes (the reducer
    refused it too, and traced it as a protocol error) is left out, and the rest written."""
    try:
        return encoder(chunk), len(chunk)
    except (TypeError, ValueError):
        kept = []
        for item in chunk:
            try:
                encoder([item])
            except (TypeError, ValueError) as exc:
                log.warning("a %r input could not be journaled: %s", _name(item), exc)
            else:
                kept.append(item)
        return encoder(kept), len(kept)


def _name(item: object) -> object:
    return item[0] if isinstance(item, tuple) and item else type(item).__name__


class Blocks:
    """One session's inputs and trace rows, encoded in blocks where they arrive.

    The conversation's `journal` and `journal_trace` taps are the queues' own `list.append` (C, no
    Python frame); `Sealer` seals the queues before each garbage collection, the writer each round."""

    __slots__ = ("_inputs", "_lock", "_rows", "_sealed_inputs", "_sealed_rows", "add_input", "add_row")

    def __init__(self) -> None:
        self._inputs: list[JournalInput] = []
        self._rows: list[Row] = []
        self._sealed_inputs: deque[list[Encoded]] = deque()
        self._sealed_rows: deque[list[Encoded]] = deque()
        self._lock = threading.Lock()
        self.add_input = self._inputs.append
        self.add_row = self._rows.append

    def take(self) -> tuple[list[Encoded], list[Encoded]]:
        """Everything taken in so far, encoded: (inputs, trace rows) (on the writer's thread)."""
        if not (self._inputs or self._rows or self._sealed_inputs or self._sealed_rows):
            return [], []  # an idle session: no lock, nothing to encode
        with self._lock:
            self._seal()
        return _popped(self._sealed_inputs), _popped(self._sealed_rows)

    def mark(self, base: int, ids: int) -> None:
        """A mark (`records.Marked`) right after what arrived before it, its place in the inputs
        found when they are joined (`joined`). On the conversation's thread: it seals what arrived,
        waiting for a writer encoding this session's tail."""
        with self._lock:
            self._seal_inputs()  # not the rows: a mark has no place among them
            self._sealed_inputs.append([(KIND_MARK, orjson.dumps((base, ids)), 0)])

    def seal_now(self) -> None:
        """Encode what arrived, unless another thread is at it (then it is that thread's block)."""
        if (self._inputs or self._rows) and self._lock.acquire(blocking=False):
            try:
                self._seal()
            finally:
                self._lock.release()

    def _seal(self) -> None:
        self._seal_inputs()
        rows = _taken(self._rows)
        if rows:
            self._sealed_rows.append(encode_rows(rows))

    def _seal_inputs(self) -> None:
        # Only what is there now: what the loop appends meanwhile waits for the next block.
        inputs = _taken(self._inputs)
        if inputs:
            self._sealed_inputs.append(encode_inputs(inputs))


class Sealer:
    """Seals every journaled session's queues at the start of each garbage collection.

    The collector runs its callbacks on whichever thread allocated last, with the GIL held, so the
    sessions are read from a tuple replaced whole (never a dict another thread may resize meanwhile),
    and nothing here waits for a lock (`Blocks.seal_now`)."""

    def __init__(self) -> None:
        self.blocks: tuple[Blocks, ...] = ()

    def start(self) -> None:
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def stop(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, _info: Mapping[str, int]) -> None:
        if phase != "start":
            return
        for blocks in self.blocks:
            # Only a session that took in a block's worth: with hundreds of sessions most took one or
            # two inputs since the last collection, and a block of those cost more in calls than
            # holding them for the writer's round does (a tuple of plain values is let go by the
            # collector's first look, not traversed again). Looked at here, in the loop: a method
            # call per session was most of what the sealing cost.
            if len(blocks._inputs) + len(blocks._rows) >= SEAL_FROM:
                try:
                    blocks.seal_now()
                except Exception:  # never into the collector: the writer seals it at its next round
                    log.exception("a journal block could not be sealed")


def _taken(pending: list[_T]) -> list[_T]:
    """What is there now, taken out (two C calls: no Python frame per input). Only the loop appends,
    and only at the end, so what it appends meanwhile stays for the next block."""
    count = len(pending)
    taken = pending[:count]
    del pending[:count]
    return taken


def _popped(sealed: deque[list[Encoded]]) -> list[Encoded]:
    return [chunk for _ in range(len(sealed)) for chunk in sealed.popleft()]
