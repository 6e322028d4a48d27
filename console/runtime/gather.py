"""Reads gathered while frames come densely: one system call and one turn of the loop for several.

A token stream sends a small frame every few milliseconds, and each one woke the event loop, cost an
`epoll_wait` and a `read`, and went through the transport and the link on its own. On a virtual
machine such a wake costs tens of microseconds, more than applying the token: one stream at 200
tokens/s spent most of its CPU on being woken. A link whose reads come closer together than
`WINDOW` stops reading (`pause_reading`) until the loop's next gathering tick, `SECONDS` later at
most; by then the frames that arrived meanwhile are read in one piece, and every gathered link of
the loop is resumed by the same tick, so their reads land in one turn of the loop.

A frame after a quiet spell is read at once: only a dense stream waits, and each of its frames at most
`SECONDS` (half the session page's 10 Hz text tick, which shows nothing sooner anyway, and well inside
every protocol deadline: the agent protocol's heartbeat allows seconds). A stream stays dense while
its frames come within `WINDOW` of its previous read or gathering tick, so a steady token stream is
read once per tick: at 200 tokens a second, 20 reads instead of ~48 with a 20 ms tick (which woke the
loop for most of that page's server CPU: 0.12–0.14 → 0.08–0.09 s per 1,000 tokens, measured in pairs).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Final

SECONDS: Final = 0.05  # the longest a frame of a dense stream waits to be read
WINDOW: Final = 0.05  # frames this close to the previous read (or gathering tick) make a stream dense

Resume = Callable[[], None]


class Gatherer:
    """One timer for every gathering link of an event loop: each waits for the next tick."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: list[Resume] = []
        self._handle: asyncio.TimerHandle | None = None

    def wait(self, resume: Resume) -> None:
        """`resume` is called at the next tick (`SECONDS` from the first wait since the last tick)."""
        self._waiting.append(resume)
        if self._handle is None:
            self._handle = self._loop.call_later(SECONDS, self._tick)

    def _tick(self) -> None:
        self._handle = None
        waiting, self._waiting = self._waiting, []
        for resume in waiting:
            resume()


_GATHERERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Gatherer] = weakref.WeakKeyDictionary()


def gatherer() -> Gatherer:
    """The running loop's gatherer."""
    loop = asyncio.get_running_loop()
    found = _GATHERERS.get(loop)
    if found is None:
        found = _GATHERERS[loop] = Gatherer(loop)
    return found
