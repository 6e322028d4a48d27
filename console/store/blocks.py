"""A journaled session's inputs, encoded where they are taken in: a block of `BLOCK` at a time.

Why on the event loop's thread and not the writer's: an input held for the writer outlives the
garbage collector's young generation (the writer wakes every 50 ms, thousands of inputs later), so
each event is promoted and traversed twice more before it dies, and by the time the writer encodes
it, it has left the CPU's caches. Encoded in a block of 256 as it arrives, an input dies young and is
read while still warm: measured on the recorded agent session, holding the inputs and encoding them
later added 38% to the pipeline's CPU time; encoding them here in blocks, 12%. orjson holds the GIL
wherever it runs, so encoding on the writer's thread did not spare the loop that time anyway. A
block costs the loop about 0.1 ms (one orjson call); the writer joins the blocks' bytes, compresses
(LZ4 lets go of the GIL) and commits.

A block holds what the session took in, in order. The inputs not yet a full block are encoded by
the writer at each round (`take`), under the same lock the loop takes to seal a full block, so the
two never encode the same input and blocks stay in order; the loop only ever waits for one tail's
encoding. The only thread that appends is the one the conversation runs on.

Large context snapshots (`SNAPSHOT_APART`) get chunks of their own, where they stand among the other
inputs, so that retention can let them go without decoding anything: the encoder notices one as
orjson meets it and only then cuts the block into runs (rare: a Python pass over every input costs
the pipeline more than the whole check inside the encoder).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final, TypeAlias, TypeVar

import orjson

from console import events as ev
from console.session import JournalInput
from console.store.backend import KIND_OTHER, KIND_SNAPSHOT, KIND_TRACE
from console.store.records import GETTERS, encode, encode_trace

log = logging.getLogger(__name__)

_T = TypeVar("_T")

BLOCK: Final = 256  # inputs per block: a tenth of a millisecond of the loop's time to encode
SNAPSHOT_APART: Final = 16 * 1024  # bytes of a snapshot frame that give it a chunk of its own

# An encoded block: (chunk kind, a JSON array's bytes, inputs in it).
Encoded: TypeAlias = tuple[int, bytes, int]
Row: TypeAlias = tuple[object, ...]  # a trace row, as the trace holds it


class _Apart(Exception):
    """A large snapshot in the block: it is cut into runs."""


def _event_or_apart(event: object) -> tuple[str, object]:
    """`records.event_json`, but a large snapshot stops the encoding (one Python call per event)."""
    if type(event) is ev.ContextSnapshot and event.size >= SNAPSHOT_APART:
        raise _Apart
    name, get = GETTERS[type(event)]
    values = get(event)
    return name, values if isinstance(values, tuple) else (values,)


def _plain(items: Sequence[JournalInput]) -> bytes:
    return orjson.dumps(items, default=_event_or_apart, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def encode_inputs(items: list[JournalInput]) -> list[Encoded]:
    """Inputs as chunks, in order: runs of everything else, and each large snapshot on its own."""
    try:
        return [(KIND_OTHER, _plain(items), len(items))]
    except (TypeError, ValueError):  # a large snapshot met, or an input no encoder takes
        return [(kind, *_kept(run, encode)) for kind, run in runs(items)]


def encode_rows(rows: list[Row]) -> list[Encoded]:
    try:
        return [(KIND_TRACE, encode_trace(rows), len(rows))]
    except (TypeError, ValueError):
        return [(KIND_TRACE, *_kept(rows, encode_trace))]


def joined(chunks: list[Encoded]) -> list[Encoded]:
    """Neighbouring chunks of a kind that is not cut (all but snapshots) made one: one row each."""
    out: list[Encoded] = []
    run: list[Encoded] = []
    for chunk in chunks:
        if not chunk[2]:  # every input of it was left out: `[]`, nothing to join
            continue
        if run and (chunk[0] != run[0][0] or chunk[0] == KIND_SNAPSHOT):
            out.append(_join(run))
            run = []
        run.append(chunk)
    if run:
        out.append(_join(run))
    return out


def _join(run: list[Encoded]) -> Encoded:
    if len(run) == 1:
        return run[0]
    # Each is a JSON array of at least one input: their insides, comma-joined, are one array (built
    # in one allocation: a batch is megabytes).
    parts: list[bytes | memoryview] = [b"["]
    for _, data, _ in run:
        parts += (memoryview(data)[1:-1], b",")
    parts[-1] = b"]"
    return run[0][0], b"".join(parts), sum(count for _, _, count in run)


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

    The conversation's `journal` tap is the inputs' own `deque.append` (C, no Python frame); its
    `journal_trace` tap, called for every frame, is `add_row`, which also seals the inputs: one
    Python call per frame, not two."""

    __slots__ = ("_inputs", "_lock", "_rows", "_sealed_inputs", "_sealed_rows", "add_input")

    def __init__(self) -> None:
        self._inputs: deque[JournalInput] = deque()
        self._rows: deque[Row] = deque()
        self._sealed_inputs: deque[list[Encoded]] = deque()
        self._sealed_rows: deque[list[Encoded]] = deque()
        self._lock = threading.Lock()
        self.add_input = self._inputs.append

    def add_row(self, row: Row) -> None:
        """The trace's tap (on the conversation's thread): full blocks are encoded at once."""
        rows = self._rows
        rows.append(row)
        if len(rows) >= BLOCK or len(self._inputs) >= BLOCK:
            self.seal()

    def take(self) -> tuple[list[Encoded], list[Encoded]]:
        """Everything taken in so far, encoded: (inputs, trace rows) (on the writer's thread)."""
        self.seal()
        return _popped(self._sealed_inputs), _popped(self._sealed_rows)

    def seal(self) -> None:
        with self._lock:
            # Only what is there now: what the loop appends meanwhile waits for the next block.
            inputs = _taken(self._inputs)
            if inputs:
                self._sealed_inputs.append(encode_inputs(inputs))
            rows = _taken(self._rows)
            if rows:
                self._sealed_rows.append(encode_rows(rows))


def _taken(pending: deque[_T]) -> list[_T]:
    pop = pending.popleft
    return [pop() for _ in range(len(pending))]


def _popped(sealed: deque[list[Encoded]]) -> list[Encoded]:
    return [chunk for _ in range(len(sealed)) for chunk in sealed.popleft()]
