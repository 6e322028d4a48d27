"""A trace file opened in a page: its session shows at once and fills while the file is replayed.

Replaying a long trace through the engine takes about half a CPU-second per 100,000 events. Rather than
making the user wait for all of it before the page switches, the file is replayed on the event loop in
slices of a few milliseconds (`SLICE`), yielding between them, so every other session keeps streaming
and the page of the trace draws, scrolls and searches while it fills: the chat takes the replayed
messages as it takes a live session's, the timeline shows the newest rows loaded so far
(console/ui/timeline.py), the replay bar says how far the replay is (console/ui/page.py). Once the last
line is in, the timeline's model of the whole trace is built (console/ui/timeline_history.py) and drawn
as when a trace opened all at once: the end state is the same as `open_trace`'s.

The page switches once the first entry is replayed: a file with no usable line is refused in the page
that opened it, as before, and the trace's own page never shows an empty conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from nicegui import background_tasks

from console.otel import otlp_json
from console.session import Conversation
from console.trace_io import JsonlReplay, ReplayClient, open_trace
from console.ui import timeline_history

SLICE = 0.004  # seconds of replay per turn of the event loop
# Seconds the loop is left to everything else after each slice. Without it the loop ran a slice per
# turn and little else: a page's request or event that takes a dozen awaits waited a dozen slices and
# more (the page of the trace itself drew half a second later than with the replay held back).
PAUSE = 0.004
# Seconds the replay waits for the page of the trace to be drawn (its timeline mounted) before it
# goes on: the page first, then the rest of the file, rather than both on a shared machine at once.
FIRST_DRAW = 1.0


@dataclass(frozen=True, slots=True)
class Opening:
    """A trace being replayed into the conversation of `client`."""

    client: ReplayClient
    source: JsonlReplay
    done: asyncio.Future[None]  # the whole file is in, and the timeline's model of it on its way
    drawn: asyncio.Event  # a page of the trace has drawn its timeline

    def progress(self) -> tuple[int, int]:
        """Lines replayed so far, and lines in the file."""
        return self.source.lines_read, self.source.lines_total


_openings: weakref.WeakKeyDictionary[Conversation, Opening] = weakref.WeakKeyDictionary()


def opening(conversation: Conversation) -> Opening | None:
    """The replay still filling `conversation`, if one is."""
    found = _openings.get(conversation)
    return found if found is not None and not found.done.done() else None


async def open_in_slices(text: str, name: str) -> ReplayClient:
    """A trace file as a session, returned once its first entry is replayed; the rest follows in
    slices (`opening`). Raises TraceFormatError when no line of it is usable (found in slices too)."""
    if otlp_json.looks_like_otlp(text):  # spans are read whole, off the loop (console/otel/replay.py)
        client = await asyncio.to_thread(open_trace, text, name)
        timeline_history.build_soon(client)
        return client
    source = JsonlReplay(text)
    await _slices(source, lambda: source.end is not None)
    if source.done:  # a short file: whole at once
        client = ReplayClient(source.finish(), name)
        timeline_history.build_soon(client)
        return client
    client = ReplayClient(source.loaded(), name)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    found = Opening(client, source, done, asyncio.Event())
    _openings[client.conversation] = found
    background_tasks.create(_replay(found), name=f"replay {name}")
    return client


async def _slices(source: JsonlReplay, enough: Callable[[], bool], pause: float = 0.0) -> None:
    """Replay slices until the file is done or `enough` says so, with `pause` seconds between two:
    everything else the loop serves runs in between."""
    while True:
        if source.step(SLICE) or enough():
            return
        await asyncio.sleep(pause)


async def _replay(found: Opening) -> None:
    source, client = found.source, found.client
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(found.drawn.wait(), FIRST_DRAW)
        await _slices(source, lambda: False, PAUSE)
        client.loaded = source.finish()
        timeline_history.build_soon(client)
    finally:
        found.done.set_result(None)
