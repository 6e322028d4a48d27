"""The trace as timeline rows, and what changed since the browser last heard: pure, no NiceGUI, no clock.

Theory of operation
-------------------
`feed(entry)` takes every trace entry in order; `take_ops()` returns what changed since the last call
as small JSON values the browser applies in one go (one message per flush tick):

    ["a", row]                          a new row
    ["t", id, seq, text, end_ms, count, chars]
                                        more tokens for a token row still growing (consecutive seqs
                                        from `seq` on, merged per tick; `chars`: the row's length);
                                        once the row's preview is full, one per row per tick with no
                                        text: its count, length and end as of its last token
    ["u", id, {field: value}]           a row changed (its linked partner arrived, it stopped streaming)

Rows:

Rows are treated by the category of their kind (console/trace_kinds.py), never by lists of kinds, so
every dialect's rows group alike:

* Text deltas (category TEXT: the agent's TOKEN, SSE's TEXT_CHUNK, chat's MESSAGE, AG-UI's
  TEXT_MESSAGE_CONTENT) of one stream collect into one row until the stream puts a non-text block into
  the message (CALL, BLOCK: a tool call, a component): that is exactly where the chat starts a new text
  run, so the n-th token row of stream S is the n-th text run of the message of S (`ordinal`). An END
  stops the row streaming; so does the link going DOWN or a reply INTERRUPTED, for every stream.
  Parts are kept with their seq: a frame that arrived out of order still reads in order on expand.
* A frame immediately followed by DUPLICATE for its seq was dropped by the client: it is folded into
  the DUPLICATE row (which then shows what was dropped and has its raw frame) instead of being counted
  twice.
* A token row's text crosses the wire only as far as its one-line preview (`PREVIEW_CHARS`, console/ui/timeline_rows.py): the
  chat shows that text already, so the row sends counts as it grows. A row the browser shows whole
  (`watch`) gets all of its text, then every token's. Search of token text runs here (`matching`).
* RESULT and TOOL rows (a result, an ack, streamed arguments) link to the CALL row of their call_id,
  whichever came first, with the time between them; a PONG links to the PING it answered, with the
  latency.

Memory is bounded: past `max_rows`, the oldest rows go and are counted by kind (`older`); the browser
keeps the same window and says how many older rows it no longer shows.
"""

from __future__ import annotations

from collections import deque

from console.jsonvalue import JsonObject, JsonValue
from console.session import TraceEntry
from console.trace_kinds import Category, category
from console.ui.timeline_rows import PREVIEW_CHARS, Row, clip, coalesce_tokens, duration, ms, wire_row

C = Category
# Categories that put a non-text block into the message: text after them is a new text run in the chat.
RUN_BREAKS = frozenset({C.CALL, C.BLOCK})
# Categories after which no token row is still streaming (a later token reopens its row).
STREAMS_STOP = frozenset({C.DOWN, C.INTERRUPTED})
# Rows about a tool call that link to its CALL row.
ABOUT_CALLS = frozenset({C.TOOL, C.RESULT})
DEFAULT_MAX_ROWS = 5_000
# New rows sent per tick at most. A flood brings thousands between two ticks, more than anyone reads:
# the window then keeps the newest of them, the rest are counted with the older rows (as if scrolled
# out), and a tick costs the same whatever the flood.
ROWS_PER_TICK = 1_000


class TimelineModel:
    def __init__(
        self, max_rows: int = DEFAULT_MAX_ROWS, wall_offset: float = 0.0, user_offset: int = 0
    ) -> None:
        self.max_rows = max_rows
        self.wall_offset = wall_offset  # monotonic + offset = epoch seconds
        self.rows: deque[Row] = deque()
        self.by_id: dict[int, Row] = {}
        self.older: dict[str, int] = {}
        self.start: float | None = None
        # Operations for the browser; a Row stands for "add this row", wired when taken: a row let go
        # before the tick (a flood of thousands between two ticks) costs no wire dict and is not sent.
        self._ops: list[JsonValue | Row] = []
        self._quiet = False
        self._older_changed = False
        self._pending: TraceEntry | None = None
        self._runs: dict[str, Row] = {}  # stream -> its token row still taking tokens
        # stream -> ordinal of its current text run, the streams that opened a run last kept last
        self._ordinals: dict[str, int] = {}
        self._broken: set[str] = set()  # streams whose next token starts a new text run
        self._calls: dict[str, Row] = {}
        self._early: dict[str, list[Row]] = {}  # rows about a call whose TOOL_CALL has not come yet
        self._ping: Row | None = None
        self._prompts = user_offset
        self.watched: set[int] = set()  # token rows the browser shows whole (expanded)
        # Token rows whose preview is full and that took tokens this tick: their count goes once, at
        # the tick (or before an operation about the row), not as an operation per token.
        self._counted: dict[int, Row] = {}

    # -- input ------------------------------------------------------------------------------------

    def feed(self, entry: TraceEntry) -> None:
        if self.start is None:
            self.start = entry.at
        pending, self._pending = self._pending, None
        if pending is not None:
            if entry.kind == "DUPLICATE" and entry.seq == pending.seq:
                self._add(self._duplicate_row(entry, pending))
                return
            self._commit(pending)
        if entry.direction == "in" and entry.seq is not None:
            # Held back one entry: a DUPLICATE right after it means the client dropped it.
            self._pending = entry
            return
        self._commit(entry)

    def feed_history(self, entries: list[TraceEntry]) -> None:
        """Entries from before the view existed: rows only, no operations (the view gets them whole)."""
        self._quiet = True
        try:
            for entry in entries:
                self.feed(entry)
            if self._pending is not None:
                self._commit(self._pending)
                self._pending = None
        finally:
            self._quiet = False
        self._ops.clear()
        self._counted.clear()

    @property
    def news(self) -> bool:
        """Whether the browser has more to hear than token counts (they can wait for a slower tick)."""
        pending = self._pending
        return bool(self._ops) or (pending is not None and not self._counts_only(pending))

    def take_ops(self) -> tuple[list[JsonValue], bool]:
        """What changed since the last call, and whether the older-rows summary changed."""
        if self._pending is not None:
            self._commit(self._pending)
            self._pending = None
        if self._counted:
            self._flush_counts()
        added = sum(1 for op in self._ops if isinstance(op, Row) and op.id in self.by_id)
        if added > ROWS_PER_TICK:
            while len(self.rows) > ROWS_PER_TICK:
                self._evict(self.rows.popleft())
        taken, self._ops = self._ops, []
        ops = coalesce_tokens(self._wired(taken))
        changed, self._older_changed = self._older_changed, False
        return ops, changed

    # -- rows -------------------------------------------------------------------------------------

    def _commit(self, entry: TraceEntry) -> None:
        sid = entry.stream_id
        group = category(entry.kind)
        if group is C.TEXT and entry.direction == "in" and sid is not None:
            self._token(entry, sid)
            return
        if sid is not None and group in RUN_BREAKS:
            self._end_run(sid, broken=True)
        elif sid is not None and group is C.END:
            self._end_run(sid, broken=False)
        elif group in STREAMS_STOP:
            for stream in list(self._runs):
                self._end_run(stream, broken=False)
        row = self._row(entry, group)
        if entry.kind == "USER_MESSAGE" and entry.direction == "out":
            row.ordinal = self._prompts
            self._prompts += 1
        self._link(row)  # before it is sent: the row goes out with its link
        self._add(row)

    def _row(self, entry: TraceEntry, group: Category | None = None) -> Row:
        return Row(
            id=entry.index,
            kind=entry.kind,
            category=category(entry.kind) if group is None else group,
            direction=entry.direction,
            at=entry.at,
            summary=clip(entry.summary),
            seq=entry.seq,
            stream_id=entry.stream_id,
            ref=entry.ref,
            source=entry.index,
            has_raw=entry.raw is not None,
        )

    def _duplicate_row(self, entry: TraceEntry, dropped: TraceEntry) -> Row:
        row = self._row(entry)
        what = f"{dropped.kind} '{dropped.summary}'" if category(dropped.kind) is C.TEXT else dropped.kind
        row.summary = clip(f"{entry.summary}: {what}")
        row.stream_id, row.ref = dropped.stream_id, dropped.ref
        row.source, row.has_raw = dropped.index, dropped.raw is not None
        return row

    def _token(self, entry: TraceEntry, sid: str) -> None:
        row = self._runs.get(sid)
        if row is None or sid in self._broken:
            self._open_run(entry, sid)
            return
        row.parts.append((entry.seq or 0, entry.summary))
        row.tokens += 1
        row.end = entry.at
        row.last_source = entry.index
        row.chars += len(entry.summary)
        if self._quiet:
            pass
        elif row.shipped >= PREVIEW_CHARS and row.id not in self.watched:
            self._counted[row.id] = row  # nothing of its text to send: its count goes at the tick
        else:
            text = self._ship(row, entry.summary)
            self._ops.append(["t", row.id, entry.seq, text, self._ms(entry.at), row.tokens, row.chars])
        if not row.streaming:
            row.streaming = True
            self._update(row, {"o": True})

    def _open_run(self, entry: TraceEntry, sid: str) -> None:
        ordinals = self._ordinals
        ordinal = ordinals.pop(sid, None)  # put back last: the streams are kept newest last
        if ordinal is None:
            ordinal = 0
        elif sid in self._broken:
            ordinal += 1
        # else: the run's row went out of the window; its text run goes on under the same ordinal.
        ordinals[sid] = ordinal
        self._broken.discard(sid)
        if len(ordinals) > self.max_rows:
            # Every stream opened a row; with more streams than the window has rows, the oldest has
            # none left, and a timeline open for days would otherwise hold every stream it saw.
            oldest = next(iter(ordinals))
            del ordinals[oldest]
            self._broken.discard(oldest)
        row = self._row(entry, C.TEXT)
        row.summary = ""
        row.ordinal = ordinal
        row.tokens, row.end, row.last_source = 1, entry.at, entry.index
        row.parts.append((entry.seq or 0, entry.summary))
        row.chars = len(entry.summary)
        row.streaming = True
        self._runs[sid] = row
        self._add(row)

    def _counts_only(self, entry: TraceEntry) -> bool:
        """Whether committing `entry` would only add to the count of a row whose preview is full."""
        sid = entry.stream_id
        if sid is None or entry.direction != "in" or category(entry.kind) is not C.TEXT:
            return False
        row = self._runs.get(sid)
        return (
            row is not None
            and sid not in self._broken
            and row.streaming
            and row.shipped >= PREVIEW_CHARS
            and row.id not in self.watched
        )

    def _count_op(self, row: Row) -> JsonValue:
        return ["t", row.id, row.parts[-1][0], "", self._ms(row.end), row.tokens, row.chars]

    def _flush_counts(self) -> None:
        ops = self._ops
        for row in self._counted.values():
            ops.append(self._count_op(row))
        self._counted.clear()

    def _end_run(self, sid: str, *, broken: bool) -> None:
        """The run of `sid` stops streaming; after a break, its next token opens a new row."""
        row = self._runs.pop(sid, None) if broken else self._runs.get(sid)
        if broken and sid in self._ordinals:  # before its first run, a break changes no ordinal
            self._broken.add(sid)
        if row is not None and row.streaming:
            row.streaming = False
            self._update(row, {"o": False})

    def _link(self, row: Row) -> None:
        if row.kind == "PING" and row.direction == "in":
            self._ping = row
        elif row.kind == "PONG" and row.direction == "out" and self._ping is not None:
            ping, self._ping = self._ping, None
            latency = row.at - ping.at
            # Notes are short: they share one line with the summary; the connector shows the link.
            row.link, row.note = ping.id, f"+{duration(latency)}"
            ping.note = f"pong in {duration(latency)}"
            self._update(ping, {"note": ping.note})
        elif row.ref is not None and row.category is C.CALL:
            self._call(row)
        elif row.ref is not None:
            call = self._calls.get(row.ref)
            if call is not None:
                self._attach(row, call)
            elif row.category in ABOUT_CALLS:
                self._early.setdefault(row.ref, []).append(row)

    def _call(self, call: Row) -> None:
        assert call.ref is not None
        first = self._calls.get(call.ref)
        if first is not None:
            # The same call_id again (a second TOOL_CALL the client did not take as a duplicate).
            self._attach(call, first)
            return
        self._calls[call.ref] = call
        call.pair = call.ref
        for early in self._early.pop(call.ref, []):
            self._attach(early, call)
            if early.category is C.RESULT:
                call.note = f"result {duration(call.at - early.at)} earlier"
        self._update(call, {"p": call.pair, "note": call.note})

    def _attach(self, row: Row, call: Row) -> None:
        gap = row.at - call.at
        row.link, row.pair = call.id, call.ref
        row.note = f"+{duration(gap)}" if gap >= 0 else f"{duration(-gap)} before its call"
        if row.category is C.RESULT and row.summary == row.ref:
            row.summary = clip(f"{call.summary} · {row.summary}")  # which tool, not only which call
        self._update(row, {"l": row.link, "p": row.pair, "note": row.note, "x": row.summary})
        if row.category is C.RESULT and gap >= 0:
            call.note = f"result in {duration(gap)}"
            self._update(call, {"note": call.note})

    # -- window -----------------------------------------------------------------------------------

    def _add(self, row: Row) -> None:
        self.rows.append(row)
        self.by_id[row.id] = row
        if not self._quiet:
            ops = self._ops
            ops.append(row)
            if len(ops) > 2 * self.max_rows:  # between two ticks: forget the adds of rows let go since
                self._ops = [op for op in ops if not isinstance(op, Row) or op.id in self.by_id]
        while len(self.rows) > self.max_rows:
            self._evict(self.rows.popleft())

    def _evict(self, row: Row) -> None:
        del self.by_id[row.id]
        self.watched.discard(row.id)
        self._counted.pop(row.id, None)
        self.older[row.kind] = self.older.get(row.kind, 0) + 1
        self._older_changed = True
        if row.stream_id is not None and self._runs.get(row.stream_id) is row:
            del self._runs[row.stream_id]
        if row.ref is not None and self._calls.get(row.ref) is row:
            del self._calls[row.ref]
        if self._ping is row:
            self._ping = None
        if row.ref is not None and row in self._early.get(row.ref, ()):
            self._early[row.ref].remove(row)
            if not self._early[row.ref]:
                del self._early[row.ref]

    def _ship(self, row: Row, text: str) -> str:
        """What of a token's `text` the browser gets: all of it for a row shown whole, else what
        still fits in the row's preview."""
        if row.id not in self.watched:
            text = text[: max(0, PREVIEW_CHARS - row.shipped)]
        row.shipped += len(text)
        return text

    def watch(self, row: Row) -> JsonValue:
        """The browser shows `row` whole from now on: its text so far (with its first seq and the
        token count it covers); every later token of it goes with its text."""
        if self._counted.pop(row.id, None) is not None:
            self._ops.append(self._count_op(row))  # in its place: before the text it does not carry
        self.watched.add(row.id)
        row.shipped = row.chars
        return [min(seq for seq, _ in row.parts), row.text(), row.tokens]

    def unwatch(self, row_id: int) -> None:
        self.watched.discard(row_id)

    def matching(self, needle: str) -> list[JsonValue]:
        """Ids of the token rows whose text contains `needle` (lower case), for the browser's search."""
        return [row.id for row in self.rows if row.grouped and needle in row.text().lower()]

    def _update(self, row: Row, fields: JsonObject) -> None:
        if row.id in self.by_id and not self._quiet:
            if self._counted.pop(row.id, None) is not None:
                self._ops.append(self._count_op(row))  # its count first: it says "streaming"
            self._ops.append(["u", row.id, fields])

    @property
    def first_id(self) -> int | None:
        return self.rows[0].id if self.rows else None

    @property
    def older_count(self) -> int:
        return sum(self.older.values())

    # -- the wire ---------------------------------------------------------------------------------

    def _ms(self, at: float) -> float:
        return ms(at, self.wall_offset)

    def start_ms(self) -> float | None:
        return None if self.start is None else self._ms(self.start)

    def _wired(self, taken: list[JsonValue | Row]) -> list[JsonValue]:
        """A tick's operations for the wire. A row added this tick is wired as it is now, its tokens of
        this tick included, so their own "t" operations are not sent again."""
        by_id = self.by_id
        fresh: set[int] = set()
        out: list[JsonValue] = []
        for op in taken:
            if isinstance(op, Row):
                if op.id in by_id:
                    fresh.add(op.id)
                    out.append(["a", self.wire(op)])
            elif not (fresh and isinstance(op, list) and op[0] == "t" and op[1] in fresh):
                out.append(op)
        return out

    def wire(self, row: Row) -> JsonObject:
        """A row as the browser keeps it (see `wire_row`)."""
        return wire_row(row, self.wall_offset, row.id in self.watched)
