"""The protocol trace of a session: every frame in or out and the client's own events, as rows the garbage
collector never walks, bounded in count and in the raw text kept."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Literal, TypeAlias, overload

from console.frozen import frozen
from console.trace_kinds import Category, TraceKind, category
from console.window import OVERSIZED_KEPT, OVERSIZED_RAW, TRACE_RAW_CHARS, lean_raw


@frozen
class TraceEntry:
    """One row of the protocol trace: every frame in or out, and the client's own lifecycle events."""

    index: int
    at: float
    direction: Literal["in", "out", "client"]
    kind: TraceKind
    summary: str
    seq: int | None = None
    raw: str | None = None
    stream_id: str | None = None
    ref: str | None = None  # call_id, context_id or message id the row points at

    @property
    def category(self) -> Category:
        return category(self.kind)


Row: TypeAlias = tuple[
    int, float, Literal["in", "out", "client"], TraceKind, str, int | None, str | None, str | None, str | None
]


def lean_row(row: Row) -> Row:
    """The row with its raw text cut to what the timeline shows of an oversized frame."""
    return (*row[:6], lean_raw(row[6]), *row[7:])


class Trace(Sequence[TraceEntry]):
    """The rows of a trace, stored as plain tuples and handed out as `TraceEntry`.

    A console watching many sessions holds millions of rows. Any object the garbage collector tracks
    is walked by every full collection, and with the rows as objects those walks stalled the event
    loop for half a second at 1,000 sessions (more as the traces filled). The collector stops tracking
    a plain tuple of strings and numbers, so stored this way the rows cost it nothing.

    Memory is bounded: past `limit` rows the oldest go, and `dropped` counts them. They are trimmed a
    tenth at a time, so that trimming costs O(1) per row, not O(limit).
    """

    __slots__ = (
        "_deferred",
        "_oversized",
        "_raw_at",
        "_raw_chars",
        "_raw_sizes",
        "_rows",
        "_trim_at",
        "dropped",
        "limit",
        "on_let_go",
        "oversized_kept",
        "raw_let_go",
    )

    def __init__(self, limit: int, oversized_kept: int = OVERSIZED_KEPT) -> None:
        self._rows: list[Row] = []
        self.limit = limit
        self.oversized_kept = oversized_kept  # oversized raw frames kept (`Window.oversized_frames`)
        self.dropped = 0  # rows let go, oldest first
        self.on_let_go: Callable[[int], None] | None = None  # told how many rows went, when some go
        self._trim_at = limit + limit // 10
        self._oversized: deque[int] = deque()  # indexes of the rows whose big raw text is still kept
        # The indexes of the rows with raw text, and its characters: two deques of ints, not one of
        # pairs, so that a row costs no tuple more (a token's row is most of what a session allocates).
        self._raw_at: deque[int] = deque()
        self._raw_sizes: deque[int] = deque()
        self._raw_chars = 0
        self.raw_let_go = 0
        self._deferred = False  # raw text kept regardless of its budget until `settle_raw`

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> TraceEntry: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceEntry]: ...

    def __getitem__(self, index: int | slice) -> TraceEntry | list[TraceEntry]:
        if isinstance(index, slice):
            return [TraceEntry(*row) for row in self._rows[index]]
        return TraceEntry(*self._rows[index])

    def __iter__(self) -> Iterator[TraceEntry]:
        return (TraceEntry(*row) for row in self._rows)

    def add(
        self,
        at: float,
        direction: Literal["in", "out", "client"],
        kind: TraceKind,
        summary: str,
        seq: int | None,
        raw: str | None,
        stream_id: str | None,
        ref: str | None,
    ) -> Row:
        rows = self._rows
        row: Row = (len(rows) + self.dropped, at, direction, kind, summary, seq, raw, stream_id, ref)
        rows.append(row)
        if raw is not None:
            size = len(raw)
            if size <= OVERSIZED_RAW and not self._deferred:  # `_keep_raw`'s common case, without the call
                self._raw_at.append(row[0])
                self._raw_sizes.append(size)
                self._raw_chars += size
                if self._raw_chars > TRACE_RAW_CHARS:
                    self._over_budget()
            elif size > OVERSIZED_RAW:
                self._keep_raw(row[0], size)
        if len(rows) > self._trim_at:
            cut = len(rows) - self.limit
            del rows[:cut]
            self.dropped += cut
            raw_at = self._raw_at
            while raw_at and raw_at[0] < self.dropped:  # their raw text went with them
                raw_at.popleft()
                self._raw_chars -= self._raw_sizes.popleft()
            if self.on_let_go is not None:
                self.on_let_go(cut)
        return row

    @property
    def raw_chars(self) -> int:
        """Characters of raw frame text the trace holds on to (an upper bound)."""
        return self._raw_chars

    def defer_raw(self) -> None:
        """Keep the raw text of every row but the oversized ones until `settle_raw`, which then applies
        `TRACE_RAW_CHARS` once.

        For a trace being replayed, whose rows nobody reads until it is done: that budget row by row
        was a tenth of a long replay's time, and what it leaves (the newest rows' raw text within it)
        one pass from the newest row back leaves as well. Oversized frames keep their own budget row
        by row: a few of them would otherwise hold more than all the rest."""
        self._deferred = True

    def settle_raw(self) -> None:
        """Raw text within `TRACE_RAW_CHARS` again, as `_keep_raw` row by row would have left it: of the
        newest frames up to the budget, the newest always. Rows let go in the meantime, with their raw
        text, are not counted in `raw_let_go`."""
        if not self._deferred:
            return
        self._deferred = False
        rows = self._rows
        kept: list[tuple[int, int]] = []
        chars = 0
        for position in range(len(rows) - 1, -1, -1):
            raw = rows[position][6]
            if raw is None or len(raw) > OVERSIZED_RAW:  # oversized: already within their own budget
                continue
            size = len(raw)
            if kept and chars + size > TRACE_RAW_CHARS:
                break  # the kept ones are the newest: older rows lose theirs, however short
            kept.append((rows[position][0], size))
            chars += size
        else:
            position = -1
        for older in range(position, -1, -1):
            old = rows[older]
            if old[6] is not None and len(old[6]) <= OVERSIZED_RAW:
                rows[older] = (*old[:6], None, *old[7:])
                self.raw_let_go += 1
        self._raw_at = deque(index for index, _ in reversed(kept))
        self._raw_sizes = deque(size for _, size in reversed(kept))
        self._raw_chars = chars

    def _keep_raw(self, index: int, size: int) -> None:
        """Raw text is kept for the newest rows only, within `TRACE_RAW_CHARS` and, of oversized frames,
        the newest `oversized_kept`; older rows stay, with what they said (console/window.py)."""
        if size > OVERSIZED_RAW:  # oversized frames have a budget of their own, counted in frames
            self._oversized.append(index)
            while len(self._oversized) > self.oversized_kept:
                self._let_go_raw(self._oversized.popleft())
            return
        self._raw_at.append(index)
        self._raw_sizes.append(size)
        self._raw_chars += size
        self._over_budget()

    def _over_budget(self) -> None:
        """The oldest rows' raw text goes until the rest is within `TRACE_RAW_CHARS` (the newest stays)."""
        while self._raw_chars > TRACE_RAW_CHARS and len(self._raw_at) > 1:
            oldest = self._raw_at.popleft()
            self._raw_chars -= self._raw_sizes.popleft()
            self._let_go_raw(oldest)

    def _let_go_raw(self, index: int) -> None:
        position = index - self.dropped
        if position >= 0:
            old = self._rows[position]
            if old[6] is not None:
                self._rows[position] = (*old[:6], None, *old[7:])
                self.raw_let_go += 1
