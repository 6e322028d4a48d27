"""Older timeline rows, a page at a time: what a user scrolling to the top of the timeline asks for.

The browser keeps a window of rows (`TimelineModel.max_rows`) and the session a window of trace rows;
the store keeps the rest. A page is read before the oldest row the browser has (`console.readback`:
memory first, then the store, in a worker thread) and grouped into rows as the live timeline groups
them, by a model of its own, in a worker thread too: a page of thousands of token frames costs the
event loop nothing but the reply. A page is about `PAGE_ROWS` rows; token frames read in groups of
`ENTRIES_PER_READ` until the page has its rows (a long reply is one row of many frames).

Grouping starts afresh at a page's first frame: a token run that crosses a page boundary shows as two
rows, and rows point only at rows of their own page.
"""

from __future__ import annotations

import asyncio
from typing import Final

from console import readback
from console.frozen import frozen
from console.jsonvalue import JsonValue
from console.session import Conversation, TraceEntry
from console.ui.timeline_model import TimelineModel
from console.ui.timeline_rows import Row

PAGE_ROWS: Final = 200
KEPT_ROWS: Final = 5_000  # rows read back a panel keeps for their details (the newest pages)
ENTRIES_PER_READ: Final = 1_000
MAX_ENTRIES: Final = 20_000  # frames read for one page at most (a page of one endless reply)


@frozen
class Kept:
    """A row read back, as the panel keeps it for the row's details: its text, its raw frame."""

    row: Row
    raw: str | None  # the raw frame of a row that is not a token run


@frozen
class OlderPage:
    rows: list[JsonValue]  # wired rows, oldest first
    more: bool  # older rows can be read still
    damage: str = ""
    kept: tuple[Kept, ...] = ()


def _rows(entries: list[TraceEntry], wall_offset: float) -> tuple[list[JsonValue], int, tuple[Kept, ...]]:
    """The entries grouped into wired rows (the newest `PAGE_ROWS`), how many rows they made, and the
    rows sent with the raw frame of each (what expanding one shows)."""
    model = TimelineModel(max_rows=len(entries) + 1, wall_offset=wall_offset)
    model.feed_history(entries)
    rows = list(model.rows)
    page = rows[-PAGE_ROWS:]
    by_index = {entry.index: entry for entry in entries}
    kept = tuple(Kept(row, None if row.grouped else _raw(by_index.get(row.source))) for row in page)
    return [model.wire(row) for row in page], len(rows), kept


def _raw(entry: TraceEntry | None) -> str | None:
    if entry is None:
        return None
    return entry.raw if entry.raw is not None else "(a client event: no frame)"


async def older_rows(conversation: Conversation, before: int, wall_offset: float) -> OlderPage:
    """About `PAGE_ROWS` rows of the trace before the row numbered `before`."""
    entries: list[TraceEntry] = []
    floor, more, damage = before, True, ""
    wired: list[JsonValue] = []
    kept: tuple[Kept, ...] = ()
    while more and len(entries) < MAX_ENTRIES:
        page = await readback.trace_page(conversation, floor, ENTRIES_PER_READ)
        more, damage = page.more, page.damage
        if not page.entries:
            break
        entries[:0] = page.entries
        floor = page.entries[0].index
        wired, count, kept = await asyncio.to_thread(_rows, entries, wall_offset)
        if count > PAGE_ROWS:
            return OlderPage(wired, True, damage, kept)
        if count == PAGE_ROWS:
            break
    return OlderPage(wired, more, damage, kept)


def reachable(conversation: Conversation, first_row: int | None) -> bool:
    """Whether rows older than `first_row` can still be read (from memory or the store)."""
    trace = conversation.trace
    if first_row is None:
        return False
    if first_row > trace.dropped and len(trace) and trace[0].index < first_row:
        return True
    return trace.dropped > 0 and readback.stored_history(conversation) is not None
