"""A timeline row and its wire form: what `TimelineModel` (console/ui/timeline_model.py) keeps of the
trace, and the short-keyed JSON the browser (timeline.js) keeps of it.

A token row's text crosses the wire only as far as its one-line preview (`PREVIEW_CHARS`) unless the
browser shows the row whole; a tick's consecutive tokens of one row travel as one part
(`coalesce_tokens`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from console.jsonvalue import JsonObject, JsonValue
from console.trace_kinds import Category, TraceKind

SUMMARY_LIMIT = 400
PREVIEW_CHARS = 160  # a token row's text shown on its line (timeline.js shows as many)


def duration(seconds: float) -> str:
    """0.004 -> '4 ms', 1.234 -> '1.23 s'."""
    if abs(seconds) < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


@dataclass(slots=True)
class Row:
    id: int  # the trace index of the entry that opened the row: unique and increasing
    kind: TraceKind
    category: Category
    direction: str
    at: float  # monotonic seconds
    summary: str
    seq: int | None
    stream_id: str | None
    ref: str | None
    source: int  # trace index of the frame whose raw text this row shows
    has_raw: bool
    ordinal: int | None = None  # token rows: text run within the stream; USER_MESSAGE: n-th prompt
    link: int | None = None  # the row this one answers (call for a result, PING for a PONG)
    pair: str | None = None  # call_id shared by linked tool rows (one colour in the browser)
    note: str = ""  # time to or from the linked row, in words
    # Token rows only.
    tokens: int = 0
    end: float = 0.0
    last_source: int = 0
    parts: list[tuple[int, str]] = field(default_factory=list)
    streaming: bool = False
    chars: int = 0  # length of the text
    shipped: int = 0  # characters of it the browser has

    @property
    def grouped(self) -> bool:
        return self.tokens > 0

    def text(self) -> str:
        return "".join(text for _, text in sorted(self.parts, key=lambda part: part[0]))


def ms(at: float, wall_offset: float) -> float:
    """Monotonic seconds as the browser's epoch milliseconds."""
    return round((at + wall_offset) * 1000, 1)


def wire_row(row: Row, wall_offset: float, whole: bool) -> JsonObject:
    """A row as the browser keeps it (short keys: thousands of rows cross the wire on a reset); a
    token row carries all of its text if the browser shows it `whole`, else its preview."""
    out: JsonObject = {
        "i": row.id,
        "k": row.kind,
        "d": row.direction,
        "w": ms(row.at, wall_offset),
        "x": row.summary,
    }
    optional: dict[str, JsonValue] = {
        "s": row.seq,
        "sid": row.stream_id,
        "r": row.ref,
        "g": row.ordinal,
        "l": row.link,
        "p": row.pair,
        "note": row.note or None,
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    if row.has_raw:
        out["raw"] = True
    if row.grouped:
        out["n"] = row.tokens
        out["e"] = ms(row.end, wall_offset)
        out["o"] = row.streaming
        out["c"] = row.chars
        # One part with what the browser shows (the preview, or all of a row shown whole) and
        # one empty part with the last seq: the row's seq range.
        seqs = [seq for seq, _ in row.parts]
        text = row.text() if whole else _preview(row)
        row.shipped = len(text)
        out["parts"] = [[min(seqs), text], [max(seqs), ""]]
    return out


def _preview(row: Row) -> str:
    """The start of a token row's text, joined from as few parts as it takes (parts in order)."""
    if any(a[0] > b[0] for a, b in pairwise(row.parts)):
        return row.text()[:PREVIEW_CHARS]
    text = ""
    for _, part in row.parts:
        text += part
        if len(text) >= PREVIEW_CHARS:
            break
    return text[:PREVIEW_CHARS]


def clip(text: str) -> str:
    # Rows show one line; the full text (a long prompt, an error) is one click away as the raw frame.
    return text if len(text) <= SUMMARY_LIMIT else f"{text[:SUMMARY_LIMIT]}…"


def coalesce_tokens(ops: list[JsonValue]) -> list[JsonValue]:
    """Consecutive tokens of one row with consecutive seqs travel as one part: a tick's tokens cost
    their text plus one small header, not a header each. Each merged part is a contiguous seq range
    carrying its first seq, so the browser still sorts out-of-order parts correctly."""
    out: list[JsonValue] = []
    last_seq = -2
    for op in ops:
        if isinstance(op, list) and op[0] == "t":
            previous = out[-1] if out else None
            seq = op[2]
            if (
                isinstance(previous, list)
                and previous[0] == "t"
                and previous[1] == op[1]
                and isinstance(seq, int)
                and seq == last_seq + 1
                and isinstance(previous[3], str)
                and isinstance(op[3], str)
            ):
                previous[3] += op[3]
                previous[4], previous[5], previous[6] = op[4], op[5], op[6]
                last_seq = seq
                continue
            last_seq = seq if isinstance(seq, int) else -2
        out.append(op)
    return out
