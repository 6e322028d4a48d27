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

PAGE_ROWS: Final = 200
ENTRIES_PER_READ: Final = 1_000
MAX_ENTRIES: Final = 20_000  # frames read for one page at most (a page of one endless reply)


@frozen
class OlderPage:
    rows: list[JsonValue]  # wired rows, oldest first
    more: bool  # older rows can be read still
    damage: str = ""


def _rows(entries: list[TraceEntry], wall_offset: float) -> tuple[list[JsonValue], int]:
    """The entries grouped into wired rows (the newest `PAGE_ROWS`), and how many rows they made."""
    model = TimelineModel(max_rows=len(entries) + 1, wall_offset=wall_offset)
    model.feed_history(entries)
    rows = list(model.rows)
    return [model.wire(row) for row in rows[-PAGE_ROWS:]], len(rows)


async def older_rows(conversation: Conversation, before: int, wall_offset: float) -> OlderPage:
    """About `PAGE_ROWS` rows of the trace before the row numbered `before`."""
    entries: list[TraceEntry] = []
    floor, more, damage = before, True, ""
    wired: list[JsonValue] = []
    while more and len(entries) < MAX_ENTRIES:
        page = await readback.trace_page(conversation, floor, ENTRIES_PER_READ)
        more, damage = page.more, page.damage
        if not page.entries:
            break
        entries[:0] = page.entries
        floor = page.entries[0].index
        wired, count = await asyncio.to_thread(_rows, entries, wall_offset)
        if count > PAGE_ROWS:
            return OlderPage(wired, True, damage)
        if count == PAGE_ROWS:
            break
    return OlderPage(wired, more, damage)


def reachable(conversation: Conversation, first_row: int | None) -> bool:
    """Whether rows older than `first_row` can still be read (from memory or the store)."""
    trace = conversation.trace
    if first_row is None:
        return False
    if first_row > trace.dropped and len(trace) and trace[0].index < first_row:
        return True
    return trace.dropped > 0 and readback.stored_history(conversation) is not None
